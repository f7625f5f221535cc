using System.Text.Json;
using Kezekshi.Server.Sync.Domain;
using Npgsql;

namespace Kezekshi.Server.Sync.Tests.Support;

/// <summary>A centre database with the domain services over it, and readers for what they wrote to the schools' feeds.</summary>
public abstract class DomainFixture : CentreFixture
{
    protected const string SchoolC = "sch-0003";

    protected Roster Roster { get; private set; } = null!;
    protected ConsentRegistry Consents { get; private set; } = null!;
    protected CanteenMoney Money { get; private set; } = null!;
    protected Reports Reports { get; private set; } = null!;

    [OneTimeSetUp]
    public void CreateServices()
    {
        Roster = new Roster(Database);
        Consents = new ConsentRegistry(Database);
        Money = new CanteenMoney(Database);
        Reports = new Reports(Database);
    }

    [SetUp]
    public Task RegisterThirdSchoolAsync() => Database.RegisterSchoolAsync(SchoolC, "astana", "School 3");

    /// <summary>Enrols a pupil in class <paramref name="className"/> (created if needed) of <paramref name="school"/>.</summary>
    protected async Task<PupilView> EnrolAsync(string school, string fullName = "Айгерим Сейтқали", string className = "5Б")
    {
        var (created, _) = await Roster.PutClassAsync(school, new ClassRequest(className, 5), CancellationToken.None);
        return await Roster.EnrolPupilAsync(new PupilRequest(created.ClassId, fullName, null), CancellationToken.None);
    }

    /// <summary>A granted consent for <paramref name="purposes"/> given by the pupil themself.</summary>
    protected async Task<ConsentView> GrantAsync(long pupilId, params string[] purposes)
    {
        var (consent, _) = await Consents.GrantAsync(new ConsentRequest(null, pupilId, "pupil", null, purposes.Length == 0 ? ["access", "attendance"] : purposes,
            new string('a', 64), null, "office-1", null), CancellationToken.None);
        return consent;
    }

    /// <summary>A template request for <paramref name="school"/> with dummy ciphertext (the centre never decrypts it).</summary>
    protected static TemplateRequest Template(string templateId, string school, string consentId) =>
        new(templateId, school, "face", "mbf-192@3", consentId, "k-00112233aabbccdd", "ECDH-ES-P256+HKDF-SHA256+A256GCM", "sch-0009", 0.9f, "ZXBr",
            "bm9uY2Vub25jZTEy", "Y2lwaGVydGV4dA==", "dGFndGFndGFndGFndGFn");

    /// <summary>The school's feed in version order: (version, kind, data).</summary>
    protected async Task<List<(long Version, string Kind, JsonElement Data)>> FeedAsync(string school)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT version, type, payload::text FROM downlink_changes WHERE school = $1 ORDER BY version", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = school });
        var feed = new List<(long, string, JsonElement)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            feed.Add((reader.GetInt64(0), reader.GetString(1), JsonDocument.Parse(reader.GetString(2)).RootElement.Clone()));
        return feed;
    }
}
