using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Agent.Sync;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Tests;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Tests.Sync;

/// <summary>
/// One gate PC for the biometric downlink tests: real edge.db and biometrics.db files in a temporary directory, and
/// the inbox with the roster, biometrics and template-export handlers wired as <c>run</c> wires them.
/// </summary>
internal sealed class BiometricSchool : IDisposable
{
    private readonly TempDirectory _dir = new();

    public BiometricSchool(string id)
    {
        Id = id;
        Database = EdgeDatabase.Open(_dir.File("edge.db"));
        Module = BiometricsModule.Open(new BiometricsOptions
        {
            Enabled = true,
            Dpia = new DpiaRecord { Reference = "DPIA-2026-07", ApprovedBy = "head teacher", ApprovedOn = new DateOnly(2026, 8, 20) },
            Match = new MatchPolicy { AcceptThreshold = 0.8f, Margin = 0.05f },
        }, _dir.Path);
        var transfer = Module.Transfer(id);
        Applier = new DownlinkApplier(Database,
            [new RosterHandlers(), new BiometricsHandlers(Module.Consents, pupil => Module.Store.Count(pupil), transfer, Module.Database), new TemplateExportHandlers(transfer)],
            id, "almaty", NullLogger.Instance);
    }

    public string Id { get; }
    public EdgeDatabase Database { get; }
    public BiometricsModule Module { get; }
    public DownlinkApplier Applier { get; }
    public string KeyDirectory => _dir.Path;

    public DownlinkOutcome Apply(long from, params (string Kind, string Data)[] changes) => Applier.Apply(DownlinkApplierTests.Changes(Id, from, changes));

    /// <summary>The outbox events of one type, in seq order.</summary>
    public List<(string Type, string Payload)> Outbox(string type)
    {
        using var connection = Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT event_type, payload FROM outbox WHERE event_type = $t ORDER BY seq";
        command.Parameters.AddWithValue("$t", type);
        using var reader = command.ExecuteReader();
        var rows = new List<(string, string)>();
        while (reader.Read()) rows.Add((reader.GetString(0), reader.GetString(1)));
        return rows;
    }

    /// <summary>The payload of the newest outbox event of one type.</summary>
    public string OutboxPayload(string type) => Outbox(type)[^1].Payload;

    public string? Rejection(long version)
    {
        using var connection = Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT reason FROM inbox_rejections WHERE version = $v";
        command.Parameters.AddWithValue("$v", version);
        return command.ExecuteScalar() as string;
    }

    public void Enrol(long pupil, int seed)
    {
        var face = TestVectors.Unit(new Random(seed), 16);
        Module.Enrolment(new PixelTemplateExtractor()).Enrol(pupil, [PixelTemplateExtractor.Image(face, 0.9f), PixelTemplateExtractor.Image(face, 0.95f)], "office");
    }

    public void Dispose()
    {
        Module.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
