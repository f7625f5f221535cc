using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kezekshi.Edge.Agent.Configuration;

namespace Kezekshi.Edge.Agent.Tests.EndToEnd;

/// <summary>
/// The real agent executable (<c>kezekshi-edge.dll</c>, copied beside the tests because Edge.Agent is referenced)
/// run as a child process, as systemd would run it, with its console output collected.
/// </summary>
public sealed class AgentProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private AgentProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static string AgentDll => Path.Combine(AppContext.BaseDirectory, "kezekshi-edge.dll");

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything written to stdout and stderr so far.</summary>
    public string Output => string.Join(Environment.NewLine, _output);

    /// <summary>Starts <c>dotnet kezekshi-edge.dll</c> with <paramref name="arguments"/>.</summary>
    public static AgentProcess Start(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(AgentDll);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        // Nothing from the test run's environment may reconfigure the agent.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("Edge__", StringComparison.OrdinalIgnoreCase)).ToList()) start.Environment.Remove(key);
        return new AgentProcess(Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet."));
    }

    /// <summary>SIGKILL: the process dies at whatever instruction it was executing.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: true);

    /// <summary>SIGTERM: what systemd sends on stop; the agent shuts down cleanly.</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-s", "TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("Could not run kill.");
        kill.WaitForExit();
    }

    /// <summary>Waits for the process to end; fails the test (after killing it) if it does not within <paramref name="limit"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"The agent did not exit within {limit.TotalSeconds:F0} s. Its output:{Environment.NewLine}{Output}");
        }
        _process.WaitForExit(); // flushes the redirected output
        return _process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }

    /// <summary>
    /// Writes an appsettings.json in the shape of Edge.Agent/appsettings.json for <paramref name="options"/>,
    /// with the log level at Warning.
    /// </summary>
    public static string WriteConfig(string path, EdgeOptions options)
    {
        var serializer = new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull, IgnoreReadOnlyProperties = true, WriteIndented = true };
        var root = new JsonObject
        {
            ["Logging"] = new JsonObject
            {
                ["LogLevel"] = new JsonObject { ["Default"] = "Warning" },
                ["Console"] = new JsonObject { ["FormatterName"] = "simple", ["FormatterOptions"] = new JsonObject { ["SingleLine"] = true, ["TimestampFormat"] = "HH:mm:ss.fff " } },
            },
            ["Edge"] = JsonSerializer.SerializeToNode(options, serializer),
        };
        File.WriteAllText(path, root.ToJsonString(serializer));
        return path;
    }
}
