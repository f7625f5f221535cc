using BenchmarkDotNet.Running;
using Kezekshi.Edge.Benchmarks;

// wire  : card-to-relay latency on real pseudo-terminals (the gate decision as a turnstile sees it)
// other : BenchmarkDotNet (e.g. --filter *Decision*)
// face-accuracy / face-latency : the face pipeline on the ORL dataset (FaceBenchmarks.cs)
if (args.Length > 0 && args[0] is "face-accuracy" or "face-latency")
    return FaceBenchmarks.Run(args[0], args[1..]);
if (args.Length > 0 && args[0] == "wire" && OperatingSystem.IsLinux())
    return await WireLatencyBenchmark.RunAsync(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(DecisionBenchmarks).Assembly).Run(args);
return 0;
