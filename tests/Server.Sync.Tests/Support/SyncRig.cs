using System.Globalization;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Kezekshi.Mqtt;
using Kezekshi.Mqtt.Tests.Support;
using Kezekshi.Server.Sync.Downlink;
using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Store;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Server.Sync.Tests.Support;

/// <summary>
/// One school and the centre talking through a real mosquitto (TLS, per-school certificates, ACL): the broker, a centre
/// worker with its school sessions, and the school's sync session over its own SQLite file in a temp folder. Everything
/// is stopped and deleted on dispose.
/// </summary>
internal sealed class SyncRig : IAsyncDisposable
{
    public const string Region = "almaty";

    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _running = [];
    private readonly ILoggerFactory _loggers = LoggerFactory.Create(_ => { });
    private MqttClient? _centreClient;
    private MqttSyncConnection? _edge;

    private SyncRig(string school, TestCertificates certificates, MosquittoBroker broker, string directory)
    {
        School = school;
        Certificates = certificates;
        Broker = broker;
        Directory = directory;
    }

    public string School { get; }
    public TestCertificates Certificates { get; }
    public MosquittoBroker Broker { get; }

    /// <summary>The temp folder of the school's files (edge.db, biometrics).</summary>
    public string Directory { get; }

    public EdgeDatabase EdgeDatabase { get; private set; } = null!;
    public OutboxBatcher Batcher { get; private set; } = null!;
    public OutboxPublisher Publisher { get; private set; } = null!;
    public DownlinkApplier Applier { get; private set; } = null!;
    public SyncSession Session { get; private set; } = null!;
    public MqttSyncConnection Edge => _edge!;
    public SchoolSessions Sessions { get; private set; } = null!;
    public MqttIngestWorker Worker { get; private set; } = null!;

    /// <summary>Starts the broker (with persistence when the test kills and restarts it) and opens the school's store.</summary>
    public static async Task<SyncRig> StartAsync(string school, bool persistence = false)
    {
        var certificates = TestCertificates.Create(school, "centre-1");
        var broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions { Certificates = certificates, Persistence = persistence, AllowAnonymous = false });
        string directory = Path.Combine(Path.GetTempPath(), "kezekshi-sync-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(directory);
        var rig = new SyncRig(school, certificates, broker, directory);
        rig.EdgeDatabase = EdgeDatabase.Open(Path.Combine(directory, "edge.db"));
        return rig;
    }

    /// <summary>Client options for <paramref name="name"/>'s certificate on this broker.</summary>
    public MqttClientOptions ClientOptions(string name) => new()
    {
        Host = "127.0.0.1", Port = Broker.Port, ClientId = name, CaFile = Certificates.CaFile,
        CertFile = Certificates.CertFile(name), KeyFile = Certificates.KeyFile(name),
        SessionExpiry = TimeSpan.FromHours(1), ReconnectDelayMin = TimeSpan.FromSeconds(1), ReconnectDelayMax = TimeSpan.FromSeconds(2),
    };

    /// <summary>Starts a centre worker (certificate centre-1) with its school sessions, in this process.</summary>
    /// <param name="snapshotAbove">A school that has applied nothing starts at a snapshot when its feed is longer than this (SchoolSessions.SnapshotAbove).</param>
    public async Task StartCentreAsync(CentreDatabase database, EventIngestor ingestor, long snapshotAbove = 5_000)
    {
        _centreClient = new MqttClient(ClientOptions("centre-1"));
        await _centreClient.ConnectAsync();
        var client = _centreClient;
        Sessions = new SchoolSessions(new DownlinkFeed(database), ingestor,
            async (topic, payload, ct) => (await client.PublishAsync(topic, payload, 1, false, ct)).IsSuccess,
            NullLogger<SchoolSessions>.Instance) { Poll = TimeSpan.FromMilliseconds(200), SnapshotAbove = snapshotAbove };
        Worker = new MqttIngestWorker(client, ingestor, NullLogger<MqttIngestWorker>.Instance, sessions: Sessions);
        _running.Add(Task.Run(() => Worker.RunAsync(_stop.Token)));
        _running.Add(Task.Run(() => Sessions.RunAsync(_stop.Token)));
    }

    /// <summary>Connects the school and runs its sync session with these downlink handlers (roster always).</summary>
    public async Task StartSchoolAsync(params IDownlinkHandler[] handlers)
    {
        _edge = new MqttSyncConnection(ClientOptions(School), Region, School, _loggers);
        Batcher = new OutboxBatcher(EdgeDatabase, School, Region);
        Publisher = new OutboxPublisher(Batcher, _edge, Region, School, NullLogger.Instance)
        {
            IdlePoll = TimeSpan.FromMilliseconds(20),
            ResendAfter = TimeSpan.FromSeconds(3),
        };
        Applier = new DownlinkApplier(EdgeDatabase, [new RosterHandlers(), .. handlers], School, Region, NullLogger.Instance);
        Session = new SyncSession(_edge, Batcher, Publisher, Applier, Region, School, NullLogger.Instance);
        await _edge.ConnectAsync(CancellationToken.None);
        _running.Add(Task.Run(() => Session.RunAsync(_stop.Token)));
    }

    /// <summary>A number from the school's SQLite database.</summary>
    public long CountAtSchool(string sql)
    {
        using var connection = EdgeDatabase.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Stops the centre and the school (their loops end cleanly) before the broker goes.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_running);
        _running.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_edge is not null) await _edge.DisposeAsync();
        if (_centreClient is not null) await _centreClient.DisposeAsync();
        await Broker.DisposeAsync();
        Certificates.Dispose();
        _loggers.Dispose();
        _stop.Dispose();
        SqliteConnection.ClearAllPools();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
