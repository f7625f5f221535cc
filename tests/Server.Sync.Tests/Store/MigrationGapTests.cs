using Kezekshi.Server.Sync.Store;
using Npgsql;

namespace Kezekshi.Server.Sync.Tests.Store;

[Category("Integration")]
public sealed class MigrationGapTests
{
    [Test]
    public async Task A_migration_merged_below_the_databases_version_is_still_applied()
    {
        // A database that took migration 3 before migration 2 was merged (two branches developed side by side).
        string connectionString = await PostgresSetUp.Server.CreateDatabaseAsync("t_migrationgap");
        await using (var database = await CentreDatabase.OpenAsync(connectionString))
        {
            await ExecuteAsync(connectionString, """
                -- CASCADE: later migrations (4: template_transfers) reference migration 2's tables; only their foreign keys go.
                DROP TABLE topups, template_placements, consents, cards, guardian_pupils, guardians, pupils, classes, school_feeds CASCADE;
                DROP INDEX events_canteen_by_pupil, events_charges_by_school;
                DELETE FROM schema_migrations WHERE version = 2;
                """);
        }

        await using var reopened = await CentreDatabase.OpenAsync(connectionString);

        Assert.That(await reopened.SchemaVersionAsync(), Is.EqualTo(CentreDatabase.LatestSchemaVersion));
        Assert.That(await ScalarAsync(connectionString, "SELECT count(*) FROM schema_migrations"), Is.EqualTo(CentreDatabase.LatestSchemaVersion));
        Assert.That(await ScalarAsync(connectionString, "SELECT count(*) FROM pg_tables WHERE tablename IN ('school_feeds', 'pupils', 'consents', 'topups')"), Is.EqualTo(4));
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
