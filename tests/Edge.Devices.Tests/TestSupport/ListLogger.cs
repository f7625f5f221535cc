using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Tests.TestSupport;

/// <summary>One captured log entry.</summary>
public sealed record LogEntry(LogLevel Level, EventId EventId, string Message);

/// <summary>An <see cref="ILogger"/> that keeps every entry, so tests can assert what was (not) logged.</summary>
public sealed class ListLogger : ILogger
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue(new LogEntry(logLevel, eventId, formatter(state, exception)));

    public int Count(LogLevel atLeast) => _entries.Count(e => e.Level >= atLeast);

    public int CountEvent(int eventId) => _entries.Count(e => e.EventId.Id == eventId);
}

/// <summary>Hex helpers for codec tests that compare against frames printed in specifications.</summary>
public static class Hex
{
    public static byte[] Parse(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    public static string Format(ReadOnlySpan<byte> bytes) =>
        string.Join(' ', bytes.ToArray().Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
}
