using Kezekshi.Server.Sync.Store;
using Npgsql;

namespace Kezekshi.Server.Sync.Domain;

/// <summary>Small helpers the domain services share: one transaction per request, commands with positional parameters.</summary>
internal static class Sql
{
    /// <summary>
    /// Runs <paramref name="work"/> in one transaction, retried as a whole on transient failures (<see cref="CentreDatabase.RunAsync{T}"/>).
    /// A <see cref="CentreRequestException"/> rolls the transaction back and reaches the caller unchanged.
    /// </summary>
    public static Task<T> InTransactionAsync<T>(this CentreDatabase database, string doing,
        Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task<T>> work, CancellationToken cancellationToken) =>
        database.RunAsync(doing, async (connection, ct) =>
        {
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            var result = await work(connection, transaction, ct).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return result;
        }, cancellationToken);

    /// <summary>A command with <c>$1…$n</c> bound to <paramref name="values"/>; a null needs a typed <see cref="NpgsqlParameter"/>.</summary>
    public static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params object[] values)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values)
            command.Parameters.Add(value as NpgsqlParameter ?? new NpgsqlParameter { Value = value });
        return command;
    }

    public static NpgsqlParameter Nullable<T>(T? value, NpgsqlTypes.NpgsqlDbType type) where T : struct =>
        new() { Value = value.HasValue ? value.Value : DBNull.Value, NpgsqlDbType = type };

    public static NpgsqlParameter Nullable(string? value) =>
        new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text };

    public static async Task<List<T>> ListAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken ct)
    {
        var list = new List<T>();
        await using (command.ConfigureAwait(false))
        {
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false)) list.Add(read(reader));
        }
        return list;
    }

    public static async Task<T?> FirstAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken ct) where T : class =>
        (await ListAsync(command, read, ct).ConfigureAwait(false)).FirstOrDefault();

    public static DateTimeOffset? OptionalTime(this NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    public static long? OptionalInt64(this NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    public static string? OptionalString(this NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
