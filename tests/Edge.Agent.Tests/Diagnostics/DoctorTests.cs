using Kezekshi.Edge.Agent.Cli;
using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Diagnostics;
using Kezekshi.Edge.Devices.Transport.Pty;
using Kezekshi.Edge.Devices.Transport.Serial;

namespace Kezekshi.Edge.Agent.Tests.Diagnostics;

[Category("Integration")]
[Platform("Linux")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class DoctorTests
{
    private static string ShippedProfiles => Path.Combine(AppContext.BaseDirectory, "hardware-profiles");

    /// <summary>A school with one gate: an OSDP reader on one port, relay board and input module on another, fire alarm on input 8.</summary>
    private static EdgeOptions School(TempDirectory dir, string readerPort, string modbusPort) => new()
    {
        SchoolId = "kz-ala-school-042",
        DataDirectory = dir.File("data"),
        HardwareProfilesDirectory = ShippedProfiles,
        Devices =
        [
            new DeviceOptions { Name = "gate1-in-reader", Profile = "generic-osdp-reader", Port = readerPort, Address = 1 },
            new DeviceOptions { Name = "relays", Profile = "modbus-relay-8ch", Port = modbusPort, Address = 1 },
            new DeviceOptions { Name = "inputs", Profile = "modbus-input-8ch-counter", Port = modbusPort, Address = 2 },
        ],
        Gates = [new GateOptions { Name = "gate1", Turnstile = "tripod-turnstile", RelayBoard = "relays", InputModule = "inputs", EntryReader = "gate1-in-reader" }],
        FireAlarm = new FireAlarmOptions { InputModule = "inputs", Input = 8 },
    };

    private static string Report(IEnumerable<DoctorCheck> checks) => string.Join(Environment.NewLine, checks);

    [Test]
    public async Task A_valid_configuration_on_real_pseudo_terminals_is_all_OK()
    {
        using var dir = new TempDirectory();
        await using var readers = PseudoTerminal.Open();
        await using var modbus = PseudoTerminal.Open();

        var checks = new Doctor(notifySocket: "").Run(School(dir, readers.SlavePath, modbus.SlavePath));

        Assert.That(checks.Where(c => c.Status is DoctorStatus.Warn or DoctorStatus.Fail), Is.Empty, Report(checks));
        Assert.That(Doctor.ExitCode(checks), Is.EqualTo(0));
        Assert.That(checks.Single(c => c.Subject == $"port {readers.SlavePath}").Message, Does.Contain("opens at 9600 8N1"));
        Assert.That(checks.Single(c => c.Subject == $"port {modbus.SlavePath}").Status, Is.EqualTo(DoctorStatus.Ok));
        Assert.That(checks.Select(c => c.Subject), Is.SupersetOf(new[] { "profiles", "config", "data", "disk", "database", "systemd" }));
        Assert.That(File.Exists(dir.File("data/edge.db")), Is.True, "the database check opens and migrates it like run does");
    }

    [Test]
    public async Task A_missing_port_fails_with_the_does_not_exist_hint()
    {
        using var dir = new TempDirectory();
        await using var modbus = PseudoTerminal.Open();
        const string Missing = "/dev/ttyUSB-kezekshi-missing";

        var checks = new Doctor(notifySocket: "").Run(School(dir, Missing, modbus.SlavePath));

        var port = checks.Single(c => c.Subject == $"port {Missing}");
        Assert.That(port.Status, Is.EqualTo(DoctorStatus.Fail));
        Assert.That(port.Message, Does.Contain("does not exist"));
        Assert.That(port.Fix, Does.Contain("ls -l /dev/serial/by-id/"));
        Assert.That(Doctor.ExitCode(checks), Is.EqualTo(1));
        Assert.That(checks.Single(c => c.Subject == $"port {modbus.SlavePath}").Status, Is.EqualTo(DoctorStatus.Ok), "one bad port does not hide the others");
    }

    [Test]
    public async Task A_port_held_open_by_another_LinuxSerialPort_is_reported_in_use()
    {
        using var dir = new TempDirectory();
        await using var readers = PseudoTerminal.Open();
        await using var modbus = PseudoTerminal.Open();
        await using var agent = LinuxSerialPort.Open(new SerialPortSettings(readers.SlavePath));

        var checks = new Doctor(notifySocket: "").Run(School(dir, readers.SlavePath, modbus.SlavePath));

        var port = checks.Single(c => c.Subject == $"port {readers.SlavePath}");
        Assert.That(port.Status, Is.EqualTo(DoctorStatus.Fail));
        Assert.That(port.Message, Does.Contain("in use by another program").And.Contain("fuser"));
        Assert.That(port.Fix, Does.Contain("systemctl stop kezekshi-edge"));
    }

    [Test]
    public async Task A_file_that_is_not_a_character_device_fails_as_not_a_serial_port()
    {
        using var dir = new TempDirectory();
        await using var modbus = PseudoTerminal.Open();
        File.WriteAllText(dir.File("ttyFAKE"), "");

        var checks = new Doctor(notifySocket: "").Run(School(dir, dir.File("ttyFAKE"), modbus.SlavePath));

        var port = checks.Single(c => c.Subject == $"port {dir.File("ttyFAKE")}");
        Assert.That(port.Status, Is.EqualTo(DoctorStatus.Fail));
        Assert.That(port.Message, Does.Contain("is a regular file, not a serial port"));
    }

    [Test]
    public async Task A_bad_profile_fails_naming_the_file_and_the_field()
    {
        using var dir = new TempDirectory();
        await using var readers = PseudoTerminal.Open();
        await using var modbus = PseudoTerminal.Open();
        string profiles = dir.File("profiles");
        Directory.CreateDirectory(profiles);
        foreach (string file in Directory.GetFiles(ShippedProfiles, "*.json")) File.Copy(file, Path.Combine(profiles, Path.GetFileName(file)));
        string broken = Path.Combine(profiles, "generic-osdp-reader.json");
        File.WriteAllText(broken, File.ReadAllText(broken).Replace("\"baudRate\": 9600", "\"baudRate\": 12345", StringComparison.Ordinal));
        var options = School(dir, readers.SlavePath, modbus.SlavePath);
        options.HardwareProfilesDirectory = profiles;

        var checks = new Doctor(notifySocket: "").Run(options);

        var failures = checks.Where(c => c.Subject == "profiles").ToList();
        Assert.That(failures, Has.Count.EqualTo(1), Report(checks));
        Assert.That(failures[0].Status, Is.EqualTo(DoctorStatus.Fail));
        Assert.That(failures[0].Message, Does.Contain(broken).And.Contain("baudRate"));
        Assert.That(checks.Single(c => c.Subject == "config").Fix, Does.Contain("fix the profile problems above"));
        Assert.That(checks.Single(c => c.Subject == $"port {readers.SlavePath}").Status, Is.EqualTo(DoctorStatus.Ok), "ports are still checked");
    }

    [Test]
    public async Task Pass_sensors_on_a_module_without_counters_warn_in_one_line_with_what_to_use_instead()
    {
        using var dir = new TempDirectory();
        await using var readers = PseudoTerminal.Open();
        await using var modbus = PseudoTerminal.Open();
        var options = School(dir, readers.SlavePath, modbus.SlavePath);
        options.Devices.Single(d => d.Name == "inputs").Profile = "modbus-input-8ch";

        var checks = new Doctor(notifySocket: "").Run(options);

        var warning = checks.Single(c => c.Status == DoctorStatus.Warn);
        Assert.That(warning.Message, Does.Contain("pass sensors of gate1").And.Contain("modbus-input-8ch").And.Contain("missed"));
        Assert.That(warning.Fix, Does.Contain("counterTable"));
        Assert.That(Doctor.ExitCode(checks), Is.EqualTo(0), "a warning does not fail doctor");
    }

    [Test]
    public async Task Configuration_problems_fail_one_line_each_and_a_missing_fire_alarm_warns()
    {
        using var dir = new TempDirectory();
        await using var readers = PseudoTerminal.Open();
        await using var modbus = PseudoTerminal.Open();
        var options = School(dir, readers.SlavePath, modbus.SlavePath);
        options.FireAlarm = null;

        var checks = new Doctor(notifySocket: "").Run(options);
        var alarm = checks.Single(c => c.Status == DoctorStatus.Warn);
        Assert.That(alarm.Message, Does.Contain("no Edge:FireAlarm"));
        Assert.That(Doctor.ExitCode(checks), Is.EqualTo(0), "a warning does not fail doctor");

        options.SchoolId = "";
        options.Gates[0].AntiPassback = "sometimes";
        checks = new Doctor(notifySocket: "").Run(options);
        var config = checks.Where(c => c.Subject == "config" && c.Status == DoctorStatus.Fail).ToList();
        Assert.That(config, Has.Count.EqualTo(2), Report(checks));
        Assert.That(config[0].Message, Does.Contain("Edge:SchoolId is empty"));
        Assert.That(config[1].Message, Does.Contain("AntiPassback \"sometimes\""));
    }

    [Test]
    public async Task A_data_directory_in_a_read_only_location_fails()
    {
        using var dir = new TempDirectory();
        await using var readers = PseudoTerminal.Open();
        await using var modbus = PseudoTerminal.Open();
        var options = School(dir, readers.SlavePath, modbus.SlavePath);
        options.DataDirectory = "/proc/kezekshi-doctor-test"; // procfs: no one, not even root, creates a directory there

        var checks = new Doctor(notifySocket: "").Run(options);

        var data = checks.Single(c => c.Subject == "data");
        Assert.That(data.Status, Is.EqualTo(DoctorStatus.Fail));
        Assert.That(data.Message, Does.Contain("/proc/kezekshi-doctor-test does not exist and cannot be created in /proc"));
        Assert.That(data.Fix, Does.Contain("sudo mkdir -p /proc/kezekshi-doctor-test"));
        Assert.That(checks.Single(c => c.Subject == "database").Status, Is.EqualTo(DoctorStatus.Fail));
    }

    [Test]
    public async Task An_existing_read_only_data_directory_fails_for_a_non_root_user()
    {
        if (Environment.UserName == "root") Assert.Ignore("root writes to a 0555 directory; the /proc test covers root.");
        using var dir = new TempDirectory();
        await using var readers = PseudoTerminal.Open();
        await using var modbus = PseudoTerminal.Open();
        var options = School(dir, readers.SlavePath, modbus.SlavePath);
        Directory.CreateDirectory(options.DataDirectory);
        File.SetUnixFileMode(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var checks = new Doctor(notifySocket: "").Run(options);
            Assert.That(checks.Single(c => c.Subject == "data").Status, Is.EqualTo(DoctorStatus.Fail));
        }
        finally
        {
            File.SetUnixFileMode(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [Test]
    public async Task The_systemd_line_says_whether_systemd_started_the_agent()
    {
        using var dir = new TempDirectory();
        await using var readers = PseudoTerminal.Open();
        await using var modbus = PseudoTerminal.Open();
        var checks = new Doctor(notifySocket: "/run/systemd/notify").Run(School(dir, readers.SlavePath, modbus.SlavePath));
        var systemd = checks.Single(c => c.Subject == "systemd");
        Assert.That(systemd.Status, Is.EqualTo(DoctorStatus.Info));
        Assert.That(systemd.Message, Does.Contain("NOTIFY_SOCKET=/run/systemd/notify"));
    }
}

[Category("Unit")]
public class DoctorPermissionAdviceTests
{
    private const uint CharDevice0660 = 0x2000 | 0x1B0; // crw-rw----

    [Test]
    public void A_user_outside_the_owning_group_is_told_the_exact_usermod_command()
    {
        string advice = Doctor.PermissionAdvice("/dev/ttyUSB0", CharDevice0660, "dialout", listedInGroup: false, processHasGroup: false, "aigerim");
        Assert.That(advice, Does.Contain("aigerim is not in group dialout").And.Contain("sudo usermod -aG dialout aigerim"));
    }

    [Test]
    public void A_user_added_to_the_group_since_login_is_told_to_log_in_again()
    {
        string advice = Doctor.PermissionAdvice("/dev/ttyUSB0", CharDevice0660, "dialout", listedInGroup: true, processHasGroup: false, "aigerim");
        Assert.That(advice, Does.Contain("log out and in again").And.Contain("newgrp dialout").And.Not.Contain("usermod"));
    }

    [Test]
    public void A_port_its_group_may_not_use_gets_the_udev_rule()
    {
        string advice = Doctor.PermissionAdvice("/dev/ttyUSB0", 0x2000 | 0x180, "dialout", listedInGroup: true, processHasGroup: true, "aigerim"); // crw-------
        Assert.That(advice, Does.Contain("mode 600").And.Contain("MODE=\"0660\""));
    }
}

[Category("Integration")]
[Platform("Linux")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class DoctorCommandTests
{
    private static string WriteConfig(TempDirectory dir, string schoolId, string readerPort, string modbusPort)
    {
        string profiles = Path.Combine(AppContext.BaseDirectory, "hardware-profiles");
        string json = $$"""
        {
          "Edge": {
            "SchoolId": "{{schoolId}}",
            "DataDirectory": "{{dir.File("data")}}",
            "HardwareProfilesDirectory": "{{profiles}}",
            "Devices": [
              { "Name": "reader", "Profile": "generic-osdp-reader", "Port": "{{readerPort}}", "Address": 1 },
              { "Name": "relays", "Profile": "modbus-relay-8ch", "Port": "{{modbusPort}}", "Address": 1 },
              { "Name": "inputs", "Profile": "modbus-input-8ch", "Port": "{{modbusPort}}", "Address": 2 }
            ],
            "Gates": [ { "Name": "gate1", "Turnstile": "tripod-turnstile", "RelayBoard": "relays", "InputModule": "inputs", "EntryReader": "reader" } ],
            "FireAlarm": { "InputModule": "inputs", "Input": 8 }
          }
        }
        """;
        string path = dir.File("appsettings.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Test]
    public async Task Doctor_reads_the_config_file_and_command_line_settings_override_it()
    {
        using var dir = new TempDirectory();
        await using var readers = PseudoTerminal.Open();
        await using var modbus = PseudoTerminal.Open();
        string config = WriteConfig(dir, "", readers.SlavePath, modbus.SlavePath);

        var failing = new StringWriter();
        Assert.That(DoctorCommand.Execute(config, [], failing, environmentVariables: false), Is.EqualTo(1));
        Assert.That(failing.ToString(), Does.Contain("FAIL  config: Edge:SchoolId is empty"));

        var output = new StringWriter();
        Assert.That(DoctorCommand.Execute(config, ["--Edge:SchoolId=kz-ala-school-042"], output, environmentVariables: false), Is.EqualTo(0), output.ToString());
        Assert.That(output.ToString(), Does.Contain($"INFO  config: read {config}").And.Contain("school kz-ala-school-042").And.Contain("No problems that stop the agent"));
    }

    [Test]
    public void Invalid_json_and_a_missing_config_file_fail_with_the_file_named()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("appsettings.json"), "{ \"Edge\": { \"SchoolId\": \"x\" ");
        var broken = new StringWriter();
        Assert.That(DoctorCommand.Execute(dir.File("appsettings.json"), [], broken, environmentVariables: false), Is.EqualTo(1));
        Assert.That(broken.ToString(), Does.StartWith("FAIL  config: ").And.Contain(dir.File("appsettings.json")).And.Contain("not valid JSON"));

        var missing = new StringWriter();
        Assert.That(DoctorCommand.Execute(dir.File("nope.json"), [], missing, environmentVariables: false), Is.EqualTo(1));
        Assert.That(missing.ToString(), Does.Contain("nope.json does not exist"));
    }

    [Test]
    public void A_value_of_the_wrong_type_names_the_setting()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("appsettings.json"), "{ \"Edge\": { \"DebounceMs\": \"soon\" } }");
        var error = Assert.Throws<AgentConfigurationException>(() => AgentConfiguration.Load(dir.File("appsettings.json"), [], environmentVariables: false));
        Assert.That(error!.Message, Does.Contain("Edge:DebounceMs"));
    }

    [Test]
    public void Configuration_sources_apply_file_then_environment_then_command_line()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("appsettings.json"), "{ \"Edge\": { \"SchoolId\": \"from-file\", \"DebounceMs\": 1000 } }");
        var loaded = AgentConfiguration.Load(dir.File("appsettings.json"), ["--Edge:DebounceMs=2000"], environmentVariables: false);
        Assert.That(loaded.ConfigFileFound, Is.True);
        Assert.That(loaded.Options.SchoolId, Is.EqualTo("from-file"));
        Assert.That(loaded.Options.DebounceMs, Is.EqualTo(2000));
        Assert.That(loaded.Configuration["Edge:SchoolId"], Is.EqualTo("from-file"));
    }
}
