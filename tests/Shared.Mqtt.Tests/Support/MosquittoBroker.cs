using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Kezekshi.Mqtt.Tests.Support;

/// <summary>How to configure a <see cref="MosquittoBroker"/>.</summary>
public sealed class MosquittoBrokerOptions
{
    /// <summary>Null: plain TCP, anonymous. Otherwise TLS with require_certificate, CN as username and client ID, and the ACL of the sync protocol.</summary>
    public TestCertificates? Certificates { get; init; }

    /// <summary>
    /// Keep sessions across a restart: <c>persistence true</c>, saved on SIGTERM and after every change
    /// (<c>autosave_on_changes</c>, interval 1), so they also survive <see cref="MosquittoBroker.KillAsync"/>.
    /// </summary>
    public bool Persistence { get; init; }

    /// <summary>Plain listener only: false refuses every client at CONNACK (no password file), to test refusals.</summary>
    public bool AllowAnonymous { get; init; } = true;
}

/// <summary>
/// The real <c>mosquitto</c> binary on a free 127.0.0.1 port in its own temp directory
/// (configuration as in docs/libmosquitto-binding.md §6).
/// </summary>
/// <remarks>
/// As root, mosquitto drops to user <c>mosquitto</c> before reading its key, so we start it through
/// <c>runuser -u mosquitto --</c> and hand the directory to that user. Restart keeps the port.
/// </remarks>
public sealed partial class MosquittoBroker : IAsyncDisposable
{
    /// <summary>The ACL of sync-protocol.md §2: schools write their uplink and read their downlink; centre workers the opposite.</summary>
    public const string Acl = """
        pattern write kz/v1/+/%u/up/#
        pattern read kz/v1/+/%u/down/#
        user centre-1
        topic read kz/v1/+/+/up/#
        topic write kz/v1/+/+/down/#
        user centre-2
        topic read kz/v1/+/+/up/#
        topic write kz/v1/+/+/down/#

        """;

    private readonly MosquittoBrokerOptions _options;
    private readonly StringBuilder _log = new();
    private Process? _process;

    private MosquittoBroker(MosquittoBrokerOptions options, string directory, int port)
    {
        _options = options;
        Directory = directory;
        Port = port;
    }

    public string Directory { get; }

    public int Port { get; }

    /// <summary>What the broker wrote to stderr so far (for failure messages).</summary>
    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    public bool IsRunning => _process is { HasExited: false };

    private static bool IsRoot => OperatingSystem.IsLinux() && geteuid() == 0;

    public static async Task<MosquittoBroker> StartAsync(MosquittoBrokerOptions? options = null)
    {
        options ??= new MosquittoBrokerOptions();
        var directory = System.IO.Directory.CreateTempSubdirectory("kz-mosquitto-").FullName;
        var broker = new MosquittoBroker(options, directory, FreePort());
        try
        {
            broker.WriteConfiguration();
            await broker.StartProcessAsync();
            return broker;
        }
        catch
        {
            await broker.DisposeAsync();
            throw;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void WriteConfiguration()
    {
        var conf = new StringBuilder();
        conf.AppendLine("per_listener_settings false");
        conf.AppendLine("log_dest stderr");
        conf.AppendLine("log_type error\nlog_type warning\nlog_type notice\nlog_type information");
        conf.AppendLine("connection_messages true");
        conf.AppendLine("max_packet_size 1048576");
        conf.AppendLine("set_tcp_nodelay true");
        if (_options.Persistence)
        {
            conf.AppendLine("persistence true");
            conf.AppendLine($"persistence_location {Directory}/");
            conf.AppendLine("autosave_on_changes true");
            conf.AppendLine("autosave_interval 1");
        }
        else
        {
            conf.AppendLine("persistence false");
        }
        if (_options.Certificates is { } pki)
        {
            File.Copy(pki.CaFile, Path.Combine(Directory, "ca.crt"));
            File.Copy(pki.ServerCertFile, Path.Combine(Directory, "server.crt"));
            File.Copy(pki.ServerKeyFile, Path.Combine(Directory, "server.key"));
            File.WriteAllText(Path.Combine(Directory, "acl"), Acl);
            conf.AppendLine("allow_anonymous false");
            conf.AppendLine($"acl_file {Directory}/acl");
            conf.AppendLine($"listener {Port} 127.0.0.1");
            conf.AppendLine($"cafile {Directory}/ca.crt");
            conf.AppendLine($"certfile {Directory}/server.crt");
            conf.AppendLine($"keyfile {Directory}/server.key");
            conf.AppendLine("require_certificate true");
            conf.AppendLine("use_identity_as_username true");
            conf.AppendLine("use_username_as_clientid true");
        }
        else
        {
            conf.AppendLine(_options.AllowAnonymous ? "allow_anonymous true" : "allow_anonymous false");
            conf.AppendLine($"listener {Port} 127.0.0.1");
        }
        File.WriteAllText(Path.Combine(Directory, "mosquitto.conf"), conf.ToString());
        if (OperatingSystem.IsLinux() && IsRoot)
        {
            ProcessRunner.Run("chown", Directory, "-R", "mosquitto:", Directory);
            File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
    }

    private async Task StartProcessAsync()
    {
        var conf = Path.Combine(Directory, "mosquitto.conf");
        var start = IsRoot ? new ProcessStartInfo("runuser") : new ProcessStartInfo("mosquitto");
        if (OperatingSystem.IsLinux() && IsRoot)
        {
            foreach (var a in new[] { "-u", "mosquitto", "--", "mosquitto" }) start.ArgumentList.Add(a);
        }
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(conf);
        start.RedirectStandardError = true;
        start.RedirectStandardOutput = true;
        start.UseShellExecute = false;
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start mosquitto");
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (_log) _log.AppendLine(e.Data);
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (_log) _log.AppendLine(e.Data);
        };
        // Safety net: a test host that dies without DisposeAsync must not leave a broker behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _process = process;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"mosquitto exited with {process.ExitCode}: {Log}");
            }
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(25);
            }
        }
    }

    /// <summary>Graceful stop (SIGTERM; with persistence the broker saves its sessions).</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process) return;
        _ = kill(process.Id, 15); // runuser passes SIGTERM on to mosquitto
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
        _process = null;
    }

    /// <summary>SIGKILL to mosquitto and runuser: a crash, nothing saved, clients see the connection drop.</summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false } process) return;
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        // The tree kill signals the child too; wait until the port no longer answers.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                await Task.Delay(25);
            }
            catch (SocketException)
            {
                break;
            }
        }
        process.Dispose();
        _process = null;
    }

    /// <summary>Starts the broker again on the same port (stopping it gracefully first if it runs).</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartProcessAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        finally
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    [LibraryImport("libc")]
    private static partial uint geteuid();
}
