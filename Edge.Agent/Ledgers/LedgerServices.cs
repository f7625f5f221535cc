using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Ledgers.Library;
using Kezekshi.Edge.Agent.Ledgers.Tableau;
using Kezekshi.Edge.Agent.Store;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Kezekshi.Edge.Agent.Ledgers;

/// <summary>
/// The ledgers' settings under <c>Edge:Ledgers</c> in appsettings.json, e.g.
/// <c>"Ledgers": { "Canteen": { "BalanceFloor": 0, "OfflineDailyCap": 150000 }, "Library": { "LoanDays": 14 } }</c>.
/// </summary>
public sealed class LedgerOptions
{
    public const string Section = "Edge:Ledgers";

    public CanteenOptions Canteen { get; set; } = new();

    public LibraryOptions Library { get; set; } = new();

    public RegisterOptions Register { get; set; } = new();
}

/// <summary>Registers the canteen, library and tableau services for the Generic Host (the web UI uses them).</summary>
public static class LedgerServiceCollectionExtensions
{
    /// <summary>
    /// Adds the ledgers over the agent's store (<see cref="EdgeOptions.ResolvedDatabasePath"/>, unless an
    /// <see cref="EdgeDatabase"/> is registered already). The centre counts as reachable unless another
    /// <see cref="ICentreReachability"/> is registered (sync registers its own).
    /// </summary>
    public static IServiceCollection AddLedgers(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LedgerOptions>().Bind(configuration.GetSection(LedgerOptions.Section));
        services.TryAddSingleton(sp => EdgeDatabase.Open(sp.GetRequiredService<IOptions<EdgeOptions>>().Value.ResolvedDatabasePath));
        services.TryAddSingleton<ICentreReachability>(AlwaysReachable.Instance);
        services.TryAddSingleton(sp => SchoolCalendar.Load(sp.GetRequiredService<EdgeDatabase>()));
        services.TryAddSingleton(sp => new CanteenLedger(sp.GetRequiredService<EdgeDatabase>(), sp.GetRequiredService<IOptions<LedgerOptions>>().Value.Canteen,
            sp.GetRequiredService<ICentreReachability>(), sp.GetRequiredService<SchoolCalendar>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<CanteenLedger>>()));
        services.TryAddSingleton(sp => new LibraryDesk(sp.GetRequiredService<EdgeDatabase>(), sp.GetRequiredService<IOptions<LedgerOptions>>().Value.Library, sp.GetRequiredService<SchoolCalendar>()));
        services.TryAddSingleton(sp => new SchoolPeople(sp.GetRequiredService<EdgeDatabase>()));
        services.TryAddSingleton(sp => new AttendanceRegisterBuilder(sp.GetRequiredService<EdgeDatabase>(), sp.GetRequiredService<SchoolCalendar>(), sp.GetRequiredService<IOptions<LedgerOptions>>().Value.Register));
        services.TryAddSingleton(sp => new FreeMealReportBuilder(sp.GetRequiredService<EdgeDatabase>()));
        services.TryAddSingleton(sp => new LiveBoard(sp.GetRequiredService<EdgeDatabase>(), sp.GetRequiredService<SchoolCalendar>()));
        services.TryAddSingleton(sp => new Announcements(sp.GetRequiredService<EdgeDatabase>()));
        services.TryAddSingleton(sp => new RollCall(sp.GetRequiredService<EdgeDatabase>(), sp.GetRequiredService<SchoolCalendar>()));
        services.TryAddSingleton(sp => new MealWatch(sp.GetRequiredService<EdgeDatabase>(), sp.GetRequiredService<SchoolCalendar>()));
        return services;
    }
}
