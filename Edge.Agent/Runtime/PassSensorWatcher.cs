using Kezekshi.Edge.Agent.Gate;

namespace Kezekshi.Edge.Agent.Runtime;

/// <summary>
/// Turns an input module's samples into passes for one gate: each pass completes the gate's oldest passage waiting in
/// that direction (a push without a grant is ignored by the gate).
/// </summary>
/// <remarks>
/// With pulse counters (the module counts rising edges itself) every increase of the counter since the previous read
/// is a pass, however short the pulse and however late the read: a poll loop held up for a second still sees the
/// pass, as long as it is read before the gate's pass time runs out. Without counters a pass is a rising edge between
/// two level samples, so a pulse that begins and ends between two polls is missed; the agent says so at start.
/// </remarks>
internal sealed class PassSensorWatcher(GateController gate, int entryChannel, int exitChannel, Func<bool> useCounters, Action<int, ushort, ushort>? counterReset = null)
{
    /// <summary>More passes than this between two reads of one counter cannot happen: the module was reset or replaced.</summary>
    internal const int MaxPassesBetweenReads = 100;

    private bool _entry;
    private bool _exit;
    private ushort? _entryCount;
    private ushort? _exitCount;

    /// <summary>Called with every level sample of the input module.</summary>
    public void OnSample(bool[] inputs, bool online)
    {
        if (!online) return;
        bool entry = inputs[entryChannel - 1];
        bool exit = inputs[exitChannel - 1];
        if (!useCounters())
        {
            if (entry && !_entry) gate.OnPassSensor(Direction.Entry);
            if (exit && !_exit) gate.OnPassSensor(Direction.Exit);
            // Counters refused mid-run: the next time they are read (after a restart) starts from a fresh baseline.
            _entryCount = _exitCount = null;
        }
        _entry = entry;
        _exit = exit;
    }

    /// <summary>Called with every counter read of the input module (low 16 bits of each input's counter).</summary>
    public void OnCounters(ushort[] counters)
    {
        Count(counters[entryChannel - 1], ref _entryCount, Direction.Entry, entryChannel);
        Count(counters[exitChannel - 1], ref _exitCount, Direction.Exit, exitChannel);
    }

    private void Count(ushort now, ref ushort? last, Direction direction, int channel)
    {
        if (last is not { } before)
        {
            // The first read after start is the baseline: what the module counted before the agent ran is not a pass now.
            last = now;
            return;
        }
        last = now;
        int passes = Passes(before, now);
        if (passes < 0)
        {
            counterReset?.Invoke(channel, before, now);
            return;
        }
        for (int i = 0; i < passes; i++) gate.OnPassSensor(direction);
    }

    /// <summary>
    /// Passes between two reads of a 16-bit counter, across the wrap from 65535 to 0; -1 when the difference is
    /// implausible (<see cref="MaxPassesBetweenReads"/>): the counter was reset, so the new value is the new baseline.
    /// </summary>
    internal static int Passes(ushort before, ushort now)
    {
        int passes = (ushort)unchecked(now - before);
        return passes > MaxPassesBetweenReads ? -1 : passes;
    }
}
