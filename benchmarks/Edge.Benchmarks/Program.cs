using BenchmarkDotNet.Running;
using Kezekshi.Edge.Benchmarks;

// wire  : card-to-relay latency on real pseudo-terminals (the gate decision as a turnstile sees it)
// sync  : catch-up edge -> broker -> centre -> PostgreSQL vs raw mosquitto (tools/bench-sync.sh starts the servers)
// till  : canteen charge latency and a 300-pupil queue on a real SQLite file (TillBenchmark)
// other : BenchmarkDotNet (e.g. --filter *Decision*)
// index : embedding index search vs FAISS/hnswlib, and the 50k load from biometrics.db (IndexBenchmark.cs)
if (args.Length > 0 && args[0] == "index")
    return IndexBenchmark.Run(args[1..]);
// face-accuracy / face-latency : the face pipeline on the ORL dataset (FaceBenchmarks.cs)
if (args.Length > 0 && args[0] is "face-accuracy" or "face-latency")
    return FaceBenchmarks.Run(args[0], args[1..]);
if (args.Length > 0 && args[0] == "palm-latency") return PalmBenchmarks.Run(args[1..]); // palm stages (PalmBenchmarks.cs)
if (args.Length > 0 && args[0] == "wire" && OperatingSystem.IsLinux())
    return await WireLatencyBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "sync")
    return await SyncCatchUpBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "till") return TillBenchmark.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(DecisionBenchmarks).Assembly).Run(args);
return 0;
