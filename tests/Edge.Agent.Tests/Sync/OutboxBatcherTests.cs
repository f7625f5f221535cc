using System.Text.Json;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;

namespace Kezekshi.Edge.Agent.Tests.Sync;

[Category("Integration")]
public class OutboxBatcherTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 23, 2, 40, 0, TimeSpan.Zero);

    private static void AddEvents(EdgeDatabase database, int count, int payloadBytes = 60)
    {
        using var connection = database.Connect();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO outbox(event_type, schema_version, payload, created_at) VALUES ('passage', 1, $p, $t)";
        var p = command.Parameters.Add("$p", Microsoft.Data.Sqlite.SqliteType.Text);
        command.Parameters.AddWithValue("$t", s_now.ToString("O"));
        for (int i = 0; i < count; i++)
        {
            p.Value = $"{{\"schemaVersion\":1,\"uid\":\"u{i}\",\"pad\":\"{new string('x', payloadBytes)}\"}}";
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    [Test]
    public void A_backlog_is_sent_in_consecutive_batches_of_at_most_500_events_with_payloads_embedded_as_json()
    {
        using var dir = new TempDirectory();
        var database = EdgeDatabase.Open(dir.File("edge.db"));
        AddEvents(database, 1200);
        var batcher = new OutboxBatcher(database, "sch-0001", "almaty");
        var (epoch, watermark) = batcher.ReadState();
        Assert.That(watermark, Is.Zero);
        Assert.That(Guid.TryParseExact(epoch, "D", out var parsed), Is.True, epoch);
        Assert.That(parsed.Version, Is.EqualTo(4));

        var batches = new List<OutboxBatch>();
        long cursor = 0;
        while (batcher.Next(cursor, epoch, s_now) is { } batch)
        {
            batches.Add(batch);
            cursor = batch.LastSeq;
        }
        Assert.That(batches.Select(b => b.Count), Is.EqualTo(new[] { 500, 500, 200 }));
        Assert.That(batches.Select(b => b.FirstSeq), Is.EqualTo(new long[] { 1, 501, 1001 }));

        using var document = JsonDocument.Parse(batches[1].Payload);
        var root = document.RootElement;
        Assert.That(root.GetProperty("schemaVersion").GetInt32(), Is.EqualTo(1));
        Assert.That(root.GetProperty("school").GetString(), Is.EqualTo("sch-0001"));
        Assert.That(root.GetProperty("epoch").GetString(), Is.EqualTo(epoch));
        Assert.That(root.GetProperty("firstSeq").GetInt64(), Is.EqualTo(501));
        var events = root.GetProperty("events");
        Assert.That(events.GetArrayLength(), Is.EqualTo(500));
        Assert.That(events[0].GetProperty("seq").GetInt64(), Is.EqualTo(501));
        Assert.That(events[0].GetProperty("payload").GetProperty("uid").GetString(), Is.EqualTo("u500"), "the stored payload is embedded as JSON, not as a string");
    }

    [Test]
    public void Large_events_close_a_batch_before_it_passes_256_KiB()
    {
        using var dir = new TempDirectory();
        var database = EdgeDatabase.Open(dir.File("edge.db"));
        AddEvents(database, 40, payloadBytes: 20_000);
        var batcher = new OutboxBatcher(database, "sch-0001", "almaty");
        var (epoch, _) = batcher.ReadState();
        long cursor = 0, total = 0;
        while (batcher.Next(cursor, epoch, s_now) is { } batch)
        {
            Assert.That(batch.Payload.Length, Is.LessThanOrEqualTo(OutboxBatcher.MaxBytes));
            total += batch.Count;
            cursor = batch.LastSeq;
        }
        Assert.That(total, Is.EqualTo(40));
    }

    [Test]
    public void Watermarks_acknowledge_events_only_forward_and_only_for_this_epoch()
    {
        using var dir = new TempDirectory();
        var database = EdgeDatabase.Open(dir.File("edge.db"));
        AddEvents(database, 30);
        var batcher = new OutboxBatcher(database, "sch-0001", "almaty");
        var (epoch, _) = batcher.ReadState();

        Assert.That(batcher.Acknowledge(epoch, 20, s_now), Is.EqualTo(20));
        Assert.That(batcher.Backlog(), Is.EqualTo(10));
        Assert.That(batcher.Acknowledge(epoch, 12, s_now), Is.EqualTo(20), "an older watermark arriving late changes nothing");
        Assert.That(batcher.Acknowledge("another-epoch", 30, s_now), Is.EqualTo(20), "a watermark for another epoch is ignored");
        Assert.That(batcher.Backlog(), Is.EqualTo(10));
        Assert.That(batcher.ReadState().Watermark, Is.EqualTo(20), "the watermark survives a restart (it is stored)");
    }

    [Test]
    public void Each_new_database_gets_its_own_epoch()
    {
        using var dir = new TempDirectory();
        var a = new OutboxBatcher(EdgeDatabase.Open(dir.File("a.db")), "s", "r").ReadState().Epoch;
        var b = new OutboxBatcher(EdgeDatabase.Open(dir.File("b.db")), "s", "r").ReadState().Epoch;
        Assert.That(a, Is.Not.EqualTo(b));
    }
}
