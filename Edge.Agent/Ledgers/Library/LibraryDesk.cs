using System.Text.Json;
using Kezekshi.Edge.Agent.Store;
using Microsoft.Data.Sqlite;

namespace Kezekshi.Edge.Agent.Ledgers.Library;

/// <summary>
/// The library desk: catalogue (ISBN, title, author, copies by barcode), loans and returns on the pupil's card, due dates,
/// renewals, the overdue list and lost items. Each loan change and its outbox event are committed together.
/// </summary>
public sealed class LibraryDesk
{
    private readonly EdgeDatabase _database;
    private readonly LibraryOptions _options;
    private readonly Lock _write = new();

    public LibraryDesk(EdgeDatabase database, LibraryOptions? options = null, SchoolCalendar? calendar = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _options = options ?? new LibraryOptions();
        Calendar = calendar ?? SchoolCalendar.Load(database);
    }

    public SchoolCalendar Calendar { get; }

    /// <summary>Adds a title. An ISBN, when given, must be a valid ISBN-10 or ISBN-13 (hyphens and spaces are ignored).</summary>
    public BookTitle AddTitle(string? isbn, string title, string author)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(title);
        string? normalised = isbn is null || isbn.Trim().Length == 0 ? null : NormaliseIsbn(isbn);
        lock (_write)
        {
            using var connection = _database.Connect();
            long id = LedgerSql.Long(connection, null, "INSERT INTO library_titles(isbn, title, author) VALUES ($i, $t, $a) RETURNING id",
                ("$i", normalised), ("$t", title.Trim()), ("$a", author?.Trim() ?? ""));
            return new BookTitle(id, normalised, title.Trim(), author?.Trim() ?? "", 0, 0);
        }
    }

    /// <summary>Adds a physical copy of a title under its barcode sticker.</summary>
    public BookCopy AddCopy(long titleId, string barcode, DateTimeOffset at)
    {
        string code = RequireBarcode(barcode);
        lock (_write)
        {
            using var connection = _database.Connect();
            if (LedgerSql.Scalar(connection, null, "SELECT 1 FROM library_titles WHERE id = $t", ("$t", titleId)) is null)
                throw new LedgerException($"There is no title {titleId}; add the title first.");
            if (LedgerSql.Scalar(connection, null, "SELECT 1 FROM library_copies WHERE barcode = $b", ("$b", code)) is not null)
                throw new LedgerException($"Barcode {code} is already on another copy; use a new sticker.");
            LedgerSql.Exec(connection, null, "INSERT INTO library_copies(barcode, title_id, added_at) VALUES ($b, $t, $at)", ("$b", code), ("$t", titleId), ("$at", LedgerSql.Time(at)));
            return LoadCopy(connection, null, code)!;
        }
    }

    /// <summary>Titles whose title, author or ISBN contains <paramref name="text"/> (all when empty).</summary>
    public IReadOnlyList<BookTitle> Search(string? text = null)
    {
        using var connection = _database.Connect();
        string pattern = "%" + (text ?? "").Trim().Replace("-", "", StringComparison.Ordinal) + "%";
        return LedgerSql.Query(connection, null, """
            SELECT t.id, t.isbn, t.title, t.author, COUNT(c.id), COALESCE(SUM(c.status = 'available'), 0)
            FROM library_titles t LEFT JOIN library_copies c ON c.title_id = t.id AND c.status <> 'withdrawn'
            WHERE t.title LIKE $q OR t.author LIKE $q OR COALESCE(t.isbn, '') LIKE $q
            GROUP BY t.id ORDER BY t.title
            """, r => new BookTitle(r.GetInt64(0), LedgerSql.NullableString(r, 1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetInt32(5)), ("$q", pattern));
    }

    /// <summary>The copy with this barcode, or null.</summary>
    public BookCopy? FindCopy(string barcode)
    {
        using var connection = _database.Connect();
        return LoadCopy(connection, null, barcode.Trim());
    }

    /// <summary>Lends the copy to the pupil; due after <see cref="LibraryOptions.LoanDays"/> days.</summary>
    /// <exception cref="LedgerException">Unknown copy or pupil, copy not on the shelf, or the pupil holds the maximum.</exception>
    public Loan Lend(string barcode, long pupilId, DateTimeOffset at, long? staffId = null)
    {
        string code = RequireBarcode(barcode);
        lock (_write)
        {
            using var connection = _database.Connect();
            using var transaction = connection.BeginTransaction(deferred: false);
            var copy = LoadCopy(connection, transaction, code) ?? throw new LedgerException($"No copy has barcode {code}; add it to the catalogue first.");
            if (copy.Status != CopyStatus.Available)
                throw new LedgerException(copy.Status == CopyStatus.OnLoan
                    ? $"\"{copy.Title}\" ({code}) is still on loan: take the return first."
                    : $"\"{copy.Title}\" ({code}) is marked {Status(copy.Status)}; return it to the shelf (scan a return) before lending.");
            if (LedgerSql.Scalar(connection, transaction, "SELECT 1 FROM pupils WHERE id = $p AND status = 'active'", ("$p", pupilId)) is null)
                throw new LedgerException($"Pupil {pupilId} is not an active pupil of this school; ask the office.");
            long open = LedgerSql.Long(connection, transaction, "SELECT COUNT(*) FROM library_loans WHERE pupil_id = $p AND returned_at IS NULL AND lost_at IS NULL", ("$p", pupilId));
            if (open >= _options.MaxLoansPerPupil)
                throw new LedgerException($"The pupil already holds {open} books (the most is {_options.MaxLoansPerPupil}); a book must come back first.");
            var due = Calendar.DayOf(at).AddDays(_options.LoanDays);
            long id = LedgerSql.Long(connection, transaction, "INSERT INTO library_loans(copy_id, pupil_id, loaned_at, due_on, staff_id) VALUES ($c, $p, $at, $d, $s) RETURNING id",
                ("$c", copy.Id), ("$p", pupilId), ("$at", LedgerSql.Time(at)), ("$d", LedgerSql.Day(due)), ("$s", staffId));
            LedgerSql.Exec(connection, transaction, "UPDATE library_copies SET status = 'on-loan' WHERE id = $c", ("$c", copy.Id));
            var loan = LoadLoan(connection, transaction, id)!;
            Emit(connection, transaction, LedgerEvents.LibraryLoan, loan, copy.Isbn, at);
            transaction.Commit();
            return loan;
        }
    }

    /// <summary>Takes a copy back. A copy marked lost that turns up is returned the same way and goes back on the shelf.</summary>
    public Loan Return(string barcode, DateTimeOffset at)
    {
        string code = RequireBarcode(barcode);
        lock (_write)
        {
            using var connection = _database.Connect();
            using var transaction = connection.BeginTransaction(deferred: false);
            var copy = LoadCopy(connection, transaction, code) ?? throw new LedgerException($"No copy has barcode {code}.");
            long? loanId = LedgerSql.Scalar(connection, transaction,
                "SELECT id FROM library_loans WHERE copy_id = $c AND returned_at IS NULL ORDER BY id DESC LIMIT 1", ("$c", copy.Id)) as long?;
            if (loanId is null) throw new LedgerException($"\"{copy.Title}\" ({code}) is not on loan; nothing to return.");
            LedgerSql.Exec(connection, transaction, "UPDATE library_loans SET returned_at = $at WHERE id = $i", ("$at", LedgerSql.Time(at)), ("$i", loanId));
            LedgerSql.Exec(connection, transaction, "UPDATE library_copies SET status = 'available' WHERE id = $c", ("$c", copy.Id));
            var loan = LoadLoan(connection, transaction, loanId.Value)!;
            Emit(connection, transaction, LedgerEvents.LibraryReturn, loan, copy.Isbn, at);
            transaction.Commit();
            return loan;
        }
    }

    /// <summary>Extends a loan by <see cref="LibraryOptions.LoanDays"/> from today or from the due date, whichever is later.</summary>
    public Loan Renew(string barcode, DateTimeOffset at)
    {
        string code = RequireBarcode(barcode);
        lock (_write)
        {
            using var connection = _database.Connect();
            using var transaction = connection.BeginTransaction(deferred: false);
            var copy = LoadCopy(connection, transaction, code) ?? throw new LedgerException($"No copy has barcode {code}.");
            var loan = OpenLoan(connection, transaction, copy.Id) ?? throw new LedgerException($"\"{copy.Title}\" ({code}) is not on loan; nothing to renew.");
            if (loan.Renewals >= _options.MaxRenewals)
                throw new LedgerException($"\"{copy.Title}\" was renewed {loan.Renewals} times already (the most is {_options.MaxRenewals}); it must come back to the desk.");
            var today = Calendar.DayOf(at);
            var due = (loan.DueOn > today ? loan.DueOn : today).AddDays(_options.LoanDays);
            LedgerSql.Exec(connection, transaction, "UPDATE library_loans SET due_on = $d, renewals = renewals + 1 WHERE id = $i", ("$d", LedgerSql.Day(due)), ("$i", loan.Id));
            var renewed = LoadLoan(connection, transaction, loan.Id)!;
            Emit(connection, transaction, LedgerEvents.LibraryRenewal, renewed, copy.Isbn, at);
            transaction.Commit();
            return renewed;
        }
    }

    /// <summary>Marks a lent copy lost: the loan closes as lost and the copy leaves the shelf count.</summary>
    public Loan MarkLost(string barcode, DateTimeOffset at)
    {
        string code = RequireBarcode(barcode);
        lock (_write)
        {
            using var connection = _database.Connect();
            using var transaction = connection.BeginTransaction(deferred: false);
            var copy = LoadCopy(connection, transaction, code) ?? throw new LedgerException($"No copy has barcode {code}.");
            var loan = OpenLoan(connection, transaction, copy.Id) ?? throw new LedgerException($"\"{copy.Title}\" ({code}) is not on loan; a copy on the shelf is withdrawn, not lost.");
            LedgerSql.Exec(connection, transaction, "UPDATE library_loans SET lost_at = $at WHERE id = $i", ("$at", LedgerSql.Time(at)), ("$i", loan.Id));
            LedgerSql.Exec(connection, transaction, "UPDATE library_copies SET status = 'lost' WHERE id = $c", ("$c", copy.Id));
            var lost = LoadLoan(connection, transaction, loan.Id)!;
            Emit(connection, transaction, LedgerEvents.LibraryLost, lost, copy.Isbn, at);
            transaction.Commit();
            return lost;
        }
    }

    /// <summary>The pupil's books not yet returned (lost ones included, flagged by <see cref="Loan.LostAt"/>).</summary>
    public IReadOnlyList<Loan> LoansOf(long pupilId)
    {
        using var connection = _database.Connect();
        return LedgerSql.Query(connection, null, $"{LoanSelect} WHERE l.pupil_id = $p AND l.returned_at IS NULL ORDER BY l.due_on", ReadLoan, ("$p", pupilId));
    }

    /// <summary>Loans past their due date on <paramref name="today"/>, most overdue first.</summary>
    public IReadOnlyList<OverdueLoan> Overdue(DateOnly today)
    {
        using var connection = _database.Connect();
        return LedgerSql.Query(connection, null, """
            SELECT l.id, c.barcode, t.title, l.pupil_id, p.full_name, k.name, l.due_on
            FROM library_loans l JOIN library_copies c ON c.id = l.copy_id JOIN library_titles t ON t.id = c.title_id
            JOIN pupils p ON p.id = l.pupil_id JOIN classes k ON k.id = p.class_id
            WHERE l.returned_at IS NULL AND l.lost_at IS NULL AND l.due_on < $d ORDER BY l.due_on, k.name, p.full_name
            """, r =>
            {
                var due = LedgerSql.ParseDay(r.GetString(6));
                return new OverdueLoan(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetString(4), r.GetString(5), due, today.DayNumber - due.DayNumber);
            }, ("$d", LedgerSql.Day(today)));
    }

    /// <summary>Loans closed as lost and not found since.</summary>
    public IReadOnlyList<Loan> LostItems()
    {
        using var connection = _database.Connect();
        return LedgerSql.Query(connection, null, $"{LoanSelect} WHERE l.lost_at IS NOT NULL AND l.returned_at IS NULL ORDER BY l.lost_at", ReadLoan);
    }

    /// <summary>ISBN-10 or ISBN-13 without separators, checked against its check digit.</summary>
    public static string NormaliseIsbn(string isbn)
    {
        ArgumentNullException.ThrowIfNull(isbn);
        string digits = new([.. isbn.Where(c => c is not ('-' or ' ')).Select(char.ToUpperInvariant)]);
        bool valid = digits.Length switch
        {
            13 => digits.All(char.IsAsciiDigit) && digits.Select((c, i) => (c - '0') * (i % 2 == 0 ? 1 : 3)).Sum() % 10 == 0,
            10 => digits[..9].All(char.IsAsciiDigit) && (char.IsAsciiDigit(digits[9]) || digits[9] == 'X')
                  && digits.Select((c, i) => (c == 'X' ? 10 : c - '0') * (10 - i)).Sum() % 11 == 0,
            _ => false,
        };
        if (!valid) throw new ArgumentException($"\"{isbn}\" is not a valid ISBN-10 or ISBN-13 (check digit or length); re-scan the barcode on the back cover or leave the ISBN empty.", nameof(isbn));
        return digits;
    }

    private static string RequireBarcode(string barcode)
    {
        if (string.IsNullOrWhiteSpace(barcode) || barcode.Trim().Length > 64) throw new ArgumentException("Scan the copy's barcode sticker (1..64 characters).", nameof(barcode));
        return barcode.Trim();
    }

    private static string Status(CopyStatus status) => status switch
    {
        CopyStatus.OnLoan => "on-loan",
        CopyStatus.Lost => "lost",
        CopyStatus.Withdrawn => "withdrawn",
        _ => "available",
    };

    private static void Emit(SqliteConnection connection, SqliteTransaction transaction, string type, Loan loan, string? isbn, DateTimeOffset at) =>
        LedgerOutbox.Append(connection, transaction, type, LedgerEvents.SchemaVersion, JsonSerializer.Serialize(
            new LibraryEvent(LedgerEvents.SchemaVersion, loan.Id, loan.Barcode, isbn, loan.PupilId, LedgerSql.Day(loan.DueOn), loan.Renewals, LedgerSql.Time(at)),
            LedgerJsonContext.Default.LibraryEvent), at);

    private static BookCopy? LoadCopy(SqliteConnection connection, SqliteTransaction? transaction, string barcode) =>
        LedgerSql.Query(connection, transaction, """
            SELECT c.id, c.barcode, c.title_id, t.title, t.author, t.isbn, c.status FROM library_copies c JOIN library_titles t ON t.id = c.title_id WHERE c.barcode = $b
            """, r => new BookCopy(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4), LedgerSql.NullableString(r, 5), r.GetString(6) switch
            {
                "on-loan" => CopyStatus.OnLoan,
                "lost" => CopyStatus.Lost,
                "withdrawn" => CopyStatus.Withdrawn,
                _ => CopyStatus.Available,
            }), ("$b", barcode)).FirstOrDefault();

    private const string LoanSelect = """
        SELECT l.id, c.barcode, t.title, l.pupil_id, l.loaned_at, l.due_on, l.renewals, l.returned_at, l.lost_at
        FROM library_loans l JOIN library_copies c ON c.id = l.copy_id JOIN library_titles t ON t.id = c.title_id
        """;

    private static Loan ReadLoan(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt64(3), LedgerSql.ParseTime(r.GetString(4)), LedgerSql.ParseDay(r.GetString(5)), r.GetInt32(6),
            r.IsDBNull(7) ? null : LedgerSql.ParseTime(r.GetString(7)), r.IsDBNull(8) ? null : LedgerSql.ParseTime(r.GetString(8)));

    private static Loan? LoadLoan(SqliteConnection connection, SqliteTransaction? transaction, long id) =>
        LedgerSql.Query(connection, transaction, $"{LoanSelect} WHERE l.id = $i", ReadLoan, ("$i", id)).FirstOrDefault();

    private static Loan? OpenLoan(SqliteConnection connection, SqliteTransaction? transaction, long copyId) =>
        LedgerSql.Query(connection, transaction, $"{LoanSelect} WHERE l.copy_id = $c AND l.returned_at IS NULL AND l.lost_at IS NULL", ReadLoan, ("$c", copyId)).FirstOrDefault();
}
