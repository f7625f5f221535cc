using Kezekshi.Edge.Devices.Protocols.ModbusRtu;
using Kezekshi.Edge.Devices.Tests.TestSupport;
using Kezekshi.Edge.Devices.Transport;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Devices.Tests.Protocols.ModbusRtu;

/// <summary>A master and a running simulator on a loopback pair; fault filters on either end.</summary>
internal sealed class ModbusTestBus : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _simulatorLoop;

    public ModbusTestBus(ModbusRtuMasterOptions? options = null, int baudRate = 19200)
    {
        (MasterEnd, SlaveEnd) = LoopbackTransport.CreatePair(baudRate);
        // Generous reply times: a loaded CI machine must not turn a slow thread pool into a retry.
        Options = options ?? new ModbusRtuMasterOptions { DefaultReplyTime = TestReplyTime };
        Master = new ModbusRtuMaster(MasterEnd, ownsTransport: true, Options, Logger);
        Simulator = new ModbusSlaveSimulator(SlaveEnd, ownsTransport: true, logger: SimulatorLogger);
        _simulatorLoop = Task.Run(() => Simulator.RunAsync(_stop.Token));
    }

    public static readonly TimeSpan TestReplyTime = TimeSpan.FromMilliseconds(250);

    public LoopbackTransport MasterEnd { get; }

    /// <summary>Its fault filter acts on the slaves' replies.</summary>
    public LoopbackTransport SlaveEnd { get; }

    public ModbusRtuMasterOptions Options { get; }

    public ListLogger Logger { get; } = new();

    public ListLogger SimulatorLogger { get; } = new();

    public ModbusRtuMaster Master { get; }

    public ModbusSlaveSimulator Simulator { get; }

    /// <summary>Fault for the first <paramref name="times"/> replies, then deliver.</summary>
    public void FaultReplies(LoopbackFault fault, int times)
    {
        int remaining = times;
        SlaveEnd.FaultFilter = _ => Interlocked.Decrement(ref remaining) >= 0 ? fault : LoopbackFault.None;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _simulatorLoop; // an exception in the simulator loop fails the test here
        await Master.DisposeAsync();
        await Simulator.DisposeAsync();
        _stop.Dispose();
        // Like MQTTnet's TestEnvironment: an error logged by the master or the simulator fails the test.
        Assert.That(Logger.Count(LogLevel.Error) + SimulatorLogger.Count(LogLevel.Error), Is.Zero, "unexpected error logs");
    }
}
