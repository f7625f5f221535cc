using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Biometrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Kezekshi.Edge.Agent.Recognition;

/// <summary>
/// Keeps the in-memory index true to biometrics.db and to the law while the agent runs:
/// <list type="bullet">
/// <item>every <see cref="ReloadInterval"/>: when templates or consents were changed by another process
/// (the CLI enrolling a class, recording a consent form), the index is reloaded — no restart needed;</item>
/// <item>every <see cref="SweepInterval"/>: consents past their expiry stop matching, templates unused for
/// <c>Biometrics:UnusedTemplateExpiryDays</c> and templates of pupils who left are deleted with receipts.</item>
/// </list>
/// </summary>
public sealed partial class BiometricsHousekeeping(BiometricsModule module, IOptions<EdgeOptions> edge, ILogger<BiometricsHousekeeping> logger, TimeProvider? time = null) : BackgroundService
{
    public static readonly TimeSpan ReloadInterval = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan SweepInterval = TimeSpan.FromHours(1);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private long _indexCovers;
    private DateTimeOffset _nextSweep = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _indexCovers = module.LastIndexChange(); // the module loaded everything when it opened
        using var timer = new PeriodicTimer(ReloadInterval, _time);
        do
        {
            try
            {
                RunOnce();
            }
            catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or StoreException or Kezekshi.Edge.Biometrics.Storage.BiometricsStoreException)
            {
                Failed(logger, e.Message);
            }
        }
        while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try { return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false); }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return false; }
    }

    /// <summary>One pass: reload if biometrics.db changed behind the index; sweep when due.</summary>
    internal void RunOnce()
    {
        long last = module.LastIndexChange();
        if (last > _indexCovers)
        {
            _indexCovers = module.ReloadIndex();
            Reloaded(logger, module.Index.Count);
        }
        var now = _time.GetUtcNow();
        if (now < _nextSweep)
            return;
        _nextSweep = now + SweepInterval;
        var result = module.Sweep(PupilsWhoLeft());
        if (result.TemplatesExpired + result.PupilsWhoLeft > 0)
            Swept(logger, result.TemplatesExpired, module.Options.UnusedTemplateExpiryDays, result.PupilsWhoLeft, result.Receipts.Count);
        _indexCovers = Math.Max(_indexCovers, module.LastIndexChange()); // the sweep's own deletions are already in the index
    }

    private List<long> PupilsWhoLeft()
    {
        string path = edge.Value.ResolvedDatabasePath;
        if (!File.Exists(path))
            return [];
        using var connection = EdgeDatabase.Open(path).Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM pupils WHERE status = 'left'";
        using var reader = command.ExecuteReader();
        var left = new List<long>();
        while (reader.Read())
            left.Add(reader.GetInt64(0));
        return left;
    }

    [LoggerMessage(EventId = 2062, Level = LogLevel.Information, Message = "biometrics.db was changed outside the agent (enrolment or consent from the command line): the index was reloaded, {Templates} template(s).")]
    private static partial void Reloaded(ILogger logger, int templates);

    [LoggerMessage(EventId = 2063, Level = LogLevel.Information, Message = "Retention sweep: {Expired} template(s) unused for {Days} days and the templates of {Left} pupil(s) who left were deleted ({Receipts} deletion receipt(s)).")]
    private static partial void Swept(ILogger logger, int expired, int days, int left, int receipts);

    [LoggerMessage(EventId = 2064, Level = LogLevel.Warning, Message = "Biometrics housekeeping could not read biometrics.db: {Problem}. Face matching goes on with the index in memory; the reload and retention sweep are retried in 10 s. Check the disk (df -h) and the file's permissions.")]
    private static partial void Failed(ILogger logger, string problem);
}
