using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Agent.Ledgers.Canteen;
using Kezekshi.Edge.Agent.Ledgers.Library;
using Kezekshi.Edge.Agent.Ledgers.Tableau;
using Kezekshi.Edge.Agent.Store;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Kezekshi.Edge.Agent.Tests.Ledgers;

[Category("Integration")]
public class LedgerServicesTests
{
    [Test]
    public void AddLedgers_opens_the_agents_store_and_binds_the_money_rules_from_configuration()
    {
        using var directory = new TempDirectory();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Edge:DataDirectory"] = directory.Path,
            ["Edge:Ledgers:Canteen:OfflineDailyCap"] = "50000",
            ["Edge:Ledgers:Canteen:BalanceFloor"] = "-10000",
        }).Build();
        var services = new ServiceCollection();
        services.AddOptions<EdgeOptions>().Bind(configuration.GetSection(EdgeOptions.Section));
        services.AddLedgers(configuration);
        using var provider = services.BuildServiceProvider();
        var canteen = provider.GetRequiredService<CanteenLedger>();
        Assert.That((canteen.Options.OfflineDailyCap, canteen.Options.BalanceFloor), Is.EqualTo((50_000L, -10_000L)));
        Assert.That(provider.GetRequiredService<EdgeDatabase>().Path, Is.EqualTo(Path.Combine(directory.Path, "edge.db")));
        Assert.That(File.Exists(Path.Combine(directory.Path, "edge.db")), Is.True);
        Assert.That(provider.GetRequiredService<ICentreReachability>().IsCentreReachable, Is.True);
        Assert.That(provider.GetRequiredService<LibraryDesk>(), Is.Not.Null);
        Assert.That(provider.GetRequiredService<LiveBoard>(), Is.Not.Null);
        Assert.That(provider.GetRequiredService<RollCall>(), Is.Not.Null);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }
}
