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
