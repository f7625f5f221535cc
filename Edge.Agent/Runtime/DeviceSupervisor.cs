using Kezekshi.Edge.Devices.Transport;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Runtime;

/// <summary>
/// Keeps one serial port and its protocol session running: opens it, runs it, and when it fails
/// (unplugged adapter, port in use, I/O error) logs what IT should check and reopens it with
/// exponential backoff, so one broken device never stops the other gates.
/// </summary>
public sealed class DeviceSupervisor(string device, string port, ILogger logger, TimeProvider time)
{
    private static readonly TimeSpan s_firstDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_maxDelay = TimeSpan.FromSeconds(30);

    /// <summary>The device (or bus) name IT gave it in the configuration.</summary>
    public string Device => device;

    /// <summary>The serial port it runs on.</summary>
    public string Port => port;

    /// <summary>True while the session is running on an open port.</summary>
    public bool IsUp { get; private set; }

    /// <summary>The last failure, for the console and doctor.</summary>
    public string? LastProblem { get; private set; }

    /// <summary>How many times the port was (re)opened.</summary>
    public int Opens { get; private set; }

    /// <summary>How regularly each polled input module on this port is read (empty for buses without input modules).</summary>
    public IReadOnlyList<PollGapMeter> PollGaps { get; internal set; } = [];

    /// <summary>Runs <paramref name="session"/> until cancelled, reopening after failures.</summary>
    /// <param name="session">Opens the port, runs the protocol, returns when cancelled; throws on failure.</param>
    public async Task RunAsync(Func<Action, CancellationToken, Task> session, CancellationToken cancellationToken)
    {
        var delay = s_firstDelay;
        while (!cancellationToken.IsCancellationRequested)
        {
            long started = time.GetTimestamp();
            try
            {
                await session(() =>
                {
                    IsUp = true;
                    Opens++;
                    LastProblem = null;
                    AgentLog.DeviceOpened(logger, device, port);
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is DeviceException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
            {
                IsUp = false;
                LastProblem = e.Message;
                if (time.GetElapsedTime(started) > s_maxDelay) delay = s_firstDelay; // it ran fine for a while: start over
                AgentLog.DeviceFailed(logger, device, e.Message.TrimEnd('.'), delay.TotalSeconds);
                try { await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, s_maxDelay.Ticks));
                continue;
            }
            IsUp = false;
        }
        IsUp = false;
    }
}
