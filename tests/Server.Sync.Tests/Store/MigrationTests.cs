using Kezekshi.Server.Sync.Store;
using Kezekshi.Server.Sync.Tests.Support;

namespace Kezekshi.Server.Sync.Tests.Store;

public sealed class MigrationTests : CentreFixture
{
    [Test]
    public async Task Migrations_apply_once_and_are_idempotent()
    {
        Assert.That(await Database.SchemaVersionAsync(), Is.EqualTo(CentreDatabase.LatestSchemaVersion));
        await Database.MigrateAsync();
        await using (var again = await CentreDatabase.OpenAsync(ConnectionString)) await again.MigrateAsync();

        Assert.That(await CountAsync("SELECT count(*) FROM schema_migrations"), Is.EqualTo(CentreDatabase.LatestSchemaVersion));
        foreach (var table in new[] { "schools", "school_streams", "events", "passages", "dead_letters", "downlink_changes" })
            Assert.That(await CountAsync($"SELECT count(*) FROM information_schema.tables WHERE table_name = '{table}'"), Is.EqualTo(1), table);
        var (healthy, detail) = await Database.CheckHealthAsync();
        Assert.That(healthy, Is.True, detail);
    }

    [Test]
    public async Task Migrations_from_several_workers_at_once_apply_each_version_once()
    {
        string connection = await PostgresSetUp.Server.CreateDatabaseAsync("t_migration_race");
        var opened = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => CentreDatabase.OpenAsync(connection)));
        foreach (var database in opened) await database.DisposeAsync();

        await using var check = await CentreDatabase.OpenAsync(connection);
        Assert.That(await check.SchemaVersionAsync(), Is.EqualTo(CentreDatabase.LatestSchemaVersion));
    }

    [Test]
    public async Task A_database_newer_than_the_service_is_refused_without_changes()
    {
        string connection = await PostgresSetUp.Server.CreateDatabaseAsync("t_migration_newer");
        await (await CentreDatabase.OpenAsync(connection)).DisposeAsync();
        await using (var raw = new Npgsql.NpgsqlConnection(connection))
        {
            await raw.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand("INSERT INTO schema_migrations(version, name) VALUES (999, 'from the future')", raw);
            await command.ExecuteNonQueryAsync();
        }

        var error = Assert.ThrowsAsync<CentreStoreException>(() => CentreDatabase.OpenAsync(connection));
        Assert.That(error!.Message, Does.Contain("newer than this service knows"));
        Assert.That(error.IsTransient, Is.False);
    }
}
