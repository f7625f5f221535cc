using System.Threading.Channels;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Runtime;

namespace Kezekshi.Edge.Agent.Web.Live;

/// <summary>One line of the live gate log, as the IT console and the board show it.</summary>
public sealed record GateLogEntry(string Uid, DateTimeOffset At, string Gate, string Direction, bool Granted, string Reason,
    string? HolderKind, long? HolderId, string? HolderName, ulong? CardNumber, double? LatencyMs);

/// <summary>
/// The gates' decisions fanned out to browsers (Server-Sent Events): every SSE connection gets its own bounded
/// queue, so a slow or stalled browser loses its oldest lines and never holds up a gate or another browser.
/// </summary>
/// <remarks>
/// Fed by <see cref="GateController.Decided"/>, whose handlers must be quick: this only copies a few fields and
/// writes to in-memory channels. The last <see cref="Capacity"/> entries are kept for pages opened later.
/// </remarks>
public sealed class LiveFeed
{
    public const int Capacity = 200;
    private readonly Lock _lock = new();
    private readonly LinkedList<GateLogEntry> _recent = new();
    private readonly List<Channel<GateLogEntry>> _subscribers = [];
    private readonly HashSet<GateController> _attached = [];
    private long _version;

    /// <summary>Goes up with every decision: the board recomputes when it changed.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Subscribes to every gate of <paramref name="runtime"/> (once per gate).</summary>
    public void Attach(AgentRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        foreach (var gate in runtime.Gates)
        {
            lock (_lock)
            {
                if (!_attached.Add(gate)) continue;
            }
            gate.Decided += Publish;
        }
    }

    /// <summary>Adds a decision (called by the gates; tests and the demo may call it too).</summary>
    public void Publish(Passage passage)
    {
        ArgumentNullException.ThrowIfNull(passage);
        var entry = new GateLogEntry(passage.Uid, passage.DecidedAt, passage.Gate, Passage.DirectionCode(passage.Direction), passage.Decision.Granted,
            GateDecision.ReasonCode(passage.Decision.Reason), passage.Holder is { } h ? Store.AccessRepository.FormatHolderKind(h.Kind) : null,
            passage.Holder?.Id, passage.Holder?.FullName, passage.CardNumber, passage.LatencyMicroseconds is { } us ? us / 1000.0 : null);
        lock (_lock)
        {
            _recent.AddLast(entry);
            if (_recent.Count > Capacity) _recent.RemoveFirst();
            foreach (var subscriber in _subscribers) subscriber.Writer.TryWrite(entry);
        }
        Interlocked.Increment(ref _version);
    }

    /// <summary>The latest entries, newest last.</summary>
    public IReadOnlyList<GateLogEntry> Recent(int count)
    {
        lock (_lock) return _recent.Skip(Math.Max(0, _recent.Count - count)).ToList();
    }

    /// <summary>A queue of new entries for one browser; dispose the subscription when the browser leaves.</summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateBounded<GateLogEntry>(new BoundedChannelOptions(500) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_lock) _subscribers.Add(channel);
        return new Subscription(this, channel);
    }

    /// <summary>One browser's queue.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly LiveFeed _feed;
        private readonly Channel<GateLogEntry> _channel;

        internal Subscription(LiveFeed feed, Channel<GateLogEntry> channel)
        {
            _feed = feed;
            _channel = channel;
        }

        public ChannelReader<GateLogEntry> Reader => _channel.Reader;

        public void Dispose()
        {
            lock (_feed._lock) _feed._subscribers.Remove(_channel);
            _channel.Writer.TryComplete();
        }
    }
}
