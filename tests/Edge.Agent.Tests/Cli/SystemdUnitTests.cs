using Kezekshi.Edge.Agent.Cli;

namespace Kezekshi.Edge.Agent.Tests.Cli;

[Category("Unit")]
public class SystemdUnitTests
{
    private static SystemdUnitOptions Options(string dataDirectory = "/var/lib/kezekshi", params string[] command) => new(
        command.Length > 0 ? command : ["/opt/kezekshi/kezekshi-edge"], "kezekshi", "kezekshi", dataDirectory, "/etc/kezekshi/appsettings.json");

    private static List<string> Directives(string unit) =>
        unit.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith('[')).ToList();

    [Test]
    public void Unit_is_a_notify_service_with_watchdog_restart_user_and_serial_group()
    {
        var lines = Directives(SystemdUnit.Render(Options()));
        Assert.That(lines, Is.SupersetOf(new[]
        {
            "Type=notify",
            "NotifyAccess=main",
            "ExecStart=/opt/kezekshi/kezekshi-edge run --config /etc/kezekshi/appsettings.json",
            "User=kezekshi",
            "Group=kezekshi",
            "SupplementaryGroups=dialout",
            "Restart=always",
            "RestartSec=2",
            "WatchdogSec=10",
            "StartLimitIntervalSec=0",
            "WantedBy=multi-user.target",
            "Environment=Logging__Console__FormatterName=systemd",
        }));
    }

    [Test]
    public void Hardening_leaves_only_the_data_directory_writable_and_keeps_serial_devices_reachable()
    {
        string unit = SystemdUnit.Render(Options());
        var lines = Directives(unit);
        Assert.That(lines, Is.SupersetOf(new[]
        {
            "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/kezekshi", "ProtectHome=yes", "PrivateTmp=yes",
            "StateDirectory=kezekshi", "StateDirectoryMode=0750", "WorkingDirectory=/var/lib/kezekshi",
        }));
        Assert.That(lines, Has.None.StartsWith("PrivateDevices="), "PrivateDevices hides /dev/ttyUSB*");
        Assert.That(lines, Has.None.StartsWith("DevicePolicy="));
        Assert.That(lines, Has.None.StartsWith("MemoryDenyWriteExecute="), "the .NET JIT needs writable code pages");
        Assert.That(unit, Does.Not.Contain("\r"));
    }

    [Test]
    public void A_data_directory_outside_var_lib_gets_no_StateDirectory_but_is_writable()
    {
        var lines = Directives(SystemdUnit.Render(Options("/srv/kezekshi/")));
        Assert.That(lines, Has.Member("ReadWritePaths=/srv/kezekshi"));
        Assert.That(lines, Has.None.StartsWith("StateDirectory="));
    }

    [Test]
    public void A_framework_dependent_agent_runs_through_dotnet_and_odd_characters_are_escaped()
    {
        var lines = Directives(SystemdUnit.Render(Options("/var/lib/kezekshi", "/usr/share/dotnet/dotnet", "/opt/my apps/kezekshi-edge.dll")));
        Assert.That(lines, Has.Member("ExecStart=/usr/share/dotnet/dotnet \"/opt/my apps/kezekshi-edge.dll\" run --config /etc/kezekshi/appsettings.json"));
        Assert.That(SystemdUnit.QuoteArgument("/opt/100%/x"), Is.EqualTo("/opt/100%%/x"));
        Assert.That(SystemdUnit.QuoteArgument("/opt/$HOME"), Is.EqualTo("/opt/$$HOME"));
    }

    [Test]
    public void An_executable_under_home_or_tmp_is_refused_because_the_hardened_service_cannot_see_it()
    {
        var problems = SystemdUnit.Validate(Options("/var/lib/kezekshi", "/home/admin/kezekshi/kezekshi-edge"));
        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.Contain("ProtectHome").And.Contain("/opt/kezekshi"));
    }

    [Test]
    public void Relative_paths_bad_user_names_and_spaces_in_directories_are_refused_with_every_reason()
    {
        var bad = new SystemdUnitOptions(["kezekshi-edge"], "Kezekshi Edge", "kezekshi", "data", "/etc/my config/appsettings.json");
        var problems = SystemdUnit.Validate(bad);
        Assert.That(problems, Has.Count.EqualTo(4));
        Assert.That(problems, Has.Some.Contains("--exe"));
        Assert.That(problems, Has.Some.Contains("--user"));
        Assert.That(problems, Has.Some.Contains("--data-dir \"data\" must be an absolute path"));
        Assert.That(problems, Has.Some.Contains("--config-dir"));
        Assert.Throws<ArgumentException>(() => SystemdUnit.Render(bad));
    }
}
