using System.Globalization;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Storage;

namespace Kezekshi.Edge.Biometrics.Enrolment;

/// <summary>
/// Enrols pupils from images through an <see cref="ITemplateExtractor"/>: several templates per
/// pupil, quality feedback per image, refused without a consent covering at least Access, and
/// batch enrolment of a class folder.
/// </summary>
public sealed class EnrolmentService
{
    private readonly ITemplateExtractor _extractor;
    private readonly TemplateStore _store;
    private readonly EmbeddingIndex _index;
    private readonly ConsentService _consents;
    private readonly BiometricsOptions _options;
    private readonly TimeProvider _time;

    public EnrolmentService(ITemplateExtractor extractor, TemplateStore store, EmbeddingIndex index, ConsentService consents, BiometricsOptions options, TimeProvider? time = null)
    {
        _extractor = extractor;
        _store = store;
        _index = index;
        _consents = consents;
        _options = options;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Live feedback for one image (camera preview): would it be accepted, and its quality. Nothing is stored.</summary>
    public ImageFeedback Check(RawImage image, string source = "camera")
    {
        ArgumentNullException.ThrowIfNull(image);
        return Assess(image, source, out _);
    }

    /// <summary>
    /// Enrols one pupil from several images. Throws <see cref="ConsentException"/> when no consent
    /// covers Access (or an objection is active); otherwise stores the images that pass and reports
    /// each rejected one.
    /// </summary>
    public EnrolmentResult Enrol(long pupilId, IReadOnlyList<RawImage> images, string operatorName, IReadOnlyList<string>? sources = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        BiometricsGuard.EnsureAllowed(_options, _time);
        RequireConsent(pupilId);
        var feedback = new List<ImageFeedback>(images.Count);
        var accepted = new List<NewTemplate>();
        for (int i = 0; i < images.Count; i++)
        {
            string source = sources is not null && i < sources.Count ? sources[i] : string.Create(CultureInfo.InvariantCulture, $"image {i + 1}");
            var result = Assess(images[i], source, out var extraction);
            feedback.Add(result);
            if (result.Accepted)
                accepted.Add(new NewTemplate(pupilId, _extractor.Modality, _extractor.ModelId, extraction!.Template!, extraction.Quality, _options.KeepRawImages ? images[i] : null));
        }
        if (accepted.Count == 0)
            return new EnrolmentResult(pupilId, [], feedback, []);
        var saved = _store.Save(accepted, operatorName);
        var pairs = _index.Add(saved);
        if (pairs.Count > 0)
            _store.SaveLookAlikes(pairs, _extractor.ModelId);
        var mask = _consents.EffectiveMask(pupilId);
        _index.SetPurposes(pupilId, mask);
        // A revocation that ran while this enrolment was storing deleted the rows already; the
        // fresh copies in memory must go too (the None mask above already hides them).
        if ((mask & BiometricPurpose.Access) == 0)
            _index.RemovePupil(pupilId);
        return new EnrolmentResult(pupilId, saved.Select(t => t.TemplateId).ToList(), feedback, pairs);
    }

    /// <summary>
    /// Enrols a class from a folder (naming rules: <see cref="ClassFolder"/>). Reports progress per
    /// file and returns a summary with every rejected image and why. A pupil without consent is
    /// skipped (all their images rejected with the reason); the rest of the class goes on.
    /// </summary>
    /// <param name="decoder">Reads an image file; PGM/PPM by default. Pass the face pipeline's ffmpeg decoder for JPEG/PNG.</param>
    public BatchEnrolmentSummary EnrolFolder(string folder, string operatorName, IProgress<EnrolmentProgress>? progress = null, Func<string, RawImage>? decoder = null, CancellationToken cancellation = default)
    {
        BiometricsGuard.EnsureAllowed(_options, _time);
        var classFolder = ClassFolder.Open(folder);
        decoder ??= NetpbmReader.Read;
        var rejected = new List<RejectedImage>();
        var byPupil = new Dictionary<long, List<(string File, RawImage Image)>>();
        int done = 0;
        int total = classFolder.Images.Count;
        foreach (string file in classFolder.Images)
        {
            cancellation.ThrowIfCancellationRequested();
            string name = Path.GetFileName(file);
            long? pupil = classFolder.PupilOf(file, out string? reason);
            if (pupil is null)
                rejected.Add(new RejectedImage(name, reason!));
            else
            {
                try
                {
                    var image = decoder(file);
                    (byPupil.TryGetValue(pupil.Value, out var list) ? list : byPupil[pupil.Value] = []).Add((name, image));
                }
                catch (Exception e) when (e is InvalidDataException or Imaging.ImageDecodeException)
                {
                    rejected.Add(new RejectedImage(name, e.Message));
                }
            }
            progress?.Report(new EnrolmentProgress(++done, total, name));
        }

        int pupilsEnrolled = 0;
        int templates = 0;
        foreach (var (pupil, images) in byPupil.OrderBy(kv => kv.Key))
        {
            cancellation.ThrowIfCancellationRequested();
            try
            {
                var result = Enrol(pupil, images.Select(i => i.Image).ToList(), operatorName, images.Select(i => i.File).ToList());
                rejected.AddRange(result.Images.Where(f => !f.Accepted).Select(f => new RejectedImage(f.Source, f.RejectedBecause!)));
                if (result.Enrolled)
                    pupilsEnrolled++;
                templates += result.TemplateIds.Count;
            }
            catch (ConsentException e)
            {
                rejected.AddRange(images.Select(i => new RejectedImage(i.File, e.Message)));
            }
        }
        return new BatchEnrolmentSummary(total, pupilsEnrolled, templates, rejected.OrderBy(r => r.File, StringComparer.Ordinal).ToList());
    }

    private void RequireConsent(long pupilId)
    {
        if (_consents.HasActiveObjection(pupilId))
            throw new ConsentException($"Pupil {pupilId} cannot be enrolled: an objection (by a guardian or the pupil) is recorded. Lift it in writing first, or use the card.");
        if ((_consents.EffectiveMask(pupilId) & BiometricPurpose.Access) == 0)
            throw new ConsentException($"Pupil {pupilId} cannot be enrolled: no valid guardian consent covers 'access'. Record the signed consent form (purposes, document hash, expiry) first.");
    }

    private ImageFeedback Assess(RawImage image, string source, out TemplateExtraction? extraction)
    {
        extraction = null;
        if (image.Width <= 0 || image.Height <= 0 || image.Channels is not (1 or 3) || image.Pixels.Length != image.Width * image.Height * image.Channels)
            return new ImageFeedback(source, 0, false, $"the image is damaged ({image.Width}x{image.Height}x{image.Channels} but {image.Pixels.Length} bytes)");
        extraction = _extractor.Extract(image);
        if (!extraction.Succeeded)
            return new ImageFeedback(source, extraction.Quality, false, extraction.RejectedBecause ?? "no template could be made");
        if (extraction.Template!.Length != _extractor.Dimensions)
            return new ImageFeedback(source, extraction.Quality, false, $"the extractor returned {extraction.Template.Length} values, expected {_extractor.Dimensions}");
        if (extraction.Quality < _options.MinEnrolmentQuality)
            return new ImageFeedback(source, extraction.Quality, false,
                $"quality {extraction.Quality:F2} is below {_options.MinEnrolmentQuality:F2} (Biometrics:MinEnrolmentQuality): retake with the face filling the frame, in even light, looking at the camera");
        return new ImageFeedback(source, extraction.Quality, true, null);
    }
}
