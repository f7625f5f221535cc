using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Ledgers.Tableau;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kezekshi.Edge.Agent.Hosting;

/// <summary>
/// When the fire alarm goes off, the evacuation roll-call starts by itself: who is inside (from the passages and visitor
/// passes) is frozen into a list teachers tick off on the roll-call page, which works without the network. Started off
/// the alarm's own thread, so opening the gates is never delayed by the database.
/// </summary>
public sealed class EvacuationRollCall(RollCall rollCall, ILogger logger, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The roll-call started for the last alarm (null before the first).</summary>
    public Task<RollCallSheet?> Last { get; private set; } = Task.FromResult<RollCallSheet?>(null);

    public void Attach(EmergencyState emergency)
    {
        ArgumentNullException.ThrowIfNull(emergency);
        emergency.Changed += active =>
        {
            if (active) Last = Task.Run(() => Start(emergency.Cause ?? "fire alarm"));
        };
    }

    private RollCallSheet? Start(string cause)
    {
        try
        {
            var sheet = rollCall.Start($"alarm: {cause}", _time.GetUtcNow());
            logger.LogWarning("Evacuation roll-call {Session} started: {People} people inside. Teachers open the roll-call page (office) to tick them off; print it if the network is down.",
                sheet.SessionId, sheet.People.Count);
            return sheet;
        }
        catch (Exception e) when (e is Store.StoreException or Microsoft.Data.Sqlite.SqliteException or IOException)
        {
            logger.LogError("The evacuation roll-call could not be started: {Problem}. Start it from the office page.", e.Message);
            return null;
        }
    }
}

/// <summary>Attaches the evacuation roll-call to the running gates' emergency state.</summary>
public sealed class EvacuationRollCallService(GateService gates, RollCall rollCall, ILoggerFactory loggers) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (gates.Runtime is null && !stoppingToken.IsCancellationRequested)
            await Task.Delay(100, stoppingToken).ConfigureAwait(false);
        if (gates.Runtime is { } runtime)
            new EvacuationRollCall(rollCall, loggers.CreateLogger<EvacuationRollCall>()).Attach(runtime.Emergency);
    }
}
