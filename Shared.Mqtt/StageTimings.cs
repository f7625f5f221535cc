using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Kezekshi.Mqtt;

/// <summary>
/// Where the time of the sync path goes, per stage (edge read + serialise, publish to PUBACK, centre parse, each
/// PostgreSQL step, the ack back, the edge's delete): a total and a count per named stage, added from any thread.
/// </summary>
/// <remarks>
/// Lives here because the edge agent and the centre both reference this library and both time their half of the same
/// path. Off unless a caller sets one (the benchmark does): the cost is two <see cref="Stopwatch.GetTimestamp"/> calls and
/// two interlocked adds per stage per batch, nothing per event.
/// </remarks>
public sealed class StageTimings
{
    private readonly string[] _names;
    private readonly long[] _ticks;
    private readonly long[] _counts;

    public StageTimings(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        _names = names;
        _ticks = new long[names.Length];
        _counts = new long[names.Length];
    }

    /// <summary>The current timestamp, to pass to <see cref="Add"/> when the stage ends.</summary>
    public static long Start() => Stopwatch.GetTimestamp();

    /// <summary>Adds the time since <paramref name="started"/> to stage <paramref name="stage"/> and returns now (the next stage's start).</summary>
    public long Add(int stage, long started)
    {
        long now = Stopwatch.GetTimestamp();
        Interlocked.Add(ref _ticks[stage], now - started);
        Interlocked.Increment(ref _counts[stage]);
        return now;
    }

    /// <summary>Total and count per stage so far.</summary>
    public IReadOnlyList<(string Stage, long Count, TimeSpan Total)> Snapshot() =>
        [.. _names.Select((name, i) => (name, Interlocked.Read(ref _counts[i]), Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _ticks[i]))))];

    /// <summary>A Markdown table: stage, count, total seconds, milliseconds per call.</summary>
    public string ToTable(string title)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"| {title,-44} | calls | total s | ms/call |");
        text.AppendLine("|----------------------------------------------|------:|--------:|--------:|");
        foreach (var (stage, count, total) in Snapshot())
            text.AppendLine(CultureInfo.InvariantCulture, $"| {stage,-44} | {count,5} | {total.TotalSeconds,7:F2} | {(count == 0 ? 0 : total.TotalMilliseconds / count),7:F2} |");
        return text.ToString();
    }
}
