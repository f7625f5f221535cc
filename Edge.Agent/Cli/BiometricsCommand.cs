using System.CommandLine;
using System.Globalization;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Recognition;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Enrolment;
using Kezekshi.Edge.Biometrics.Face;
using Kezekshi.Edge.Biometrics.Imaging;
using Kezekshi.Edge.Biometrics.Models;
using Kezekshi.Edge.Biometrics.Onnx;
using Kezekshi.Edge.Biometrics.Palm;
using Kezekshi.Edge.Biometrics.Storage;
using Microsoft.Extensions.Configuration;

namespace Kezekshi.Edge.Agent.Cli;

/// <summary>
/// <c>kezekshi-edge biometrics …</c>: what the school office and IT do with biometrics from a shell —
/// record a signed consent form, check photos, enrol a pupil or a whole class folder, withdraw, and
/// verify the audit log. It works on the same biometrics.db as the running agent, which picks the
/// changes up within seconds (<see cref="BiometricsHousekeeping"/>).
/// </summary>
public static class BiometricsCommand
{
    public static Command Create()
    {
        var command = new Command("biometrics", "Consents, enrolment and the audit log of face (and palm) templates. Nothing here works until the DPIA is recorded (Biometrics:Dpia:*).")
        {
            TreatUnmatchedTokensAsErrors = false, // --Biometrics:Key=value settings go to the configuration
        };
        var config = new Option<string?>("--config") { Description = "The configuration file (default: appsettings.json beside the executable); settings as for run.", Recursive = true };
        var modality = new Option<string>("--modality") { Description = "face (default) or palm: which pipeline check/enrol/enrol-class use (Biometrics:Face or Biometrics:Palm settings).", Recursive = true, DefaultValueFactory = _ => "face" };
        modality.AcceptOnlyFromAmong("face", "palm");
        command.Options.Add(config);
        command.Options.Add(modality);
        Context Open(ParseResult p) => Context.Load(p.GetValue(config), p.UnmatchedTokens, palm: p.GetValue(modality) == "palm");

        // verify-audit
        var verify = new Command("verify-audit", "Walk the hash chain of the biometric audit log and report the first broken row, if any. Exit code 0 = intact, 1 = broken.");
        verify.SetAction(p => Run(Console.Out, () => VerifyAudit(Open(p), Console.Out)));
        command.Subcommands.Add(verify);

        // status
        var status = new Command("status", "The DPIA record, templates and pupils enrolled, and whether the audit log is intact.");
        status.SetAction(p => Run(Console.Out, () => Status(Open(p), Console.Out)));
        command.Subcommands.Add(status);

        // check
        var checkImages = new Option<string[]>("--image") { Description = "Image file(s): JPEG, PNG, PGM/PPM.", AllowMultipleArgumentsPerToken = true };
        var checkCamera = new Option<string?>("--camera") { Description = "A camera instead of files: /dev/video0, an rtsp:// URL, or a video file." };
        var checkFrames = new Option<int>("--frames") { Description = "How many camera frames to check (one line each).", DefaultValueFactory = _ => 20 };
        var check = new Command("check", "Live quality feedback for photos or a camera, as enrolment would judge them. Nothing is stored.") { checkImages, checkCamera, checkFrames };
        check.SetAction((p, ct) => RunAsync(Console.Out, () => CheckAsync(Open(p), p.GetValue(checkImages) ?? [], p.GetValue(checkCamera), p.GetValue(checkFrames), Console.Out, ct)));
        command.Subcommands.Add(check);

        // enrol
        var pupil = new Option<long>("--pupil") { Description = "The pupil's roster ID.", Required = true };
        var images = new Option<string[]>("--image") { Description = "Photos of this pupil (several give several templates).", Required = true, AllowMultipleArgumentsPerToken = true };
        var operatorName = new Option<string>("--operator") { Description = "Who does this (recorded in the audit log), e.g. office.aigerim.", Required = true };
        var enrol = new Command("enrol", "Enrol one pupil from photos. Refused without a consent that covers access.") { pupil, images, operatorName };
        enrol.SetAction(p => Run(Console.Out, () => Enrol(Open(p), p.GetValue(pupil), p.GetValue(images)!, p.GetValue(operatorName)!, Console.Out)));
        command.Subcommands.Add(enrol);

        // enrol-class
        var folder = new Option<string>("--folder") { Description = "A folder of photos named <pupil-id>_<n>.jpg (or keys mapped by pupils.csv in the folder).", Required = true };
        var classOperator = new Option<string>("--operator") { Description = "Who does this (recorded in the audit log).", Required = true };
        var enrolClass = new Command("enrol-class", "Enrol a class from a folder with a progress bar; ends with a summary of every rejected image and why.") { folder, classOperator };
        enrolClass.SetAction((p, ct) => RunAsync(Console.Out, () => Task.FromResult(EnrolClass(Open(p), p.GetValue(folder)!, p.GetValue(classOperator)!, Console.Out, ct))));
        command.Subcommands.Add(enrolClass);

        command.Subcommands.Add(ConsentCommand(Open));
        return command;
    }

    private static Command ConsentCommand(Func<ParseResult, Context> open)
    {
        var consent = new Command("consent", "Record a signed consent form, an objection, or a withdrawal; show a pupil's consent.");
        var pupil = new Option<long>("--pupil") { Description = "The pupil's roster ID.", Required = true };
        var operatorName = new Option<string>("--operator") { Description = "Who records it (audit log).", Required = true };

        var guardianId = new Option<string>("--guardian-id") { Description = "The guardian's ID (as in the centre's roster).", Required = true };
        var guardianName = new Option<string>("--guardian-name") { Description = "The guardian's full name as signed.", Required = true };
        var purposes = new Option<string>("--purposes") { Description = "Comma-separated: access,attendance,safety — or canteen-payment alone, or library alone (each needs its own form).", Required = true };
        var document = new Option<string>("--document-sha256") { Description = "SHA-256 of the scanned signed form (sha256sum form.pdf).", Required = true };
        var expires = new Option<string>("--expires") { Description = "Expiry date, yyyy-mm-dd.", Required = true };
        var crossBorder = new Option<bool>("--allow-cross-border") { Description = "The guardian allows transfer abroad (default: not allowed)." };
        var grant = new Command("grant", "Record a guardian's signed consent form.") { pupil, guardianId, guardianName, purposes, document, expires, operatorName, crossBorder };
        grant.SetAction(p => Run(Console.Out, () => Grant(open(p), p.GetValue(pupil), p.GetValue(guardianId)!, p.GetValue(guardianName)!, p.GetValue(purposes)!, p.GetValue(document)!, p.GetValue(expires)!, p.GetValue(operatorName)!, !p.GetValue(crossBorder), Console.Out)));
        consent.Subcommands.Add(grant);

        var objectGuardian = new Option<string?>("--guardian-id") { Description = "The guardian who objects." };
        var byPupil = new Option<bool>("--by-pupil") { Description = "The pupil objects." };
        var note = new Option<string>("--note") { Description = "What was said or written, for the record.", Required = true };
        var objectCommand = new Command("object", "Record an objection: biometrics stop for this pupil at once and their templates are deleted.") { pupil, objectGuardian, byPupil, operatorName, note };
        objectCommand.SetAction(p => Run(Console.Out, () => Object(open(p), p.GetValue(pupil), p.GetValue(byPupil), p.GetValue(objectGuardian), p.GetValue(operatorName)!, p.GetValue(note)!, Console.Out)));
        consent.Subcommands.Add(objectCommand);

        var revokeGuardian = new Option<string?>("--guardian-id") { Description = "Whose consent is withdrawn (default: every guardian's)." };
        var revokePurposes = new Option<string?>("--purposes") { Description = "What is withdrawn (default: everything; withdrawing access deletes the templates)." };
        var reason = new Option<string>("--reason") { Description = "Why, for the record.", Required = true };
        var revoke = new Command("revoke", "Withdraw consent (all or some purposes).") { pupil, revokeGuardian, revokePurposes, operatorName, reason };
        revoke.SetAction(p => Run(Console.Out, () => Revoke(open(p), p.GetValue(pupil), p.GetValue(revokeGuardian), p.GetValue(revokePurposes), p.GetValue(operatorName)!, p.GetValue(reason)!, Console.Out)));
        consent.Subcommands.Add(revoke);

        var show = new Command("show", "The purposes a pupil may be matched for, objections, and templates stored.") { pupil };
        show.SetAction(p => Run(Console.Out, () => Show(open(p), p.GetValue(pupil), Console.Out)));
        consent.Subcommands.Add(show);
        return consent;
    }

    /// <summary>The configuration, opened module and (when asked) the face or palm pipeline for one command.</summary>
    internal sealed class Context(BiometricsModule module, Func<ITemplateExtractor> createExtractor, string dataDirectory) : IDisposable
    {
        private ITemplateExtractor? _extractor;

        public BiometricsModule Module { get; } = module;
        public string DataDirectory { get; } = dataDirectory;

        public ITemplateExtractor Extractor => _extractor ??= createExtractor();

        public EnrolmentService Enrolment() => Module.Enrolment(Extractor);

        public static Context Load(string? configPath, IReadOnlyList<string> settings, bool environmentVariables = true, bool palm = false)
        {
            var loaded = AgentConfiguration.Load(configPath, settings, environmentVariables);
            var options = loaded.Configuration.GetSection(BiometricsOptions.Section).Get<BiometricsOptions>() ?? new BiometricsOptions();
            if (!options.Enabled)
                throw new BiometricsDisabledException($"Biometrics are off in {loaded.ConfigFile} (Biometrics:Enabled is not true). Record the DPIA (Biometrics:Dpia:Reference, ApprovedBy, ApprovedOn) and set Biometrics:Enabled to true first.");
            Func<ITemplateExtractor> create = palm
                ? () => PalmTemplateExtractor.Create(loaded.Configuration.GetSection("Biometrics:Palm").Get<PalmPipelineOptions>() ?? new PalmPipelineOptions())
                : () => FaceTemplateExtractor.Create(loaded.Configuration.GetSection(FaceRecognition.Section).Get<FacePipelineOptions>() ?? new FacePipelineOptions());
            return new Context(BiometricsModule.Open(options, loaded.Options.DataDirectory), create, loaded.Options.DataDirectory);
        }

        public void Dispose()
        {
            (_extractor as IDisposable)?.Dispose();
            Module.Dispose();
        }
    }

    /// <summary>Runs a subcommand; a problem the user can fix is printed (exit code 2), anything else is a bug and propagates.</summary>
    internal static int Run(TextWriter output, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (IsUserProblem(e))
        {
            output.WriteLine(e.Message);
            return 2;
        }
    }

    private static async Task<int> RunAsync(TextWriter output, Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (Exception e) when (IsUserProblem(e))
        {
            output.WriteLine(e.Message);
            return 2;
        }
    }

    private static bool IsUserProblem(Exception e) => e is AgentConfigurationException or BiometricsDisabledException or BiometricsStoreException
        or ConsentException or ModelIntegrityException or OnnxRuntimeException or ImageDecodeException or InvalidDataException
        or DirectoryNotFoundException or FileNotFoundException or ArgumentException;

    internal static int VerifyAudit(Context context, TextWriter output)
    {
        using (context)
        {
            var result = context.Module.Audit.Verify();
            output.WriteLine(result.IsIntact
                ? $"Audit log intact: {result.EntriesChecked} entries, every hash links to the one before."
                : $"AUDIT LOG BROKEN at entry {result.FirstBrokenSeq}: {result.Message} ({result.EntriesChecked} entries checked). Keep a copy of biometrics.db for the data-protection officer before changing anything.");
            return result.IsIntact ? 0 : 1;
        }
    }

    internal static int Status(Context context, TextWriter output)
    {
        using (context)
        {
            var options = context.Module.Options;
            var audit = context.Module.Audit.Verify();
            output.WriteLine($"DPIA: {options.Dpia.Reference}, approved by {options.Dpia.ApprovedBy} on {options.Dpia.ApprovedOn:yyyy-MM-dd}");
            output.WriteLine($"Templates: {context.Module.Store.Count()} for {context.Module.Store.PupilsWithTemplates().Count} pupil(s); unused templates expire after {options.UnusedTemplateExpiryDays} days");
            output.WriteLine($"Audit log: {(audit.IsIntact ? "intact" : "BROKEN at entry " + audit.FirstBrokenSeq)}, {audit.EntriesChecked} entries");
            return audit.IsIntact ? 0 : 1;
        }
    }

    internal static async Task<int> CheckAsync(Context context, IReadOnlyList<string> files, string? camera, int frames, TextWriter output, CancellationToken cancellation)
    {
        using (context)
        {
            if (files.Count == 0 && camera is null)
                throw new ArgumentException("Name the photos with --image, or a camera with --camera.");
            var enrolment = context.Enrolment();
            int good = 0, seen = 0;
            foreach (var file in files)
            {
                seen++;
                RawImage image;
                try
                {
                    image = Decode(file);
                }
                catch (Exception e) when (e is ImageDecodeException or InvalidDataException or FileNotFoundException)
                {
                    Report(new ImageFeedback(Path.GetFileName(file), 0, false, e.Message), output);
                    continue;
                }
                good += Report(enrolment.Check(image, Path.GetFileName(file)), output);
            }
            if (camera is not null)
            {
                var source = new FfmpegCaptureSource(new CaptureOptions(camera, FramesPerSecond: 5));
                await foreach (var frame in source.ReadFramesAsync(cancellation).ConfigureAwait(false))
                {
                    good += Report(enrolment.Check(frame, $"frame {seen + 1}"), output);
                    if (++seen >= frames)
                        break;
                }
            }
            output.WriteLine($"{good} of {seen} good enough to enrol.");
            return good > 0 ? 0 : 1;
        }
    }

    internal static int Enrol(Context context, long pupil, IReadOnlyList<string> files, string operatorName, TextWriter output)
    {
        using (context)
        {
            var images = new List<RawImage>();
            var sources = new List<string>();
            foreach (var file in files)
            {
                try
                {
                    images.Add(Decode(file));
                    sources.Add(Path.GetFileName(file));
                }
                catch (Exception e) when (e is ImageDecodeException or InvalidDataException or FileNotFoundException)
                {
                    Report(new ImageFeedback(Path.GetFileName(file), 0, false, e.Message), output);
                }
            }
            if (images.Count == 0)
            {
                output.WriteLine($"Pupil {pupil}: nothing stored; no image could be read.");
                return 1;
            }
            var result = context.Enrolment().Enrol(pupil, images, operatorName, sources);
            foreach (var feedback in result.Images)
                Report(feedback, output);
            foreach (var pair in result.LookAlikes)
                output.WriteLine($"Look-alike: pupils {pair.PupilA} and {pair.PupilB} score {pair.Score:0.000}; the gate will ask either of them for the card as well.");
            output.WriteLine(result.Enrolled
                ? $"Pupil {pupil}: {result.TemplateIds.Count} template(s) stored. The running agent loads them within {BiometricsHousekeeping.ReloadInterval.TotalSeconds:0} s."
                : $"Pupil {pupil}: nothing stored; every image was rejected (see above).");
            return result.Enrolled ? 0 : 1;
        }
    }

    internal static int EnrolClass(Context context, string folder, string operatorName, TextWriter output, CancellationToken cancellation)
    {
        using (context)
        {
            var progress = new ProgressBar(output, interactive: ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected);
            var summary = context.Enrolment().EnrolFolder(folder, operatorName, progress, Decode, cancellation);
            progress.Finish();
            output.WriteLine(summary);
            output.WriteLine($"The running agent loads the new templates within {BiometricsHousekeeping.ReloadInterval.TotalSeconds:0} s.");
            return summary.TemplatesStored > 0 ? 0 : 1;
        }
    }

    internal static int Grant(Context context, long pupil, string guardianId, string guardianName, string purposes, string document, string expires, string operatorName, bool noCrossBorder, TextWriter output)
    {
        using (context)
        {
            var mask = ParsePurposes(purposes);
            if (!DateOnly.TryParseExact(expires, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var expiry))
                throw new ArgumentException($"--expires '{expires}' is not a date like 2027-08-31.");
            var now = context.Module.Time.GetUtcNow();
            context.Module.Consents.RecordGrant(new ConsentGrant(pupil, guardianId, guardianName, now, document.Trim().ToLowerInvariant(), mask,
                new DateTimeOffset(expiry.ToDateTime(new TimeOnly(23, 59, 59)), TimeSpan.Zero), operatorName, noCrossBorder));
            output.WriteLine($"Consent recorded for pupil {pupil} ({PurposeNames.Of(mask)}) until {expiry:yyyy-MM-dd}. The pupil may now be matched for: {Describe(context.Module.Consents.EffectiveMask(pupil), "nothing yet")}.");
            return 0;
        }
    }

    internal static int Object(Context context, long pupil, bool byPupil, string? guardianId, string operatorName, string note, TextWriter output)
    {
        using (context)
        {
            var receipt = context.Module.Consents.RecordObjection(new Objection(pupil, byPupil, guardianId, operatorName, note));
            output.WriteLine($"Objection recorded for pupil {pupil}: no biometric matching for any purpose. Deleted: {receipt.What} (receipt {receipt.Id}, SHA-256 {receipt.Sha256}).");
            return 0;
        }
    }

    internal static int Revoke(Context context, long pupil, string? guardianId, string? purposes, string operatorName, string reason, TextWriter output)
    {
        using (context)
        {
            var mask = purposes is null ? ConsentPolicy.AllowedPurposes : ParsePurposes(purposes);
            var receipt = context.Module.Consents.Revoke(new Revocation(pupil, guardianId, operatorName, reason, mask));
            output.WriteLine($"Withdrawn for pupil {pupil}: {PurposeNames.Of(mask)}. Still allowed: {Describe(context.Module.Consents.EffectiveMask(pupil), "nothing")}." +
                (receipt is null ? "" : $" Templates deleted (receipt {receipt.Id}, SHA-256 {receipt.Sha256})."));
            return 0;
        }
    }

    internal static int Show(Context context, long pupil, TextWriter output)
    {
        using (context)
        {
            var consents = context.Module.Consents;
            output.WriteLine($"Pupil {pupil}: may be matched for {Describe(consents.EffectiveMask(pupil), "nothing")}{(consents.HasActiveObjection(pupil) ? "; an OBJECTION is recorded" : "")}; {context.Module.Store.Count(pupil)} template(s) stored.");
            return 0;
        }
    }

    private static string Describe(BiometricPurpose mask, string none) => mask == BiometricPurpose.None ? none : PurposeNames.Of(mask);

    private static BiometricPurpose ParsePurposes(string text)
    {
        var mask = BiometricPurpose.None;
        foreach (var name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            mask |= PurposeNames.Parse(name) ?? throw new ArgumentException($"'{name}' is not a biometric purpose. Use: {string.Join(", ", PurposeNames.All.Select(p => p.Name))}.");
        return mask;
    }

    /// <summary>PGM/PPM are read directly (the ORL set, ffmpeg output); anything else goes through ffmpeg.</summary>
    private static RawImage Decode(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".pgm" or ".ppm" ? NetpbmReader.Read(path) : new FfmpegImageDecoder().DecodeFile(path);

    private static int Report(ImageFeedback feedback, TextWriter output)
    {
        output.WriteLine(feedback.Accepted
            ? $"  ok    {feedback.Source}: quality {feedback.Quality:0.00}"
            : $"  retake {feedback.Source}: {feedback.RejectedBecause}");
        return feedback.Accepted ? 1 : 0;
    }

    /// <summary>A one-line bar redrawn in place on a terminal; a line per tenth when the output goes to a file or a log.</summary>
    private sealed class ProgressBar(TextWriter output, bool interactive) : IProgress<EnrolmentProgress>
    {
        private int _lastTenth = -1;

        public void Report(EnrolmentProgress value)
        {
            int width = 30;
            int filled = value.FilesTotal == 0 ? width : value.FilesDone * width / value.FilesTotal;
            string line = $"[{new string('#', filled)}{new string('.', width - filled)}] {value.FilesDone}/{value.FilesTotal} {value.CurrentFile}";
            if (interactive)
            {
                output.Write("\r" + line.PadRight(79));
                return;
            }
            int tenth = value.FilesTotal == 0 ? 10 : value.FilesDone * 10 / value.FilesTotal;
            if (tenth != _lastTenth)
            {
                _lastTenth = tenth;
                output.WriteLine(line);
            }
        }

        public void Finish()
        {
            if (interactive)
                output.WriteLine();
        }
    }
}
