namespace Kezekshi.Edge.Biometrics.Consent;

/// <summary>
/// The consent rules, in one place: which grants are valid, and the effective purpose mask of a
/// pupil that the index enforces.
/// </summary>
/// <remarks>
/// Rules: purposes are a subset of {access, attendance, safety, canteen-payment, library};
/// canteen-payment and library each need their own explicit grant (a form that grants only that
/// purpose), so agreeing to the gate never implies agreeing to payments or the library; an
/// expired or withdrawn grant counts for nothing; ANY active objection — by any guardian, or by the
/// pupil — blocks every purpose, whatever the other guardian signed.
/// </remarks>
public static class ConsentPolicy
{
    public const BiometricPurpose AllowedPurposes = BiometricPurpose.Access | BiometricPurpose.Attendance | BiometricPurpose.Safety | BiometricPurpose.CanteenPayment | BiometricPurpose.Library;

    /// <summary>Purposes that need a form of their own.</summary>
    public const BiometricPurpose SeparatelyConsentedPurposes = BiometricPurpose.CanteenPayment | BiometricPurpose.Library;

    /// <summary>Throws <see cref="ConsentException"/> saying what is wrong with the grant.</summary>
    public static void Validate(ConsentGrant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        if (grant.Purposes == BiometricPurpose.None)
            throw new ConsentException($"The consent for pupil {grant.PupilId} grants no purpose. Tick at least one of: access, attendance, safety, canteen-payment, library.");
        if ((grant.Purposes & ~AllowedPurposes) != 0)
            throw new ConsentException($"The consent for pupil {grant.PupilId} names a purpose that does not exist ({(byte)grant.Purposes:X2}). Only access, attendance, safety, canteen-payment and library may be granted.");
        foreach (var separate in new[] { BiometricPurpose.CanteenPayment, BiometricPurpose.Library })
            if ((grant.Purposes & separate) != 0 && grant.Purposes != separate)
                throw new ConsentException($"'{PurposeNames.Of(separate)}' needs its own consent form: record it as a separate consent with only '{PurposeNames.Of(separate)}' ticked and that form's document hash.");
        if (string.IsNullOrWhiteSpace(grant.GuardianId) || string.IsNullOrWhiteSpace(grant.GuardianName))
            throw new ConsentException($"The consent for pupil {grant.PupilId} has no guardian. Enter the guardian's id and name as on the signed form.");
        if (string.IsNullOrWhiteSpace(grant.Operator))
            throw new ConsentException("Who recorded the consent is missing: enter the operator's login.");
        if (grant.DocumentSha256 is not { Length: 64 } || !grant.DocumentSha256.All(char.IsAsciiHexDigit))
            throw new ConsentException($"The document hash of the consent for pupil {grant.PupilId} must be the 64-character SHA-256 of the scanned signed form (sha256sum form.pdf).");
        if (grant.ExpiresAt <= grant.GivenAt)
            throw new ConsentException($"The consent for pupil {grant.PupilId} expires ({grant.ExpiresAt:yyyy-MM-dd}) before it was given ({grant.GivenAt:yyyy-MM-dd}). Check the dates on the form.");
    }

    /// <summary>
    /// The purposes a pupil's templates may be matched for at <paramref name="now"/>: the union of
    /// the active grants, or None if any objection is active.
    /// </summary>
    public static BiometricPurpose EffectiveMask(IEnumerable<ConsentGrant> activeGrants, int activeObjections, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(activeGrants);
        if (activeObjections > 0)
            return BiometricPurpose.None;
        var mask = BiometricPurpose.None;
        foreach (var grant in activeGrants)
            if (grant.GivenAt <= now && now < grant.ExpiresAt)
                mask |= grant.Purposes & AllowedPurposes;
        return mask;
    }
}
