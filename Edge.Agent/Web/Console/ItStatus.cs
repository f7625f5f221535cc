using System.Globalization;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Runtime;

namespace Kezekshi.Edge.Agent.Web.Console;

/// <summary>One serial device (bus) and whether it runs, with how regularly its input modules are polled.</summary>
public sealed record DeviceStatus(string Device, string Port, bool Up, string? LastProblem, int Opens, IReadOnlyList<PollStatus> Polls);

/// <summary>
/// One polled input module: the worst time between two polls, how many gaps were over twice the interval, and how
/// its pass sensors are read ("counter" never misses a pass; "level" misses a pulse shorter than a gap; null: none).
/// </summary>
public sealed record PollStatus(string Module, double IntervalMs, double MaxGapMs, long LatePolls, string? PassSensors);

/// <summary>One bucket of the decision-latency histogram: [FromMs, ToMs).</summary>
public sealed record LatencyBucket(double FromMs, double ToMs, long Count);

/// <summary>One gate: decisions, latency percentiles (upper bucket edges) and the histogram.</summary>
public sealed record GateStatus(string Name, int WaitingToPass, long Decisions, double P50Ms, double P99Ms, double MaxMs, IReadOnlyList<LatencyBucket> Histogram);

/// <summary>Events waiting to go to the centre, and how old the oldest is.</summary>
public sealed record OutboxStatus(long Waiting, double? OldestWaitingSeconds, string? OldestWaitingAt, long Watermark, long LastSeq);

/// <summary>What the IT console shows.</summary>
public sealed record ItStatus(bool GatesRunning, bool Emergency, string? EmergencyCause, IReadOnlyList<DeviceStatus> Devices,
    IReadOnlyList<GateStatus> Gates, OutboxStatus Outbox, long PassagesWritten, long DebouncedReads, string Database, int SchemaVersion);

/// <summary>Reads the running agent's state for the IT console: nothing here changes anything.</summary>
public static class ItStatusQuery
{
    public static ItStatus Build(WebContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var runtime = context.Runtime();
        var devices = runtime?.Devices.Select(Device).ToList() ?? [];
        var gates = runtime?.Gates.Select(g => new GateStatus(g.Name, g.WaitingToPass, g.Latency.Count,
            g.Latency.Percentile(50) / 1000.0, g.Latency.Percentile(99) / 1000.0, g.Latency.MaxMicroseconds / 1000.0, Histogram(g.Latency))).ToList() ?? [];
        return new ItStatus(runtime is not null, runtime?.Emergency.IsActive ?? false, runtime?.Emergency.Cause, devices, gates, Outbox(context),
            runtime?.Recorder.Written ?? 0, runtime?.DebouncedReads ?? 0, context.Database.Path, context.Database.SchemaVersion());
    }

    /// <summary>One device's state and the poll gaps of its input modules.</summary>
    public static DeviceStatus Device(DeviceSupervisor device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return new DeviceStatus(device.Device, device.Port, device.IsUp, device.LastProblem, device.Opens,
            [.. device.PollGaps.Select(p => new PollStatus(p.Device, p.Interval.TotalMilliseconds, p.MaxGap.TotalMilliseconds, p.LateCount, p.PassSensorInput))]);
    }

    /// <summary>The non-empty range of the histogram's log-spaced buckets (bucket i holds [2^(i/4), 2^((i+1)/4)) µs).</summary>
    public static List<LatencyBucket> Histogram(LatencyHistogram histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        var buckets = histogram.Buckets();
        int first = Array.FindIndex(buckets, b => b > 0);
        if (first < 0) return [];
        int last = Array.FindLastIndex(buckets, b => b > 0);
        var list = new List<LatencyBucket>(last - first + 1);
        for (int i = first; i <= last; i++)
            list.Add(new LatencyBucket(Math.Pow(2, i / 4.0) / 1000.0, Math.Pow(2, (i + 1) / 4.0) / 1000.0, buckets[i]));
        return list;
    }

    private static OutboxStatus Outbox(WebContext context)
    {
        using var connection = context.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT (SELECT COUNT(*) FROM outbox WHERE acknowledged_at IS NULL),
                   (SELECT MIN(created_at) FROM outbox WHERE acknowledged_at IS NULL),
                   (SELECT watermark FROM sync_state WHERE id = 1),
                   (SELECT COALESCE(MAX(seq), 0) FROM outbox)
            """;
        using var reader = command.ExecuteReader();
        reader.Read();
        string? oldest = reader.IsDBNull(1) ? null : reader.GetString(1);
        double? age = oldest is null ? null
            : Math.Max(0, (context.Time.GetUtcNow() - DateTimeOffset.Parse(oldest, CultureInfo.InvariantCulture)).TotalSeconds);
        return new OutboxStatus(reader.GetInt64(0), age, oldest, reader.IsDBNull(2) ? 0 : reader.GetInt64(2), reader.GetInt64(3));
    }
}
