using BenchmarkDotNet.Running;
using Kezekshi.Edge.Benchmarks;

// wire  : card-to-relay latency on real pseudo-terminals (the gate decision as a turnstile sees it)
// sync  : catch-up edge -> broker -> centre -> PostgreSQL vs raw mosquitto (tools/bench-sync.sh starts the servers)
// other : BenchmarkDotNet (e.g. --filter *Decision*)
if (args.Length > 0 && args[0] == "wire" && OperatingSystem.IsLinux())
    return await WireLatencyBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "sync")
    return await SyncCatchUpBenchmark.RunAsync(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(DecisionBenchmarks).Assembly).Run(args);
return 0;
