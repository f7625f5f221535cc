namespace Kezekshi.Edge.Biometrics;

/// <summary>
/// Biometrics stay OFF for a school until configuration says they are enabled AND records the data
/// protection impact assessment: its reference, who approved it and when. Every entry point
/// (loading the index, enrolment, identify at the gate) asks here first.
/// </summary>
/// <remarks>
/// Processing children's biometric data needs a DPIA before it starts (GDPR art. 35 and the
/// equivalent national rules); the gate's card and PIN path does not depend on this and keeps
/// working at the same speed for pupils without biometrics.
/// </remarks>
public static class BiometricsGuard
{
    /// <summary>True when biometrics may run; otherwise <paramref name="reason"/> names the missing setting.</summary>
    public static bool IsAllowed(BiometricsOptions options, DateOnly today, out string reason)
    {
        ArgumentNullException.ThrowIfNull(options);
        var dpia = options.Dpia;
        if (!options.Enabled)
            reason = "Biometrics are off: set Biometrics:Enabled to true (after recording the DPIA, see below).";
        else if (string.IsNullOrWhiteSpace(dpia.Reference))
            reason = "Biometrics are off until the data-protection impact assessment is recorded: set Biometrics:Dpia:Reference to the DPIA's register number.";
        else if (string.IsNullOrWhiteSpace(dpia.ApprovedBy))
            reason = $"Biometrics are off: the DPIA {dpia.Reference} has no approver. Set Biometrics:Dpia:ApprovedBy to the name and role of who approved it.";
        else if (dpia.ApprovedOn is null)
            reason = $"Biometrics are off: the DPIA {dpia.Reference} has no approval date. Set Biometrics:Dpia:ApprovedOn (yyyy-MM-dd).";
        else if (dpia.ApprovedOn > today)
            reason = $"Biometrics are off: the DPIA {dpia.Reference} approval date {dpia.ApprovedOn:yyyy-MM-dd} (Biometrics:Dpia:ApprovedOn) is in the future.";
        else
        {
            reason = $"Biometrics on: DPIA {dpia.Reference} approved by {dpia.ApprovedBy} on {dpia.ApprovedOn:yyyy-MM-dd}.";
            return true;
        }
        return false;
    }

    /// <summary>Throws <see cref="BiometricsDisabledException"/> naming the setting unless biometrics may run.</summary>
    public static void EnsureAllowed(BiometricsOptions options, TimeProvider? time = null)
    {
        var today = DateOnly.FromDateTime((time ?? TimeProvider.System).GetUtcNow().UtcDateTime);
        if (!IsAllowed(options, today, out string reason))
            throw new BiometricsDisabledException(reason);
    }
}
