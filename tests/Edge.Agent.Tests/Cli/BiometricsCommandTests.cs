using Kezekshi.Edge.Agent.Cli;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Recognition;
using Kezekshi.Edge.Agent.Store;
using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Enrolment;
using Kezekshi.Edge.Biometrics.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Kezekshi.Edge.Agent.Tests.Cli;

/// <summary>
/// <c>kezekshi-edge biometrics …</c> with the real face pipeline (ONNX Runtime + converted models from
/// tools/setup.sh) on ORL images (credit: the Olivetti Research Laboratory), a real biometrics.db, and an
/// agent-side module open at the same time, as on a gate PC where IT enrols while the gates run.
/// </summary>
[TestFixture]
[Category("Integration")]
public sealed class BiometricsCommandTests
{
    private TempDirectory _dir = null!;
    private string _config = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory();
        _config = _dir.File("appsettings.json");
        File.WriteAllText(_config, $$"""
            { "Edge": { "SchoolId": "kz-test-001", "DataDirectory": "{{_dir.File("data")}}" },
              "Biometrics": { "Enabled": true, "Dpia": { "Reference": "DPIA-TEST-1", "ApprovedBy": "Head teacher", "ApprovedOn": "2026-09-01" } } }
            """);
    }

    [TearDown]
    public void TearDown()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private BiometricsCommand.Context Open() => BiometricsCommand.Context.Load(_config, [], environmentVariables: false);

    private (int Code, string Output) Cli(Func<BiometricsCommand.Context, TextWriter, int> command)
    {
        using var output = new StringWriter();
        int code = BiometricsCommand.Run(output, () => command(Open(), output));
        TestContext.Out.WriteLine(output);
        return (code, output.ToString());
    }

    private int Grant(long pupil, string purposes) =>
        Cli((c, o) => BiometricsCommand.Grant(c, pupil, "g-" + pupil, "Guardian of " + pupil, purposes, new string('b', 64), "2027-08-31", "office.aigerim", noCrossBorder: true, o)).Code;

    [Test]
    public void A_class_folder_is_enrolled_with_a_summary_of_every_rejected_image_and_why()
    {
        string folder = Directory.CreateDirectory(_dir.File("class-7b")).FullName;
        OrlFace.WritePadded(5, 1, Path.Combine(folder, "105_1.pgm"));
        OrlFace.WritePadded(5, 2, Path.Combine(folder, "105_2.pgm"));
        OrlFace.WritePadded(7, 1, Path.Combine(folder, "107_1.pgm"));
        File.WriteAllText(Path.Combine(folder, "105_3.pgm"), "not a picture");
        File.WriteAllText(Path.Combine(folder, "anna.pgm"), "P5\n1 1\n255\n\0");
        Assert.That(Grant(105, "access,attendance"), Is.Zero);

        var (code, output) = Cli((c, o) => BiometricsCommand.EnrolClass(c, folder, "it.bolat", o, CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero);
            Assert.That(output, Does.Contain("2 templates stored for 1 pupils"));
            Assert.That(output, Does.Contain("105_3.pgm:"), "the corrupt file is named");
            Assert.That(output, Does.Match(@"107_1\.pgm: .*no valid guardian consent covers 'access'"), "no consent: refused with the reason, the class goes on");
            Assert.That(output, Does.Match("anna.pgm: .*"), "a name that is no pupil id is rejected, never guessed");
            Assert.That(output, Does.Contain("5/5"), "progress reaches the end");
        });
        using var context = Open();
        Assert.That(context.Module.Store.Count(105), Is.EqualTo(2));
        Assert.That(context.Module.Store.Count(107), Is.Zero);
    }

    [Test]
    public void Consent_purposes_are_checked_and_an_objection_deletes_the_templates_with_a_receipt()
    {
        Assert.That(Grant(105, "access,marketing"), Is.EqualTo(2), "there is no marketing purpose");
        var bundled = Cli((c, o) => BiometricsCommand.Grant(c, 105, "g", "G", "access,canteen-payment", new string('b', 64), "2027-08-31", "office", true, o));
        Assert.That(bundled.Code, Is.EqualTo(2));
        Assert.That(bundled.Output, Does.Contain("canteen-payment"), "canteen-payment needs its own form");
        Assert.That(Grant(105, "access"), Is.Zero);
        string face = _dir.File("105.pgm");
        OrlFace.WritePadded(5, 3, face);
        Assert.That(Cli((c, o) => BiometricsCommand.Enrol(c, 105, [face], "it.bolat", o)).Code, Is.Zero);

        var (code, output) = Cli((c, o) => BiometricsCommand.Object(c, 105, byPupil: false, "g-father", "office.aigerim", "father objects in writing", o));

        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain("receipt").And.Contain("1 templates"));
        Assert.That(Cli((c, o) => BiometricsCommand.Show(c, 105, o)).Output, Does.Contain("matched for nothing").And.Contain("OBJECTION").And.Contain("0 template(s)"));
        Assert.That(Cli((c, o) => BiometricsCommand.Enrol(c, 105, [face], "it.bolat", o)).Code, Is.Not.Zero, "no enrolment while the objection stands");
    }

    [Test]
    public void Verify_audit_passes_on_an_intact_log_and_names_the_first_tampered_entry()
    {
        Assert.That(Grant(105, "access"), Is.Zero);
        Assert.That(Grant(106, "attendance,access"), Is.Zero);
        var intact = Cli(BiometricsCommand.VerifyAudit);
        Assert.That(intact.Code, Is.Zero);
        Assert.That(intact.Output, Does.Contain("intact"));

        using (var context = Open())
        using (var connection = context.Module.Database.Connect())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "DROP TRIGGER audit_log_is_append_only_update";
            command.ExecuteNonQuery();
            command.CommandText = "UPDATE audit_log SET subject = 'pupil:999' WHERE subject = 'pupil:105' AND action = 'consent-grant'";
            Assert.That(command.ExecuteNonQuery(), Is.EqualTo(1));
        }
        var broken = Cli(BiometricsCommand.VerifyAudit);

        Assert.That(broken.Code, Is.EqualTo(1));
        Assert.That(broken.Output, Does.Match(@"AUDIT LOG BROKEN at entry \d+"));
    }

    [Test]
    public void The_running_agent_picks_up_a_class_enrolled_from_the_command_line_and_a_withdrawal()
    {
        Assert.That(Grant(105, "access"), Is.Zero);
        var loaded = Open();
        using var agentModule = loaded.Module; // what the running agent holds
        var housekeeping = new BiometricsHousekeeping(agentModule, Options.Create(new EdgeOptions { DataDirectory = _dir.File("data") }), NullLogger<BiometricsHousekeeping>.Instance);
        housekeeping.RunOnce();
        Assert.That(agentModule.Index.Count, Is.Zero);

        string face = _dir.File("105.pgm");
        OrlFace.WritePadded(5, 4, face);
        Assert.That(Cli((c, o) => BiometricsCommand.Enrol(c, 105, [face], "it.bolat", o)).Code, Is.Zero);
        housekeeping.RunOnce();
        Assert.That(agentModule.Index.Count, Is.EqualTo(1), "enrolled by another process: the agent's index reloads");
        Assert.That(agentModule.Index.PurposesOf(105), Is.EqualTo(BiometricPurpose.Access));

        Assert.That(Cli((c, o) => BiometricsCommand.Revoke(c, 105, null, null, "office.aigerim", "guardian withdrew", o)).Code, Is.Zero);
        housekeeping.RunOnce();
        Assert.That(agentModule.Index.Count, Is.Zero, "withdrawn in another process: gone from the agent's memory");
        Assert.That(agentModule.Index.PurposesOf(105), Is.EqualTo(BiometricPurpose.None));
    }

    [Test]
    public void The_retention_sweep_deletes_the_templates_of_a_pupil_who_left()
    {
        var edge = new EdgeOptions { DataDirectory = _dir.File("data") };
        using (var db = EdgeDatabase.Open(edge.ResolvedDatabasePath).Connect())
        using (var command = db.CreateCommand())
        {
            command.CommandText = "INSERT INTO classes(id, name, grade) VALUES (1, '7B', 7); INSERT INTO pupils(id, class_id, full_name, status) VALUES (105, 1, 'Aruzhan S', 'left')";
            command.ExecuteNonQuery();
        }
        Assert.That(Grant(105, "access"), Is.Zero);
        string face = _dir.File("105.pgm");
        OrlFace.WritePadded(5, 5, face);
        Assert.That(Cli((c, o) => BiometricsCommand.Enrol(c, 105, [face], "it.bolat", o)).Code, Is.Zero);
        using var context = Open();
        var housekeeping = new BiometricsHousekeeping(context.Module, Options.Create(edge), NullLogger<BiometricsHousekeeping>.Instance);

        housekeeping.RunOnce();

        Assert.That(context.Module.Store.Count(105), Is.Zero);
        Assert.That(context.Module.Store.Receipts(105), Has.Count.EqualTo(1));
        Assert.That(context.Module.Store.Receipts(105)[0].Reason, Does.Contain("left"));
    }

    [Test]
    public void Doctor_checks_the_DPIA_runtime_models_ffmpeg_and_audit_chain_and_names_a_tampered_model()
    {
        var healthy = new Kezekshi.Edge.Agent.Diagnostics.Doctor().Run(AgentConfiguration.Load(_config, [], false).Options, AgentConfiguration.Load(_config, [], false));
        string report = string.Join(Environment.NewLine, healthy);
        TestContext.Out.WriteLine(report);
        Assert.That(report, Does.Contain("OK    biometrics: DPIA DPIA-TEST-1").And.Contain("OK    onnx runtime").And.Contain("OK    model faceres")
            .And.Contain("OK    ffmpeg").And.Contain("OK    biometrics.db: 0 template(s)"));

        string models = Directory.CreateDirectory(_dir.File("models")).FullName;
        var manifest = ModelManifest.Load();
        foreach (var file in Directory.GetFiles(manifest.ModelsFolder, "*.onnx"))
            File.Copy(file, Path.Combine(models, Path.GetFileName(file)));
        var tampered = File.ReadAllBytes(Path.Combine(models, "faceres.onnx"));
        tampered[^1] ^= 0xFF;
        File.WriteAllBytes(Path.Combine(models, "faceres.onnx"), tampered);
        var loaded = AgentConfiguration.Load(_config, [$"--Biometrics:Face:ModelsFolder={models}"], false);

        var checks = new Kezekshi.Edge.Agent.Diagnostics.Doctor().Run(loaded.Options, loaded);

        var failure = checks.Single(c => c.Subject == "models");
        Assert.That(failure.Status, Is.EqualTo(Kezekshi.Edge.Agent.Diagnostics.DoctorStatus.Fail));
        Assert.That(failure.Message, Does.Contain("faceres").And.Contain("tampered"));
    }

    [Test]
    public async Task Check_gives_live_feedback_per_photo_with_the_face_or_the_palm_pipeline()
    {
        string face = _dir.File("face.pgm");
        OrlFace.WritePadded(5, 1, face);
        string broken = _dir.File("broken.jpg");
        File.WriteAllText(broken, "not a jpeg");

        using var faceOutput = new StringWriter();
        int faceCode = await BiometricsCommand.CheckAsync(Open(), [face, broken], null, 0, faceOutput, CancellationToken.None);
        using var palmOutput = new StringWriter();
        int palmCode = await BiometricsCommand.CheckAsync(BiometricsCommand.Context.Load(_config, [], environmentVariables: false, palm: true), [face], null, 0, palmOutput, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(faceCode, Is.Zero);
            Assert.That(faceOutput.ToString(), Does.Contain("ok    face.pgm").And.Contain("retake broken.jpg").And.Contain("1 of 2 good enough"));
            Assert.That(palmCode, Is.EqualTo(1));
            Assert.That(palmOutput.ToString(), Does.Contain("no hand found"), "a face is not a palm");
        });
    }

    [Test]
    public void Biometrics_off_is_refused_with_the_setting_to_fill_in()
    {
        File.WriteAllText(_config, """{ "Edge": { "SchoolId": "kz-test-001" } }""");

        var e = Assert.Throws<BiometricsDisabledException>(() => Open());

        Assert.That(e!.Message, Does.Contain("Biometrics:Enabled").And.Contain("Biometrics:Dpia"));
    }
}

/// <summary>ORL faces are tight 92×112 crops; the detector needs surroundings, so they are padded as the demo pads them.</summary>
internal static class OrlFace
{
    public static void WritePadded(int person, int image, string path)
    {
        string folder = FaceVideo.FindOrlFaces() ?? throw new AssertionException("The ORL face dataset was not found: put it at ../shared/datasets/orl-faces or set KEZEKSHI_ORL_PATH.");
        var face = FaceVideo.Padded(NetpbmReader.Read(FaceVideo.Orl(folder, person, image)));
        File.WriteAllBytes(path, [.. System.Text.Encoding.ASCII.GetBytes($"P5\n{face.Width} {face.Height}\n255\n"), .. face.Pixels]);
    }
}
