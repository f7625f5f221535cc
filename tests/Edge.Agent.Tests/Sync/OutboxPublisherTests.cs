using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Tests.Sync;

/// <summary>
/// The publisher's protocol logic against a centre stand-in that applies batches idempotently and answers
/// with watermarks, and can lose batches after the broker's PUBACK. The real broker and centre are the
/// sync integration tests' business.
/// </summary>
[Category("Integration")]
public class OutboxPublisherTests
{
    private sealed class CentreStandIn : ISyncConnection
    {
        private readonly Channel<(string, ReadOnlyMemory<byte>)> _incoming = Channel.CreateUnbounded<(string, ReadOnlyMemory<byte>)>();
        public readonly SortedSet<long> Applied = [];
        public int Received;
        public int Duplicates;
        public readonly List<(string Topic, string Payload)> Other = [];
        public Func<int, bool> LoseBatch = _ => false;
        /// <summary>Applies but does not answer (a centre that is slow to commit); <see cref="Answer"/> sends the watermark then.</summary>
        public volatile bool Silent;
        public bool IsConnected { get; set; } = true;
        public ChannelReader<(string Topic, ReadOnlyMemory<byte> Payload)> Incoming => _incoming.Reader;
        public event Action? Connected;

        public void Reconnect() => Connected?.Invoke();

        public void SendRaw(string payload) => _incoming.Writer.TryWrite(("kz/v1/r/s/down/acks", Encoding.UTF8.GetBytes(payload)));

        public Task<bool> PublishAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        {
            if (!topic.EndsWith("/up/events", StringComparison.Ordinal))
            {
                lock (Other) Other.Add((topic, Encoding.UTF8.GetString(payload.Span)));
                return Task.FromResult(true);
            }
            int n = Interlocked.Increment(ref Received);
            if (LoseBatch(n)) return Task.FromResult(true); // the broker acknowledged, the centre never committed
            using var document = JsonDocument.Parse(payload);
            string epoch = document.RootElement.GetProperty("epoch").GetString()!;
            lock (Applied)
            {
                foreach (var e in document.RootElement.GetProperty("events").EnumerateArray())
                    if (!Applied.Add(e.GetProperty("seq").GetInt64())) Duplicates++;
                LastEpoch = epoch;
                if (!Silent) Answer();
            }
            return Task.FromResult(true);
        }

        public string LastEpoch = "";

        public void Answer()
        {
            lock (Applied)
            {
                long watermark = 0;
                while (Applied.Contains(watermark + 1)) watermark++;
                SendRaw($"{{\"schemaVersion\":1,\"type\":\"watermark\",\"epoch\":\"{LastEpoch}\",\"watermark\":{watermark}}}");
            }
        }
    }

    /// <summary>The publisher runs inside a session, which routes the centre's watermarks to it.</summary>
    private static SyncSession Session(OutboxBatcher batcher, ISyncConnection centre, OutboxPublisher publisher) =>
        new(centre, batcher, publisher, new DownlinkApplier(batcher.Database, [], "s", "r", NullLogger.Instance), "r", "s", NullLogger.Instance);

    private static EdgeDatabase WithEvents(TempDirectory dir, int count)
    {
        var database = EdgeDatabase.Open(dir.File("edge.db"));
        using var connection = database.Connect();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO outbox(event_type, schema_version, payload, created_at) VALUES ('passage', 1, '{\"schemaVersion\":1}', 'x')";
        for (int i = 0; i < count; i++) command.ExecuteNonQuery();
        transaction.Commit();
        return database;
    }

    [Test]
    public async Task A_backlog_leaves_the_outbox_only_when_the_centre_acknowledges_it()
    {
        using var dir = new TempDirectory();
        var batcher = new OutboxBatcher(WithEvents(dir, 1200), "s", "r");
        var centre = new CentreStandIn();
        var publisher = new OutboxPublisher(batcher, centre, "r", "s", NullLogger.Instance) { IdlePoll = TimeSpan.FromMilliseconds(10) };
        using var stop = new CancellationTokenSource();
        var run = Session(batcher, centre, publisher).RunAsync(stop.Token);
        await Eventually.UntilAsync(() => batcher.Backlog() == 0, "the outbox is empty", TimeSpan.FromSeconds(20));
        await stop.CancelAsync();
        await run;
        Assert.That(centre.Applied, Has.Count.EqualTo(1200));
        Assert.That(publisher.Watermark, Is.EqualTo(1200));
        Assert.That(batcher.ReadState().Watermark, Is.EqualTo(1200));
    }

    [Test]
    public async Task The_edge_runs_only_a_window_ahead_of_the_centres_watermark_and_goes_on_when_it_moves()
    {
        using var dir = new TempDirectory();
        var batcher = new OutboxBatcher(WithEvents(dir, 5000), "s", "r");
        var centre = new CentreStandIn { Silent = true };
        var publisher = new OutboxPublisher(batcher, centre, "r", "s", NullLogger.Instance)
        {
            IdlePoll = TimeSpan.FromMilliseconds(10),
            MaxUnacknowledgedEvents = 1000,
            ResendAfter = TimeSpan.FromMinutes(5),
        };
        using var stop = new CancellationTokenSource();
        var run = Session(batcher, centre, publisher).RunAsync(stop.Token);

        // The broker takes everything at once; the centre answers nothing yet: two batches of 500 and no more.
        await Eventually.UntilAsync(() => Volatile.Read(ref centre.Received) >= 2, "the first batches are sent", TimeSpan.FromSeconds(10));
        await Task.Delay(500);
        Assert.That(Volatile.Read(ref centre.Received), Is.EqualTo(2), "no more than 1,000 events ahead of the watermark");

        centre.Silent = false;
        centre.Answer();
        await Eventually.UntilAsync(() => batcher.Backlog() == 0, "the outbox is empty", TimeSpan.FromSeconds(20));
        await stop.CancelAsync();
        await run;
        Assert.That(centre.Applied, Has.Count.EqualTo(5000));
        Assert.That(centre.Duplicates, Is.Zero, "waiting is not resending");
    }

    [Test]
    public async Task A_batch_lost_after_the_brokers_acknowledgement_is_sent_again_and_nothing_is_applied_twice()
    {
        using var dir = new TempDirectory();
        var batcher = new OutboxBatcher(WithEvents(dir, 1200), "s", "r");
        var centre = new CentreStandIn { LoseBatch = n => n == 2 };
        var publisher = new OutboxPublisher(batcher, centre, "r", "s", NullLogger.Instance)
        {
            IdlePoll = TimeSpan.FromMilliseconds(10),
            ResendAfter = TimeSpan.FromMilliseconds(300),
        };
        using var stop = new CancellationTokenSource();
        var run = Session(batcher, centre, publisher).RunAsync(stop.Token);
        await Eventually.UntilAsync(() => batcher.Backlog() == 0, "the outbox is empty", TimeSpan.FromSeconds(20));
        await stop.CancelAsync();
        await run;
        Assert.That(centre.Applied, Has.Count.EqualTo(1200), "nothing lost");
        Assert.That(centre.Applied.Max(), Is.EqualTo(1200));
        Assert.That(centre.Received, Is.GreaterThan(3), "the lost range was sent again");
    }

    [Test]
    public async Task A_reconnect_resends_from_the_watermark_and_a_malformed_ack_changes_nothing()
    {
        using var dir = new TempDirectory();
        var batcher = new OutboxBatcher(WithEvents(dir, 600), "s", "r");
        var centre = new CentreStandIn { LoseBatch = n => n == 1 };
        var publisher = new OutboxPublisher(batcher, centre, "r", "s", NullLogger.Instance) { IdlePoll = TimeSpan.FromMilliseconds(10) };
        using var stop = new CancellationTokenSource();
        var run = Session(batcher, centre, publisher).RunAsync(stop.Token);
        await Eventually.UntilAsync(() => centre.Received >= 2, "the centre received two batches", TimeSpan.FromSeconds(20));
        centre.SendRaw("{\"schemaVersion\":1,\"type\":\"watermark\",\"epoch\":");
        centre.SendRaw("{\"schemaVersion\":9,\"type\":\"watermark\",\"epoch\":\"x\",\"watermark\":600}");
        Assert.That(batcher.Backlog(), Is.EqualTo(600), "seq 1–500 were lost, so nothing may leave the outbox");
        centre.Reconnect();
        await Eventually.UntilAsync(() => batcher.Backlog() == 0, "the outbox is empty", TimeSpan.FromSeconds(20));
        await stop.CancelAsync();
        await run;
        Assert.That(centre.Applied, Has.Count.EqualTo(600));
    }

    [TestCase("")]
    [TestCase("null")]
    [TestCase("[]")]
    [TestCase("{\"schemaVersion\":1e99,\"type\":\"watermark\",\"epoch\":\"e\",\"watermark\":5}")]
    [TestCase("{\"schemaVersion\":1,\"type\":\"watermark\",\"epoch\":\"e\",\"watermark\":-5}")]
    [TestCase("{\"schemaVersion\":1,\"type\":\"changes\",\"epoch\":\"e\",\"watermark\":5}")]
    [TestCase("{\"schemaVersion\":\"1\",\"type\":\"watermark\",\"epoch\":\"e\",\"watermark\":5}")]
    public void Malformed_acknowledgements_are_rejected_without_throwing(string payload)
    {
        Assert.That(OutboxPublisher.TryReadWatermark(Encoding.UTF8.GetBytes(payload), out _, out _), Is.False);
    }
}
