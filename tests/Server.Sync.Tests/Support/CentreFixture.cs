using Kezekshi.Server.Sync.Ingest;
using Kezekshi.Server.Sync.Store;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Kezekshi.Server.Sync.Tests.Support;

/// <summary>
/// Base of the integration fixtures: a fresh database per fixture, emptied before each test, with two registered
/// schools; fails a test that logged an unexpected error.
/// </summary>
[Category("Integration")]
public abstract class CentreFixture
{
    protected const string SchoolA = "sch-0001";
    protected const string SchoolB = "sch-0002";

    private readonly ListLogger<EventIngestor> _logger = new();

    protected CentreDatabase Database { get; private set; } = null!;
    protected EventIngestor Ingestor { get; private set; } = null!;
    protected string ConnectionString { get; private set; } = "";
    protected IReadOnlyList<string> Logged => _logger.Lines;

    /// <summary>Log lines a test expects at warning level or above (dead letters); anything else at error fails the test.</summary>
    protected bool AllowErrors { get; set; }

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync()
    {
        ConnectionString = await PostgresSetUp.Server.CreateDatabaseAsync("t_" + GetType().Name.ToLowerInvariant());
        Database = await CentreDatabase.OpenAsync(ConnectionString, _logger);
        Ingestor = new EventIngestor(Database, logger: _logger);
    }

    [OneTimeTearDown]
    public async Task DisposeDatabaseAsync()
    {
        if (Database is not null) await Database.DisposeAsync();
    }

    [SetUp]
    public async Task EmptyAsync()
    {
        _logger.Clear();
        AllowErrors = false;
        // CASCADE: the centre domain tables (migration 2) and the session tables (migration 3) reference schools. Cards are
        // named: since centre migration 6 they may point at pupils or staff, so no foreign key reaches them.
        await ExecuteAsync("TRUNCATE events, passages, dead_letters, school_streams, downlink_changes, cards, schools CASCADE");
        await Database.RegisterSchoolAsync(SchoolA, "almaty", "School 1");
        await Database.RegisterSchoolAsync(SchoolB, "almaty", "School 2");
    }

    [TearDown]
    public void NoUnexpectedErrors()
    {
        if (!AllowErrors && _logger.Errors.Count > 0)
            Assert.Fail("Unexpected error log:\n" + string.Join('\n', _logger.Errors));
    }

    protected async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false"); // never a stale pooled connection after a restart
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    protected async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false"); // never a stale pooled connection after a restart
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    protected Task<IngestResult> IngestAsync(string topic, byte[] payload) => Ingestor.IngestAsync(topic, payload, CancellationToken.None);
}

/// <summary>Collects log lines; errors are kept apart so a fixture can fail on them.</summary>
public sealed class ListLogger<T> : ILogger<T>
{
    private readonly List<string> _lines = [];
    private readonly List<string> _errors = [];

    public IReadOnlyList<string> Lines { get { lock (_lines) return [.. _lines]; } }
    public IReadOnlyList<string> Errors { get { lock (_lines) return [.. _errors]; } }

    public void Clear()
    {
        lock (_lines) { _lines.Clear(); _errors.Clear(); }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string line = $"{logLevel} {eventId.Id}: {formatter(state, exception)}";
        lock (_lines)
        {
            _lines.Add(line);
            if (logLevel >= LogLevel.Error) _errors.Add(line);
        }
    }
}
