using BenchmarkDotNet.Running;
using Kezekshi.Edge.Benchmarks;

// wire  : card-to-relay latency on real pseudo-terminals (the gate decision as a turnstile sees it)
// till  : canteen charge latency and a 300-pupil queue on a real SQLite file (TillBenchmark)
// other : BenchmarkDotNet (e.g. --filter *Decision*)
if (args.Length > 0 && args[0] == "wire" && OperatingSystem.IsLinux())
    return await WireLatencyBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "till") return TillBenchmark.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(DecisionBenchmarks).Assembly).Run(args);
return 0;
