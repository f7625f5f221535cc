using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Kezekshi.Server.Sync.Tests.Support;

/// <summary>
/// A throwaway PostgreSQL server run as a process for integration tests: initdb into a temp directory,
/// pg_ctl start on a free loopback port, one fresh database per fixture, restart on the same port, delete on stop.
/// </summary>
/// <remarks>
/// initdb refuses to run as root, so when the tests run as root every server command runs as the postgres user
/// through runuser (docs/libmosquitto-binding.md §8). fsync=off: the tests kill and restart the server, never the OS.
/// </remarks>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";
    private const string Superuser = "kezekshi";

    private readonly string _directory;
    private readonly bool _asRoot;
    private bool _running;

    private PostgresServer(string directory, int port, bool asRoot)
    {
        _directory = directory;
        Port = port;
        _asRoot = asRoot;
    }

    public int Port { get; }

    private string DataDirectory => Path.Combine(_directory, "data");

    /// <summary>The server log, for failure messages.</summary>
    public string LogPath => Path.Combine(_directory, "server.log");

    /// <summary>Creates a cluster in a new temp directory and starts it.</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        if (!File.Exists(Path.Combine(BinDirectory, "initdb")) || !File.Exists(Path.Combine(BinDirectory, "pg_ctl")))
            Assert.Fail($"PostgreSQL 15 binaries not found in {BinDirectory}: install postgresql: tools/setup.sh");
        bool asRoot = Environment.UserName == "root";
        string directory = Directory.CreateTempSubdirectory("kzpg.").FullName;
        var server = new PostgresServer(directory, FreePort(), asRoot);
        try
        {
            if (asRoot) await server.RunAsync("chown", ["postgres:", directory], asPostgres: false);
            await server.RunAsync(Path.Combine(BinDirectory, "initdb"),
                ["-D", server.DataDirectory, "-U", Superuser, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], asPostgres: true);
            await server.StartServerAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates a new empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using (var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false"))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\"; ", connection);
            await command.ExecuteNonQueryAsync();
            command.CommandText = $"CREATE DATABASE \"{name}\"";
            await command.ExecuteNonQueryAsync();
        }
        return ConnectionString(name);
    }

    /// <summary>A connection string for <paramref name="database"/> on this server, pooled as in production: after
    /// <see cref="RestartAsync"/> the pool holds dead connections, which is what the restart test is about.
    /// Test helpers add <c>Pooling=false</c>.</summary>
    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = Superuser,
        Database = database,
        Timeout = 5,
    }.ToString();

    /// <summary>Stops the server (fast shutdown: clients are disconnected) and starts it again on the same port.</summary>
    public async Task RestartAsync()
    {
        await StopServerAsync();
        await StartServerAsync();
    }

    /// <summary>Stops the server and deletes its directory.</summary>
    public async Task StopAsync()
    {
        try
        {
            await StopServerAsync();
        }
        finally
        {
            try { Directory.Delete(_directory, recursive: true); }
            catch (DirectoryNotFoundException) { }
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task StartServerAsync()
    {
        await RunAsync(Path.Combine(BinDirectory, "pg_ctl"),
            ["-D", DataDirectory, "-l", LogPath, "-w", "-t", "30",
             "-o", string.Create(CultureInfo.InvariantCulture, $"-p {Port} -k {_directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"),
             "start"], asPostgres: true);
        _running = true;
        // pg_ctl -w waits for the server to accept connections; confirm over TCP as the tests connect.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false");
                await connection.OpenAsync();
                return;
            }
            catch (NpgsqlException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private async Task StopServerAsync()
    {
        if (!_running) return;
        await RunAsync(Path.Combine(BinDirectory, "pg_ctl"), ["-D", DataDirectory, "-m", "fast", "-w", "stop"], asPostgres: true);
        _running = false;
    }

    private async Task RunAsync(string program, IReadOnlyList<string> arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres && _asRoot)
        {
            start.FileName = "runuser";
            foreach (var a in new[] { "-u", "postgres", "--", program }) start.ArgumentList.Add(a);
        }
        else
        {
            start.FileName = program;
        }
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        // Read both streams while waiting: pg_ctl start leaves the server holding neither (-l sends its output to the log).
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            string log = File.Exists(LogPath) ? await File.ReadAllTextAsync(LogPath) : "(no server log)";
            Assert.Fail($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}\n{await error}\nserver log:\n{log}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
