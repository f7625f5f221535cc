using Kezekshi.Edge.Agent.Cli;

namespace Kezekshi.Edge.Agent.Tests.Cli;

[Category("Integration")]
[Platform("Linux")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class InstallServiceTests
{
    private static string SourceConfig => Path.Combine(AppContext.BaseDirectory, "appsettings.json");

    private static InstallServiceOptions Options(TempDirectory dir, string user, bool dryRun) => new(
        ["/opt/kezekshi/kezekshi-edge"], user,
        DataDirectory: dir.File("data"), ConfigDirectory: dir.File("etc"), UnitDirectory: dir.File("units"),
        DryRun: dryRun, SourceConfig: SourceConfig);

    private static bool IsRoot => Environment.UserName == "root";

    [Test]
    public void Dry_run_prints_the_unit_and_the_steps_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        var output = new StringWriter();
        int exit = new InstallService(Options(dir, "kezekshi-no-such-user", dryRun: true), output).Run();

        Assert.That(exit, Is.EqualTo(0), output.ToString());
        Assert.That(Directory.GetFileSystemEntries(dir.Path), Is.Empty, "a dry run creates nothing");
        string text = output.ToString();
        Assert.That(text, Does.Contain("Dry run"));
        Assert.That(text, Does.Contain("would create system user kezekshi-no-such-user: useradd --system"));
        Assert.That(text, Does.Contain("--groups dialout"));
        Assert.That(text, Does.Contain("Type=notify"));
        Assert.That(text, Does.Contain($"ExecStart=/opt/kezekshi/kezekshi-edge run --config {dir.File("etc")}/appsettings.json"));
        Assert.That(text, Does.Contain("systemctl daemon-reload").And.Contain("systemctl enable --now kezekshi-edge").And.Contain("journalctl -u kezekshi-edge -f"));
    }

    [Test]
    public void Install_writes_unit_data_directory_and_config_and_never_overwrites_an_existing_config()
    {
        if (!IsRoot) Assert.Ignore("install-service needs root; these tests run as root in CI.");
        using var dir = new TempDirectory();
        var options = Options(dir, "nobody", dryRun: false);
        var output = new StringWriter();

        Assert.That(new InstallService(options, output).Run(), Is.EqualTo(0), output.ToString());

        string unit = File.ReadAllText(options.UnitFile);
        Assert.That(unit, Does.Contain("User=nobody").And.Contain("SupplementaryGroups=dialout").And.Contain($"ReadWritePaths={dir.File("data")}"));
        Assert.That(File.GetUnixFileMode(dir.File("data")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute));
        string config = File.ReadAllText(options.ConfigFile);
        Assert.That(InstallService.ConfiguredDataDirectory(config), Is.EqualTo(dir.File("data")), "the copied config points at --data-dir");
        Assert.That(config, Does.Contain("\"Gates\""), "the rest of the shipped configuration is kept");

        File.WriteAllText(options.ConfigFile, "{ \"Edge\": { \"SchoolId\": \"kz-ala-school-042\", \"DataDirectory\": \"/somewhere/else\" } }");
        var again = new StringWriter();
        Assert.That(new InstallService(options, again).Run(), Is.EqualTo(0), again.ToString());
        Assert.That(File.ReadAllText(options.ConfigFile), Does.Contain("kz-ala-school-042"), "an existing configuration is never overwritten");
        Assert.That(again.ToString(), Does.Contain("kept as it is").And.Contain("Edge:DataDirectory is /somewhere/else"));
        Assert.That(again.ToString(), Does.Contain("replacing the existing one"));
    }

    [Test]
    public void Existing_user_is_left_alone_and_its_primary_group_goes_into_the_unit()
    {
        if (!IsRoot) Assert.Ignore("install-service needs root; these tests run as root in CI.");
        using var dir = new TempDirectory();
        var options = Options(dir, "root", dryRun: false);
        var output = new StringWriter();
        Assert.That(new InstallService(options, output).Run(), Is.EqualTo(0), output.ToString());
        Assert.That(output.ToString(), Does.Contain("User root exists"));
        Assert.That(output.ToString(), Does.Not.Contain("useradd"));
        Assert.That(File.ReadAllText(options.UnitFile), Does.Contain("\nGroup=root\n"));
    }

    [Test]
    public void A_missing_serial_group_is_refused_before_anything_is_written()
    {
        using var dir = new TempDirectory();
        var options = Options(dir, "root", dryRun: false) with { SerialGroup = "no-such-group-kz" };
        var output = new StringWriter();
        Assert.That(new InstallService(options, output).Run(), Is.EqualTo(1));
        Assert.That(output.ToString(), Does.Contain("group no-such-group-kz does not exist").And.Contain("--serial-group"));
        Assert.That(Directory.GetFileSystemEntries(dir.Path), Is.Empty);
    }

    [Test]
    public void Data_directory_setting_is_replaced_in_place_keeping_the_layout()
    {
        const string json = "{\n  // school config\n  \"Edge\": {\n    \"DataDirectory\": \"/var/lib/kezekshi\",\n    \"DebounceMs\": 1500\n  }\n}\n";
        string updated = InstallService.WithDataDirectory(json, "/srv/kez data");
        Assert.That(updated, Is.EqualTo(json.Replace("/var/lib/kezekshi", "/srv/kez data", StringComparison.Ordinal)));
    }

    [Test]
    public void The_command_parses_its_options_and_dry_run_touches_nothing()
    {
        using var dir = new TempDirectory();
        var command = InstallServiceCommand.Create();
        var root = new System.CommandLine.RootCommand { command };
        var original = Console.Out;
        var output = new StringWriter();
        Console.SetOut(output);
        int exit;
        try
        {
            exit = root.Parse(["install-service", "--dry-run", "--user", "kezekshi-no-such-user", "--data-dir", dir.File("data"),
                "--config-dir", dir.File("etc"), "--unit-dir", dir.File("units"), "--exe", "/opt/kezekshi/kezekshi-edge"]).Invoke();
        }
        finally
        {
            Console.SetOut(original);
        }
        Assert.That(exit, Is.EqualTo(0), output.ToString());
        Assert.That(output.ToString(), Does.Contain($"would write {dir.File("units")}/kezekshi-edge.service"));
        Assert.That(Directory.GetFileSystemEntries(dir.Path), Is.Empty);
    }
}
