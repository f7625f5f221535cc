using System.Collections.Concurrent;
using Kezekshi.Edge.Devices.Protocols.Osdp;
using Kezekshi.Edge.Devices.Transport;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Tests.Protocols.Osdp;

internal static class Hex
{
    public static byte[] Parse(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    public static string Format(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);
}

/// <summary>Keeps log entries so tests can assert what was logged (and that nothing unexpected was).</summary>
internal sealed class CollectingLogger : ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, int EventId, string Message)> _entries = new();

    public IReadOnlyList<(LogLevel Level, int EventId, string Message)> Entries => _entries.ToArray();

    public int Count(int eventId) => _entries.Count(e => e.EventId == eventId);

    public int Count(int eventId, string mentioning) => _entries.Count(e => e.EventId == eventId && e.Message.Contains(mentioning, StringComparison.Ordinal));

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((logLevel, eventId.Id, formatter(state, exception)));
}

/// <summary>Counts log calls without formatting them (for the million-frame test).</summary>
internal sealed class CountingLogger : ILogger
{
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Interlocked.Increment(ref _count);
}

/// <summary>A CP bus and a PD simulator on a loopback pair, both running.</summary>
internal sealed class OsdpHarness : IAsyncDisposable
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);
    private readonly CancellationTokenSource _stop = new();
    private Task? _busTask;
    private Task? _simTask;

    private OsdpHarness(LoopbackTransport cpEnd, LoopbackTransport pdEnd, OsdpBus bus, OsdpPeripheralSimulator simulator, CollectingLogger logger)
    {
        CpEnd = cpEnd;
        PdEnd = pdEnd;
        Bus = bus;
        Simulator = simulator;
        Logger = logger;
    }

    public LoopbackTransport CpEnd { get; }
    public LoopbackTransport PdEnd { get; }
    public OsdpBus Bus { get; }
    public OsdpPeripheralSimulator Simulator { get; }
    public CollectingLogger Logger { get; }


    public static OsdpHarness Start(params byte[] addresses)
    {
        var (cpEnd, pdEnd) = LoopbackTransport.CreatePair(9600);
        var logger = new CollectingLogger();
        var options = new OsdpBusOptions
        {
            DeviceReplyTime = TimeSpan.FromMilliseconds(100),
            Retries = 2,
            OfflineAfterFailures = 2,
            OfflineProbeInitialInterval = TimeSpan.FromMilliseconds(100),
            OfflineProbeMaxInterval = TimeSpan.FromMilliseconds(400),
            PollInterval = TimeSpan.FromMilliseconds(10),
        };
        var bus = new OsdpBus(cpEnd, ownsTransport: true, options, logger);
        var simulator = new OsdpPeripheralSimulator(pdEnd, ownsTransport: true);
        foreach (var address in addresses)
        {
            simulator.AddDevice(address);
            bus.AddReader(address, $"reader-{address}");
        }
        var harness = new OsdpHarness(cpEnd, pdEnd, bus, simulator, logger);
        harness._simTask = Task.Run(() => simulator.RunAsync(harness._stop.Token));
        harness._busTask = Task.Run(() => bus.RunAsync(harness._stop.Token));
        return harness;
    }

    /// <summary>Waits until <paramref name="condition"/> holds. The guard only stops a hung test; it asserts nothing about speed.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var started = DateTime.UtcNow;
        while (!condition())
        {
            if (_busTask is { IsFaulted: true }) await _busTask;
            if (DateTime.UtcNow - started > HangGuard) Assert.Fail($"Gave up waiting for: {what}");
            await Task.Delay(5);
        }
    }

    public Task WaitOnlineAsync(params byte[] addresses) =>
        WaitUntilAsync(() => addresses.All(a => Bus.GetStatus(a).IsOnline && Bus.GetStatus(a).Capabilities is not null), "readers online and identified");

    public CancellationToken Guard => new CancellationTokenSource(HangGuard).Token;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_busTask is not null) await _busTask;
        if (_simTask is not null) await _simTask;
        await Bus.DisposeAsync();
        await Simulator.DisposeAsync();
        _stop.Dispose();
        Assert.That(Logger.Entries.Where(e => e.Level >= LogLevel.Error), Is.Empty, "unexpected error logs");
    }
}

