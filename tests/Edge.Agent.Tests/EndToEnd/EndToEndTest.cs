using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using NUnit.Framework.Interfaces;

namespace Kezekshi.Edge.Agent.Tests.EndToEnd;

/// <summary>
/// Base of the end-to-end tests: starts a <see cref="GateRig"/> on request, disposes it after the test and
/// fails the test on error logs it did not expect or on unobserved task exceptions (CONVENTIONS, Tests).
/// </summary>
[Category("EndToEnd")]
[SupportedOSPlatform("linux")]
public abstract class EndToEndTest
{
    private readonly List<Func<LogEntry, bool>> _allowed = [];
    private readonly List<Exception> _unobserved = [];
    private GateRig? _rig;

    [SetUp]
    public void SetUpEnvironment()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("The simulated hardware runs on Linux pseudo-terminals.");
        _allowed.Clear();
        lock (_unobserved) _unobserved.Clear();
        TaskScheduler.UnobservedTaskException += OnUnobserved;
    }

    /// <summary>Starts the agent at the demo school's gates; it is stopped and checked after the test.</summary>
    protected async Task<GateRig> StartGatesAsync(Action<Kezekshi.Edge.Agent.Configuration.EdgeOptions, TempDirectory>? configure = null, Func<TempDirectory, Kezekshi.Edge.Agent.Runtime.FaceGateSetup>? faces = null)
    {
        _rig = await GateRig.StartAsync(configure, faces).ConfigureAwait(false);
        return _rig;
    }

    /// <summary>Declares error or critical log entries this test expects (a fire alarm, an unplugged port).</summary>
    protected void ExpectErrorLogs(Func<LogEntry, bool> which) => _allowed.Add(which);

    [TearDown]
    public async Task TearDownEnvironmentAsync()
    {
        var rig = _rig;
        _rig = null;
        try
        {
            if (rig is null) return;
            await rig.DisposeAsync().ConfigureAwait(false);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var entries = rig.Logs.Entries;
            var unexpected = entries.Where(e => e.Level >= LogLevel.Error && !_allowed.Any(a => a(e))).ToList();
            List<Exception> unobserved;
            lock (_unobserved) unobserved = [.. _unobserved];
            bool failed = TestContext.CurrentContext.Result.Outcome.Status == TestStatus.Failed;
            if (failed || unexpected.Count > 0 || unobserved.Count > 0)
            {
                await TestContext.Out.WriteLineAsync("Agent log:").ConfigureAwait(false);
                foreach (var entry in entries) await TestContext.Out.WriteLineAsync("  " + entry).ConfigureAwait(false);
            }
            if (failed) return;
            Assert.That(unexpected, Is.Empty, "The agent logged errors this test did not expect.");
            Assert.That(unobserved, Is.Empty, "A task failed and nobody observed it.");
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }
    }

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
    {
        lock (_unobserved) _unobserved.Add(e.Exception);
    }
}
