using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Tests.EndToEnd;

/// <summary>One log entry the agent wrote during a test.</summary>
public sealed record LogEntry(DateTimeOffset At, LogLevel Level, string Category, EventId EventId, string Message, Exception? Exception)
{
    public override string ToString() => $"{At:HH:mm:ss.fff} {Level,-11} [{EventId.Id}] {Category}: {Message}{(Exception is null ? "" : " " + Exception)}";
}

/// <summary>Keeps every log entry (Information and above) so tests can assert on what the agent told IT.</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(RecordingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            owner._entries.Enqueue(new LogEntry(DateTimeOffset.UtcNow, logLevel, category, eventId, formatter(state, exception), exception));
        }
    }
}
