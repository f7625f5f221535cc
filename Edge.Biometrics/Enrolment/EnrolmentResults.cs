using Kezekshi.Edge.Biometrics.Index;

namespace Kezekshi.Edge.Biometrics.Enrolment;

/// <summary>Quality feedback for one image: accepted, or why not (shown to the operator live).</summary>
public sealed record ImageFeedback(string Source, float Quality, bool Accepted, string? RejectedBecause);

/// <summary>The result of enrolling one pupil: stored template ids, feedback per image, look-alikes found.</summary>
public sealed record EnrolmentResult(long PupilId, IReadOnlyList<long> TemplateIds, IReadOnlyList<ImageFeedback> Images, IReadOnlyList<LookAlikePair> LookAlikes)
{
    public bool Enrolled => TemplateIds.Count > 0;
}

/// <summary>Progress of a batch enrolment, one report per file.</summary>
public sealed record EnrolmentProgress(int FilesDone, int FilesTotal, string CurrentFile);

/// <summary>An image a batch enrolment did not use, and why.</summary>
public sealed record RejectedImage(string File, string Reason);

/// <summary>What a batch enrolment of a class folder did.</summary>
public sealed record BatchEnrolmentSummary(int Files, int PupilsEnrolled, int TemplatesStored, IReadOnlyList<RejectedImage> Rejected)
{
    public override string ToString() =>
        $"{Files} files: {TemplatesStored} templates stored for {PupilsEnrolled} pupils, {Rejected.Count} images rejected" +
        string.Concat(Rejected.Select(r => $"{Environment.NewLine}  {r.File}: {r.Reason}"));
}
