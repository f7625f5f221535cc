namespace Kezekshi.Edge.Agent.Gate;

/// <summary>
/// Ignores the same card seen again at the same reader within a window: a card held on the reader,
/// or read twice by the reader's own repeat. Different readers and different cards are independent.
/// </summary>
public sealed class ReadDebouncer(TimeSpan window, TimeProvider time)
{
    private readonly Dictionary<string, (ulong Card, long At)> _last = new(StringComparer.Ordinal);
    private readonly long _windowTicks = (long)(window.TotalSeconds * time.TimestampFrequency);

    /// <summary>True if this read should be acted on; false if it repeats the last read at this reader.</summary>
    public bool Accept(string readerId, ulong card, long timestamp)
    {
        lock (_last)
        {
            if (_last.TryGetValue(readerId, out var last) && last.Card == card && timestamp - last.At < _windowTicks)
                return false;
            _last[readerId] = (card, timestamp);
            return true;
        }
    }
}
