using BenchmarkDotNet.Attributes;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Store;

namespace Kezekshi.Edge.Benchmarks;

/// <summary>
/// The in-process gate decision: card lookup in the frozen snapshot + the policy (status, holder,
/// calendar, time window, direction, anti-passback), on the demo school's data, and with 50,000 cards.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class DecisionBenchmarks
{
    private AccessSnapshot _snapshot = AccessSnapshot.Empty;
    private readonly PresenceTracker _presence = new();
    private ulong[] _cards = [];
    private int _next;
    private DateTimeOffset _now;
    private string? _directory;

    [Params(1_283, 50_000)]
    public int Cards { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "kezekshi-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_directory);
        var database = EdgeDatabase.Open(Path.Combine(_directory, "edge.db"));
        _now = ShiftedTimeProvider.NextSchoolMorning(DateTimeOffset.UtcNow, new TimeOnly(7, 45));
        int pupils = Cards == 1_283 ? 1200 : Cards - 83;
        DemoSchool.Seed(database, _now, pupils: Math.Min(pupils, 65_000), classes: 40);
        var repository = new AccessRepository(database);
        repository.EnsureGate("gate1", AntiPassbackMode.Soft);
        _snapshot = repository.LoadSnapshot();
        _cards = [.. Enumerable.Range(1, 4096).Select(i => DemoSchool.PupilCard(1 + (i * 7919) % pupils))];
        for (int i = 1; i < pupils; i += 3) _presence.Record(HolderKind.Pupil, i, Direction.Entry);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_directory is not null) Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Description = "lookup + policy")]
    public bool Decide()
    {
        ulong card = _cards[_next++ & 4095];
        return GatePolicy.Decide(_snapshot, _presence, "gate1", Direction.Entry, card, _now).Granted;
    }

    [Benchmark(Description = "lookup + policy, unknown card")]
    public bool DecideUnknown() => GatePolicy.Decide(_snapshot, _presence, "gate1", Direction.Entry, 0xFFFFFF, _now).Granted;
}
