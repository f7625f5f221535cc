using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Runtime;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Devices.Profiles;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Tests.Gate;

/// <summary>A guard lets a pupil through by hand (forgotten card): the arm is freed and the passage names both.</summary>
[Category("Integration")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ManualPassTests
{
    [Test]
    public async Task Manual_pass_by_a_guard_frees_the_arm_and_is_recorded_against_the_pupil_and_the_guard()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("pseudo-terminals are Linux-only");
        using var dir = new TempDirectory();
        var start = ShiftedTimeProvider.NextSchoolMorning(DateTimeOffset.UtcNow, new TimeOnly(7, 40));
        var database = EdgeDatabase.Open(dir.File("edge.db"));
        DemoSchool.Seed(database, start, pupils: 50, classes: 5);
        await using var rig = DemoRig.Start();
        var options = rig.CreateOptions(dir.Path);
        var topology = GateTopology.Load(options);
        await using var runtime = AgentRuntime.Create(options, topology, database, NullLoggerFactory.Instance, new ShiftedTimeProvider(start));
        await runtime.StartAsync();
        await Eventually.UntilAsync(() => runtime.Devices.All(d => d.IsUp), "every serial port is open");

        var gate = runtime.Gates.Single(g => g.Name == "gate1");
        var pupil = runtime.Snapshot.Credentials[DemoSchool.PupilCard(7)].Holder;
        var passage = await gate.ManualPassAsync(Direction.Entry, pupil, guardStaffId: 3, "forgot the card", CancellationToken.None);

        await Eventually.UntilAsync(() => rig.Modules.Requests.Any(r => r.Slave == DemoRig.RelaySlave && r.Address == 0), "the entry relay is commanded");
        await Eventually.UntilAsync(() => Count(database, $"SELECT COUNT(*) FROM passages WHERE passage_uid = '{passage.Uid}'") == 1, "the passage is stored");
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT holder_kind, holder_id, manual_by, reason, outcome, note FROM passages WHERE passage_uid = '{passage.Uid}'";
        using var reader = command.ExecuteReader();
        Assert.That(reader.Read(), Is.True);
        Assert.That(reader.GetString(0), Is.EqualTo("pupil"));
        Assert.That(reader.GetInt64(1), Is.EqualTo(7));
        Assert.That(reader.GetInt64(2), Is.EqualTo(3));
        Assert.That(reader.GetString(3), Is.EqualTo("manual-pass"));
        Assert.That(reader.GetString(4), Is.EqualTo("passed"), "the simulated turnstile's sensor saw the pupil go through");
        Assert.That(reader.GetString(5), Is.EqualTo("forgot the card"));
        SqliteConnection.ClearAllPools();
    }

    private static long Count(EdgeDatabase database, string sql)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
}
