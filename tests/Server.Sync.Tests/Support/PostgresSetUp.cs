using Kezekshi.Server.Sync.Tests.Support;

// In the root test namespace so that it wraps every fixture (a SetUpFixture applies to its namespace and below).
namespace Kezekshi.Server.Sync.Tests;

/// <summary>One throwaway PostgreSQL for the whole test run; each fixture gets its own database.</summary>
[SetUpFixture]
public sealed class PostgresSetUp
{
    private static PostgresServer? s_server;

    public static PostgresServer Server => s_server ?? throw new InvalidOperationException("PostgreSQL was not started");

    [OneTimeSetUp]
    public async Task StartAsync() => s_server = await PostgresServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (s_server is not null) await s_server.StopAsync();
        s_server = null;
    }
}
