using System.Security.Cryptography;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Server.Sync.Tests.Support;

namespace Kezekshi.Server.Sync.Tests.EndToEnd;

/// <summary>
/// A school's outbox holds events PostgreSQL would refuse (a pupilId over the index limit, a number jsonb cannot hold, a
/// passage gate thousands of characters long) among ordinary ones. Through a real mosquitto and a real PostgreSQL the
/// centre dead-letters exactly those, acknowledges past them, and the school's outbox empties and goes on with new events.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
public class PoisonOverBrokerTests : CentreFixture
{
    private static readonly string s_long = string.Concat(Enumerable.Range(0, 60).Select(i => Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)))));

    private static void Append(EdgeDatabase database, int first, int last, IReadOnlyDictionary<int, (string Type, string Payload)> poison)
    {
        using var connection = database.Connect();
        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO outbox(event_type, schema_version, payload, created_at) VALUES ($type, 1, $p, '2026-10-01T07:30:00+05:00')";
        var type = insert.Parameters.Add("$type", Microsoft.Data.Sqlite.SqliteType.Text);
        var payload = insert.Parameters.Add("$p", Microsoft.Data.Sqlite.SqliteType.Text);
        for (int i = first; i <= last; i++)
        {
            (type.Value, payload.Value) = poison.TryGetValue(i, out var bad) ? bad : ("passage",
                $"{{\"schemaVersion\":1,\"uid\":\"{Guid.NewGuid():N}\",\"gate\":\"gate1\",\"direction\":\"entry\",\"holderKind\":\"pupil\",\"holderId\":{i},\"decision\":\"granted\",\"reason\":\"granted\",\"outcome\":\"passed\",\"decidedAt\":\"2026-10-01T07:30:00+05:00\",\"completedAt\":null,\"manualBy\":null}}");
            insert.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    [Test]
    public async Task Events_the_database_would_refuse_are_dead_lettered_the_school_is_acknowledged_past_them_and_goes_on()
    {
        AllowErrors = true;
        await using var rig = await SyncRig.StartAsync(SchoolA);
        Append(rig.EdgeDatabase, 1, 12, new Dictionary<int, (string, string)>
        {
            [4] = ("canteen.charge", $"{{\"schemaVersion\":1,\"uid\":\"c-4\",\"pupilId\":\"{s_long[..3200]}\",\"total\":45000,\"at\":\"2026-10-01T12:30:00+05:00\"}}"),
            [8] = ("device.health", "{\"schemaVersion\":1,\"device\":\"gate1/reader\",\"uptimeSeconds\":1e200000}"),
            [11] = ("passage", $"{{\"schemaVersion\":1,\"uid\":\"p-11\",\"gate\":\"{s_long[..3000]}\",\"direction\":\"entry\",\"holderKind\":\"pupil\",\"holderId\":11,\"decision\":\"granted\",\"reason\":\"granted\",\"outcome\":\"passed\",\"decidedAt\":\"2026-10-01T07:30:00+05:00\",\"completedAt\":null,\"manualBy\":null}}"),
        });

        await rig.StartCentreAsync(Database, Ingestor);
        await rig.StartSchoolAsync();
        await Until(() => rig.Batcher.ReadState().Watermark == 12 && rig.Batcher.Backlog() == 0, TimeSpan.FromSeconds(60));

        // The stream goes on: events written after the bad ones arrive and are acknowledged as well.
        Append(rig.EdgeDatabase, 13, 16, new Dictionary<int, (string, string)>());
        await Until(() => rig.Batcher.ReadState().Watermark == 16 && rig.Batcher.Backlog() == 0, TimeSpan.FromSeconds(60));
        await rig.StopAsync();

        Assert.That(await CountAsync("SELECT count(*) FROM events WHERE school = 'sch-0001'"), Is.EqualTo(16), "every event once");
        Assert.That(await CountAsync("SELECT MAX(watermark) FROM school_streams WHERE school = 'sch-0001'"), Is.EqualTo(16));
        Assert.That(await CountAsync("SELECT count(*) FROM passages"), Is.EqualTo(13), "16 events less the charge, the health report and the bad passage");
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE reason = 'invalid-event' AND seq IN (4, 8, 11)"), Is.EqualTo(3));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE seq = 4 AND detail LIKE 'pupilId is 3200 characters long, limit 64%'"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE seq = 8 AND detail LIKE '%22003%'"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT count(*) FROM dead_letters WHERE seq = 11 AND detail LIKE 'gate is 3000 characters long, limit 64%'"), Is.EqualTo(1));
        Assert.That(rig.Worker.MessagesDeadLettered, Is.Zero, "no whole message was refused: only the three events");
    }

    private static async Task Until(Func<bool> condition, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"not reached within {limit.TotalSeconds} s");
            await Task.Delay(250);
        }
    }
}
