using Kezekshi.Edge.Biometrics.Audit;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Enrolment;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Storage;

namespace Kezekshi.Edge.Biometrics;

/// <summary>
/// Everything biometric for one gate PC, opened in the right order: the DPIA guard first, then
/// biometrics.db and its key, the audit log, the store, consents, and the index loaded with every
/// template and its pupil's effective purpose mask. The agent holds one of these.
/// </summary>
public sealed class BiometricsModule : IDisposable
{
    private readonly Lazy<SchoolKeyPair> _transferKeys;

    private BiometricsModule(BiometricsOptions options, BiometricsDatabase database, AuditLog audit, TemplateStore store, EmbeddingIndex index, ConsentService consents, TimeProvider time,
        string transferKeyPath)
    {
        _transferKeys = new Lazy<SchoolKeyPair>(() => SchoolKeyPair.LoadOrCreate(transferKeyPath));
        Options = options;
        Database = database;
        Audit = audit;
        Store = store;
        Index = index;
        Consents = consents;
        Events = new OutgoingEvents(database);
        Retention = new RetentionSweep(store, index, time);
        Time = time;
    }

    public BiometricsOptions Options { get; }
    public BiometricsDatabase Database { get; }
    public AuditLog Audit { get; }
    public TemplateStore Store { get; }
    public EmbeddingIndex Index { get; }
    public ConsentService Consents { get; }
    public OutgoingEvents Events { get; }
    public RetentionSweep Retention { get; }
    public TimeProvider Time { get; }

    /// <summary>
    /// Opens the module. Throws <see cref="BiometricsDisabledException"/> (naming the setting) while
    /// the DPIA is not recorded, and <see cref="BiometricsStoreException"/> when the file or key cannot be used.
    /// </summary>
    /// <param name="dataDirectory">Where relative <see cref="BiometricsOptions.DatabasePath"/> and <see cref="BiometricsOptions.KeyPath"/> are resolved (the agent's data directory).</param>
    public static BiometricsModule Open(BiometricsOptions options, string dataDirectory, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        time ??= TimeProvider.System;
        BiometricsGuard.EnsureAllowed(options, time);
        options.Match.Validate();
        var database = BiometricsDatabase.Open(Path.Combine(dataDirectory, options.DatabasePath));
        var key = TemplateKey.LoadOrCreate(Path.Combine(dataDirectory, options.KeyPath));
        var audit = new AuditLog(database, time);
        var store = new TemplateStore(database, key, audit, time, options.KeepRawImages);
        try
        {
            var index = new EmbeddingIndex(options.Match);
            var consents = new ConsentService(store, index, audit, time);
            var contents = store.LoadAll();
            index.Load(contents.Templates, consents.AllMasks(), contents.LookAlikes);
            return new BiometricsModule(options, database, audit, store, index, consents, time, Path.Combine(dataDirectory, options.KeyPath + ".transfer"));
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The school's ECDH key pair for templates sent from other schools, in <c>{KeyPath}.transfer</c> next to the template
    /// key (0600), created on first use (docs/sync-protocol.md §5.3).
    /// </summary>
    public SchoolKeyPair TransferKeys => _transferKeys.Value;

    /// <summary>Template transfer to and from other schools, for the school <paramref name="school"/>.</summary>
    public TemplateTransfer Transfer(string school) => new(Store, Index, Consents, TransferKeys, school);

    /// <summary>An enrolment service over the given extractor (face or palm).</summary>
    public EnrolmentService Enrolment(ITemplateExtractor extractor) => new(extractor, Store, Index, Consents, Options, Time);

    /// <summary>Identification for the gate, the till and the library over the given extractor (face or palm).</summary>
    public Identification.BiometricIdentifier Identifier(ITemplateExtractor extractor) => new(Index, Store, extractor);

    /// <summary>The audit actions that change what the index must hold (templates or purpose masks).</summary>
    private static readonly string[] IndexChangingActions = ["enrol", "delete", "consent-grant", "consent-withdraw", "objection-lift"];

    /// <summary>
    /// The newest audit row that changed templates or consents — written by this process or another one
    /// (the CLI enrolling a class while the agent runs). Compare with the value at the last
    /// <see cref="ReloadIndex"/> to know whether the in-memory index is behind biometrics.db.
    /// </summary>
    public long LastIndexChange()
    {
        using var connection = Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COALESCE(MAX(seq), 0) FROM audit_log WHERE action IN ({string.Join(",", IndexChangingActions.Select(a => $"'{a}'"))})";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// Re-reads every template and consent into a new index snapshot (searches carry on against the old
    /// one meanwhile). Returns the <see cref="LastIndexChange"/> the new snapshot covers.
    /// </summary>
    public long ReloadIndex(string actor = "service")
    {
        long covered = LastIndexChange();
        var contents = Store.LoadAll(actor);
        Index.Load(contents.Templates, Consents.AllMasks(), contents.LookAlikes);
        return covered;
    }

    /// <summary>The periodic housekeeping: consents that expired stop matching; unused and leavers' templates are deleted.</summary>
    public RetentionResult Sweep(IReadOnlyCollection<long> pupilsWhoLeft)
    {
        Consents.RefreshAll();
        return Retention.Run(Options.UnusedTemplateExpiryDays, pupilsWhoLeft);
    }

    public void Dispose()
    {
        Store.Dispose();
        if (_transferKeys.IsValueCreated) _transferKeys.Value.Dispose();
    }
}
