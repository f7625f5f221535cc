namespace Kezekshi.Edge.Agent.Ledgers.Library;

/// <summary>The library's lending rules.</summary>
public sealed record LibraryOptions
{
    /// <summary>Days a loan (and each renewal) runs.</summary>
    public int LoanDays { get; init; } = 14;

    /// <summary>How often a loan may be renewed.</summary>
    public int MaxRenewals { get; init; } = 2;

    /// <summary>How many books a pupil may hold at once.</summary>
    public int MaxLoansPerPupil { get; init; } = 5;
}

/// <summary>A catalogued title; <see cref="Copies"/> and <see cref="Available"/> count its physical copies.</summary>
public sealed record BookTitle(long Id, string? Isbn, string Title, string Author, int Copies, int Available);

/// <summary>The state of one physical copy.</summary>
public enum CopyStatus { Available, OnLoan, Lost, Withdrawn }

/// <summary>A physical copy, identified by the barcode sticker.</summary>
public sealed record BookCopy(long Id, string Barcode, long TitleId, string Title, string Author, string? Isbn, CopyStatus Status);

/// <summary>A loan of one copy to one pupil.</summary>
public sealed record Loan(long Id, string Barcode, string Title, long PupilId, DateTimeOffset LoanedAt, DateOnly DueOn, int Renewals,
    DateTimeOffset? ReturnedAt, DateTimeOffset? LostAt);

/// <summary>A line of the overdue list.</summary>
public sealed record OverdueLoan(long LoanId, string Barcode, string Title, long PupilId, string PupilName, string ClassName, DateOnly DueOn, int DaysOverdue);
