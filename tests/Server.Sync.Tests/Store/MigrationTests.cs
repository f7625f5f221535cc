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

    [Test]
    public async Task Migration_7_rebuilds_the_ingest_indexes_and_keeps_the_stored_events()
    {
        // A centre at schema 6 with events and passages stored under the old key order.
        string connection = await PostgresSetUp.Server.CreateDatabaseAsync("t_migration_7");
        var epoch = Guid.Parse("5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d");
        await using (var database = await CentreDatabase.OpenAsync(connection))
        {
            await RawAsync(connection, """
                ALTER TABLE events DROP CONSTRAINT events_pkey;
                ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (school, epoch, seq);
                DROP INDEX passages_holder;
                CREATE INDEX passages_holder ON passages(holder_kind, holder_id, decided_at) WHERE holder_id IS NOT NULL;
                DELETE FROM schema_migrations WHERE version = 7;
                """);
            await database.RegisterSchoolAsync("sch-0001", "almaty", "School 1");
            var ingestor = new Kezekshi.Server.Sync.Ingest.EventIngestor(database);
            await ingestor.IngestAsync(Batches.Topic("sch-0001"), Batches.Passages("sch-0001", epoch, 1, 50), CancellationToken.None);
        }

        await using var migrated = await CentreDatabase.OpenAsync(connection);

        Assert.That(await migrated.SchemaVersionAsync(), Is.EqualTo(CentreDatabase.LatestSchemaVersion));
        Assert.That(await RawScalarAsync(connection, "SELECT pg_get_indexdef('events_pkey'::regclass)"), Does.EndWith("(epoch, seq, school)"));
        Assert.That(await RawScalarAsync(connection, "SELECT pg_get_indexdef('passages_holder'::regclass)"), Does.Contain("(holder_id, decided_at, holder_kind)"));
        Assert.That(await RawScalarAsync(connection, "SELECT count(*)::text FROM events WHERE school = 'sch-0001'"), Is.EqualTo("50"));
        // The key still refuses a second copy, and the ingest on the new key stores only what is new.
        var again = await new Kezekshi.Server.Sync.Ingest.EventIngestor(migrated)
            .IngestAsync(Batches.Topic("sch-0001"), Batches.Passages("sch-0001", epoch, 41, 60), CancellationToken.None);
        Assert.That((again.Inserted, again.Duplicates, again.Watermark), Is.EqualTo((10, 10, (long?)60)));
        Assert.That(await RawScalarAsync(connection, "SELECT count(*)::text FROM passages"), Is.EqualTo("60"));
        var duplicate = Assert.ThrowsAsync<Npgsql.PostgresException>(() => RawAsync(connection,
            $"INSERT INTO events(school, epoch, seq, type, schema_version, payload) VALUES ('sch-0001', '{epoch}', 1, 'passage', 1, '{{}}')"));
        Assert.That(duplicate!.SqlState, Is.EqualTo("23505"));
    }

    private static async Task RawAsync(string connectionString, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string?> RawScalarAsync(string connectionString, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return (string?)await command.ExecuteScalarAsync();
    }
}
