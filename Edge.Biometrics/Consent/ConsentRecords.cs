namespace Kezekshi.Edge.Biometrics.Consent;

/// <summary>
/// A guardian's signed consent for one pupil: which purposes, on which document, until when, and
/// who recorded it. One row per pupil per guardian per form.
/// </summary>
/// <param name="DocumentSha256">SHA-256 (hex) of the scanned, signed form; the form itself is kept by the school office.</param>
/// <param name="NoCrossBorder">The guardian forbids any transfer of this pupil's biometric data out of the country. Templates never leave the gate PC anyway; the flag travels with sync events so the centre honours it for everything derived.</param>
public sealed record ConsentGrant(
    long PupilId,
    string GuardianId,
    string GuardianName,
    DateTimeOffset GivenAt,
    string DocumentSha256,
    BiometricPurpose Purposes,
    DateTimeOffset ExpiresAt,
    string Operator,
    bool NoCrossBorder);

/// <summary>An objection to any biometric processing of a pupil, by a guardian or by the pupil.</summary>
public sealed record Objection(long PupilId, bool ByPupil, string? GuardianId, string Operator, string Note);

/// <summary>A request to withdraw consent: all of it, or some purposes.</summary>
/// <param name="GuardianId">Whose grants are withdrawn; null withdraws every guardian's (e.g. a court order).</param>
/// <param name="Purposes">What is withdrawn; withdrawing Access (or everything) deletes the templates.</param>
public sealed record Revocation(long PupilId, string? GuardianId, string Operator, string Reason, BiometricPurpose Purposes = ConsentPolicy.AllowedPurposes);

/// <summary>Proof that a pupil's biometric data was deleted: what, when, by whom, why, and a hash of what was deleted.</summary>
public sealed record DeletionReceipt(long Id, long PupilId, string What, string Reason, DateTimeOffset DeletedAt, string DeletedBy, string Sha256);

/// <summary>Consent was refused or is not valid; the message tells the office what to do.</summary>
public sealed class ConsentException : Exception
{
    public ConsentException() { }
    public ConsentException(string message) : base(message) { }
    public ConsentException(string message, Exception inner) : base(message, inner) { }
}
