using System.ComponentModel;
using System.Diagnostics;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Recognition;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Face;
using Kezekshi.Edge.Biometrics.Models;
using Kezekshi.Edge.Biometrics.Onnx;
using Kezekshi.Edge.Biometrics.Storage;
using Microsoft.Extensions.Configuration;

namespace Kezekshi.Edge.Agent.Diagnostics;

/// <summary>
/// <c>doctor</c>'s biometric lines: the DPIA record, ONNX Runtime, the models and their SHA-256,
/// ffmpeg, biometrics.db with its key and an intact audit chain. Only run when the school turned
/// biometrics on; the card path never depends on any of them.
/// </summary>
internal static class BiometricsDoctor
{
    public static void Check(IConfiguration configuration, EdgeOptions edge, List<DoctorCheck> checks)
    {
        var options = configuration.GetSection(BiometricsOptions.Section).Get<BiometricsOptions>() ?? new BiometricsOptions();
        if (!options.Enabled)
        {
            checks.Add(new DoctorCheck(DoctorStatus.Info, "biometrics", "off (Biometrics:Enabled is not true): cards and PINs only"));
            return;
        }
        try
        {
            BiometricsGuard.EnsureAllowed(options, TimeProvider.System);
            checks.Add(new DoctorCheck(DoctorStatus.Ok, "biometrics", $"DPIA {options.Dpia.Reference} approved by {options.Dpia.ApprovedBy} on {options.Dpia.ApprovedOn:yyyy-MM-dd}"));
        }
        catch (BiometricsDisabledException e)
        {
            checks.Add(new DoctorCheck(DoctorStatus.Fail, "biometrics", e.Message));
            return;
        }

        var face = configuration.GetSection(FaceRecognition.Section).Get<FacePipelineOptions>() ?? new FacePipelineOptions();
        try
        {
            OnnxRuntime.Load(face.Runtime);
            checks.Add(new DoctorCheck(DoctorStatus.Ok, "onnx runtime", $"{OnnxRuntime.Version} from {OnnxRuntime.LibraryPath}"));
        }
        catch (OnnxRuntimeException e)
        {
            checks.Add(new DoctorCheck(DoctorStatus.Fail, "onnx runtime", e.Message, "run tools/setup.sh (it unpacks ONNX Runtime from npm), or set Biometrics:Face:Runtime:LibraryPath"));
        }
        try
        {
            var manifest = ModelManifest.Load(face.ManifestPath, face.ModelsFolder);
            foreach (var name in new[] { face.DetectorModel, face.EmbedderModel })
                checks.Add(new DoctorCheck(DoctorStatus.Ok, $"model {name}", $"{manifest.VerifiedPath(name)} matches its SHA-256 in {manifest.ManifestPath}"));
        }
        catch (Exception e) when (e is ModelIntegrityException or KeyNotFoundException)
        {
            checks.Add(new DoctorCheck(DoctorStatus.Fail, "models", e.Message));
        }
        checks.Add(CheckFfmpeg());

        try
        {
            using var module = BiometricsModule.Open(options, edge.DataDirectory);
            var audit = module.Audit.Verify();
            checks.Add(audit.IsIntact
                ? new DoctorCheck(DoctorStatus.Ok, "biometrics.db", $"{module.Store.Count()} template(s) for {module.Store.PupilsWithTemplates().Count} pupil(s); audit log intact ({audit.EntriesChecked} entries)")
                : new DoctorCheck(DoctorStatus.Fail, "biometrics.db", $"the audit log is broken at entry {audit.FirstBrokenSeq}: {audit.Message}", "keep a copy of biometrics.db and tell the data-protection officer before changing anything"));
        }
        catch (BiometricsStoreException e)
        {
            checks.Add(new DoctorCheck(DoctorStatus.Fail, "biometrics.db", e.Message));
        }
    }

    private static DoctorCheck CheckFfmpeg()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("ffmpeg", ["-hide_banner", "-version"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
            string first = process.StandardOutput.ReadLine() ?? "";
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0
                ? new DoctorCheck(DoctorStatus.Ok, "ffmpeg", first)
                : new DoctorCheck(DoctorStatus.Fail, "ffmpeg", $"ffmpeg -version exited with {process.ExitCode}", "reinstall it: sudo apt-get install --reinstall ffmpeg");
        }
        catch (Win32Exception)
        {
            return new DoctorCheck(DoctorStatus.Fail, "ffmpeg", "ffmpeg is not installed: cameras and photo enrolment need it", "sudo apt-get install ffmpeg (tools/setup.sh installs it)");
        }
    }
}
