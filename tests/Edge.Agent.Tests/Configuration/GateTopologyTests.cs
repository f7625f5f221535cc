using Kezekshi.Edge.Agent.Configuration;
using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Devices.Profiles;
using Microsoft.Extensions.Configuration;

namespace Kezekshi.Edge.Agent.Tests.Configuration;

[Category("Unit")]
public class GateTopologyTests
{
    private static HardwareProfileCatalog? s_catalog;

    /// <summary>The shipped profiles from the repository's hardware-profiles folder (found by walking up to Kezekshi.sln).</summary>
    private static HardwareProfileCatalog Catalog() => s_catalog ??= HardwareProfileCatalog.Load(ProfilesDirectory());

    private static string ProfilesDirectory()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Kezekshi.sln")))
                return Path.Combine(dir.FullName, "hardware-profiles");
        }
        throw new InvalidOperationException($"Kezekshi.sln not found above {TestContext.CurrentContext.TestDirectory}.");
    }

    /// <summary>
    /// Two OSDP readers on one RS-485 bus, a relay board and an input module on another, a USB line reader;
    /// a tripod and a speed gate sharing the board (the second moved up by channel offsets); the fire alarm on input 8.
    /// </summary>
    private static EdgeOptions Valid() => new()
    {
        SchoolId = "kz-ala-school-042",
        Devices =
        [
            new() { Name = "gate1-in", Profile = "generic-osdp-reader", Port = "/dev/ttyUSB0", Address = 1 },
            new() { Name = "gate1-out", Profile = "generic-osdp-reader", Port = "/dev/ttyUSB0", Address = 2 },
            new() { Name = "relays", Profile = "modbus-relay-8ch", Port = "/dev/ttyUSB1" },
            new() { Name = "inputs", Profile = "modbus-input-8ch", Port = "/dev/ttyUSB1" },
            new() { Name = "desk", Profile = "usb-line-reader-em", Port = "/dev/ttyACM0" },
        ],
        Gates =
        [
            new() { Name = "gate1", Turnstile = "tripod-turnstile", RelayBoard = "relays", InputModule = "inputs", EntryReader = "gate1-in", ExitReader = "gate1-out", AntiPassback = "soft" },
            new() { Name = "gate2", Turnstile = "speed-gate", RelayBoard = "relays", InputModule = "inputs", RelayChannelOffset = 4, SensorChannelOffset = 2, EntryReader = "desk", AntiPassback = "hard" },
        ],
        FireAlarm = new() { Profile = "fire-alarm-nc", InputModule = "inputs", Input = 8 },
    };

    private static GateTopology Resolves(EdgeOptions options)
    {
        var problems = new List<string>();
        var topology = GateTopology.Build(options, Catalog(), problems);
        Assert.That(problems, Is.Empty);
        return topology!;
    }

    /// <summary>Builds, expecting failure; returns the problems, each of which must be a full sentence.</summary>
    private static List<string> Problems(EdgeOptions options)
    {
        var problems = new List<string>();
        var topology = GateTopology.Build(options, Catalog(), problems);
        Assert.That(topology, Is.Null, "a configuration with problems must not resolve");
        Assert.That(problems, Is.Not.Empty);
        return problems;
    }

    /// <summary>The one problem the mistake causes.</summary>
    private static string Problem(EdgeOptions options)
    {
        var problems = Problems(options);
        Assert.That(problems, Has.Count.EqualTo(1), string.Join(Environment.NewLine, problems));
        return problems[0];
    }

    // ---- a valid configuration ----

    [Test]
    public void Valid_configuration_groups_devices_into_one_bus_per_port()
    {
        var topology = Resolves(Valid());

        Assert.That(topology.Buses.Select(b => (b.Port, b.Protocol, b.BaudRate)), Is.EquivalentTo(new[]
        {
            ("/dev/ttyUSB0", BusProtocol.Osdp, 9600),
            ("/dev/ttyUSB1", BusProtocol.ModbusRtu, 9600),
            ("/dev/ttyACM0", BusProtocol.LineReader, 9600),
        }));
        var osdp = topology.Buses.Single(b => b.Port == "/dev/ttyUSB0");
        Assert.That(osdp.Devices.Select(d => (d.Name, d.Address)), Is.EqualTo(new[] { ("gate1-in", 1), ("gate1-out", 2) }));
        Assert.That(osdp.Line.Rs485, Is.True);
    }

    [Test]
    public void Device_without_an_address_takes_its_profile_default()
    {
        var modbus = Resolves(Valid()).Buses.Single(b => b.Port == "/dev/ttyUSB1");

        Assert.That(modbus.Devices.Select(d => (d.Name, d.Address)), Is.EqualTo(new[] { ("relays", 1), ("inputs", 2) }));
    }

    [Test]
    public void Baud_rate_override_applies_to_the_bus_when_every_device_agrees()
    {
        var options = Valid();
        options.Devices[0].BaudRate = 19200;
        options.Devices[1].BaudRate = 19200;

        Assert.That(Resolves(options).Buses.Single(b => b.Port == "/dev/ttyUSB0").BaudRate, Is.EqualTo(19200));
    }

    [Test]
    public void Gates_resolve_with_their_turnstile_wiring_devices_offsets_and_anti_passback()
    {
        var topology = Resolves(Valid());

        var gate1 = topology.Gates.Single(g => g.Name == "gate1");
        Assert.That(gate1.Turnstile.Type, Is.EqualTo(TurnstileType.Tripod));
        Assert.That(gate1.RelayBoard.Name, Is.EqualTo("relays"));
        Assert.That(gate1.InputModule!.Name, Is.EqualTo("inputs"));
        Assert.That((gate1.EntryReader!.Name, gate1.ExitReader!.Name), Is.EqualTo(("gate1-in", "gate1-out")));
        Assert.That((gate1.RelayChannelOffset, gate1.SensorChannelOffset), Is.EqualTo((0, 0)));
        Assert.That(gate1.AntiPassback, Is.EqualTo(AntiPassbackMode.Soft));

        var gate2 = topology.Gates.Single(g => g.Name == "gate2");
        Assert.That(gate2.Turnstile.EmergencyRelay, Is.EqualTo(3));
        Assert.That((gate2.RelayChannelOffset, gate2.SensorChannelOffset), Is.EqualTo((4, 2)));
        Assert.That(gate2.EntryReader!.Profile.Kind, Is.EqualTo(ProfileKind.LineReader));
        Assert.That(gate2.ExitReader, Is.Null);
        Assert.That(gate2.AntiPassback, Is.EqualTo(AntiPassbackMode.Hard));
    }

    [Test]
    public void Fire_alarm_resolves_to_its_input_module_and_contact()
    {
        var fireAlarm = Resolves(Valid()).FireAlarm!;

        Assert.That(fireAlarm.InputModule.Name, Is.EqualTo("inputs"));
        Assert.That(fireAlarm.Input, Is.EqualTo(8));
        Assert.That(fireAlarm.Profile.Contact, Is.EqualTo(ContactType.NormallyClosed));
    }

    [Test]
    public void Configuration_without_a_fire_alarm_or_input_module_is_allowed()
    {
        var options = Valid();
        options.FireAlarm = null;
        options.Gates[0].InputModule = null;
        options.Gates[1].InputModule = "";
        options.Gates[1].ExitReader = "";

        var topology = Resolves(options);
        Assert.That(topology.FireAlarm, Is.Null);
        Assert.That(topology.Gates.Select(g => g.InputModule), Is.All.Null);
        Assert.That(topology.Gates[1].ExitReader, Is.Null, "an empty setting (EDGE__GATES__1__EXITREADER=) means no reader");
    }

    [Test]
    public void Shipped_appsettings_resolves_once_a_school_id_is_set()
    {
        string appsettings = Path.Combine(Path.GetDirectoryName(ProfilesDirectory())!, "Edge.Agent", "appsettings.json");
        var options = new ConfigurationBuilder().AddJsonFile(appsettings).Build().GetSection(EdgeOptions.Section).Get<EdgeOptions>()!;

        Assert.That(Problems(options), Is.EqualTo(new[] { "Edge:SchoolId is empty: set the school's ID from the centre, e.g. \"kz-ala-school-042\"." }));

        options.SchoolId = "kz-ala-school-042";
        var topology = Resolves(options);
        Assert.That(topology.Gates.Select(g => g.Name), Is.EqualTo(new[] { "gate1" }));
        Assert.That(topology.Buses, Has.Count.EqualTo(2));
        Assert.That(topology.FireAlarm!.Input, Is.EqualTo(8));
    }

    // ---- one test per kind of mistake ----

    [Test]
    public void Empty_school_id_names_the_setting()
    {
        var options = Valid();
        options.SchoolId = " ";

        Assert.That(Problem(options), Does.StartWith("Edge:SchoolId is empty").And.Contain("kz-ala-school-042"));
    }

    [Test]
    public void Unknown_profile_names_the_device_and_lists_the_serial_profiles()
    {
        var options = Valid();
        options.Devices[1].Profile = "generic-osdp";

        Assert.That(Problem(options), Is.EqualTo(
            "Edge:Devices[1] (\"gate1-out\"): Profile \"generic-osdp\" is not a known hardware profile; known: generic-osdp-reader, modbus-input-8ch, modbus-input-8ch-counter, modbus-relay-8ch, usb-line-reader-em."));
    }

    [Test]
    public void Turnstile_profile_used_as_a_device_says_where_it_belongs()
    {
        var options = Valid();
        options.Devices[1].Profile = "tripod-turnstile";

        Assert.That(Problem(options), Does.StartWith("Edge:Devices[1] (\"gate1-out\"): Profile \"tripod-turnstile\" is a turnstile, which is not on a serial port")
            .And.Contain("use it in a gate (Turnstile)"));
    }

    [Test]
    public void Device_without_a_port_names_the_setting()
    {
        var options = Valid();
        options.Devices[4].Port = "";

        Assert.That(Problem(options), Does.StartWith("Edge:Devices[4] (\"desk\"): Port is empty").And.Contain("/dev/ttyUSB0"));
    }

    [Test]
    public void Device_name_used_twice_is_refused()
    {
        var options = Valid();
        options.Devices.Add(new() { Name = "relays", Profile = "modbus-relay-8ch", Port = "/dev/ttyUSB1", Address = 3 });

        Assert.That(Problem(options), Is.EqualTo("Edge:Devices[5] (\"relays\"): the name \"relays\" is used twice; device names must be unique."));
    }

    [Test]
    public void Mixed_protocols_on_one_port_name_each_device_and_its_protocol()
    {
        var options = Valid();
        options.Devices[2].Port = "/dev/ttyUSB0";

        string problem = Problem(options);
        Assert.That(problem, Does.StartWith("Port /dev/ttyUSB0: "));
        Assert.That(problem, Does.Contain("Edge:Devices[0] (\"gate1-in\") Osdp").And.Contain("Edge:Devices[2] (\"relays\") ModbusRtu"));
        Assert.That(problem, Does.Contain("own RS-485 adapter"));
    }

    [Test]
    public void Baud_rate_mismatch_on_one_port_names_each_device_and_its_rate()
    {
        var options = Valid();
        options.Devices[1].BaudRate = 19200;

        string problem = Problem(options);
        Assert.That(problem, Does.StartWith("Port /dev/ttyUSB0: devices disagree on the baud rate"));
        Assert.That(problem, Does.Contain("Edge:Devices[0] (\"gate1-in\") 9600").And.Contain("Edge:Devices[1] (\"gate1-out\") 19200"));
    }

    [Test]
    public void Non_standard_baud_rate_is_refused()
    {
        var options = Valid();
        options.Devices[4].BaudRate = 12345;

        Assert.That(Problem(options), Does.StartWith("Edge:Devices[4] (\"desk\"): BaudRate 12345 is not a standard rate").And.Contain("9600"));
    }

    [Test]
    public void Duplicate_addresses_on_one_bus_name_both_devices()
    {
        var options = Valid();
        options.Devices[1].Address = 1;

        Assert.That(Problem(options), Does.StartWith("Port /dev/ttyUSB0: Edge:Devices[0] (\"gate1-in\") and Edge:Devices[1] (\"gate1-out\") share address 1")
            .And.Contain("different Address"));
    }

    [Test]
    public void Duplicate_address_that_comes_from_the_profile_default_is_found_too()
    {
        var options = Valid();
        options.Devices[3].Profile = "modbus-relay-8ch"; // default address 1, like "relays"
        options.Gates[0].InputModule = null;
        options.Gates[1].InputModule = null;
        options.FireAlarm = null;

        Assert.That(Problem(options), Does.Contain("share address 1"));
    }

    [TestCase(127)]
    [TestCase(-1)]
    public void Osdp_address_outside_0_to_126_is_refused(int address)
    {
        var options = Valid();
        options.Devices[0].Address = address;

        Assert.That(Problem(options), Is.EqualTo($"Edge:Devices[0] (\"gate1-in\"): Address {address} is not a valid OSDP address (0–126)."));
    }

    [Test]
    public void Relay_channel_beyond_the_board_counts_the_offset()
    {
        var options = Valid();
        options.Gates[1].RelayChannelOffset = 6; // speed gate relays 1, 2, 3 -> 7, 8, 9 on an 8-relay board

        Assert.That(Problem(options), Is.EqualTo(
            "Edge:Gates[1] (\"gate2\"): the emergency relay is channel 9 (profile 3 + RelayChannelOffset 6), but relays has channels 1–8."));
    }

    [Test]
    public void Sensor_beyond_the_module_counts_the_offset()
    {
        var options = Valid();
        options.Gates[1].SensorChannelOffset = 7; // sensors 1, 2 -> 8, 9; 8 is also the fire alarm's

        var problems = Problems(options);
        Assert.That(problems, Has.Some.EqualTo(
            "Edge:Gates[1] (\"gate2\"): the exit sensor is input 9 (profile 2 + SensorChannelOffset 7), but inputs has inputs 1–8."));
    }

    [Test]
    public void Two_gates_on_the_same_relays_are_refused()
    {
        var options = Valid();
        options.Gates[1].RelayChannelOffset = 1; // speed gate relays 2, 3, 4: relay 2 is gate1's exit

        Assert.That(Problem(options), Is.EqualTo(
            "Edge:Gates[1] (\"gate2\"): the entry relay is channel 2 of relays, already used by Edge:Gates[0] (\"gate1\") exit relay; set RelayChannelOffset so the gates use different relays."));
    }

    [Test]
    public void Two_gates_on_the_same_sensor_inputs_are_refused()
    {
        var options = Valid();
        options.Gates[1].SensorChannelOffset = 0;

        var problems = Problems(options);
        Assert.That(problems, Has.Count.EqualTo(2));
        Assert.That(problems, Has.All.StartWith("Edge:Gates[1] (\"gate2\"): the ").And.All.Contain("already used by Edge:Gates[0] (\"gate1\")"));
    }

    [Test]
    public void Fire_alarm_on_a_pass_sensor_input_is_refused()
    {
        var options = Valid();
        options.FireAlarm!.Input = 3; // gate2's entry sensor (1 + offset 2)

        Assert.That(Problem(options), Is.EqualTo(
            "Edge:FireAlarm: Input 3 of inputs is already used by Edge:Gates[1] (\"gate2\") entry sensor; wire the fire-alarm contact to a free input."));
    }

    [Test]
    public void Reader_used_by_two_gates_names_the_first_owner()
    {
        var options = Valid();
        options.Gates[1].EntryReader = "gate1-in";

        Assert.That(Problem(options), Is.EqualTo(
            "Edge:Gates[1] (\"gate2\"): EntryReader \"gate1-in\" is already the reader of gate1 EntryReader; a reader belongs to one gate direction."));
    }

    [Test]
    public void Relay_board_named_as_a_reader_is_refused()
    {
        var options = Valid();
        options.Gates[1].ExitReader = "relays";

        Assert.That(Problem(options), Is.EqualTo("Edge:Gates[1] (\"gate2\"): ExitReader \"relays\" is a modbus-relay-board, not a card reader."));
    }

    [Test]
    public void Reader_that_is_not_a_device_is_refused()
    {
        var options = Valid();
        options.Gates[0].ExitReader = "gate1-exit";

        Assert.That(Problem(options), Is.EqualTo("Edge:Gates[0] (\"gate1\"): ExitReader \"gate1-exit\" is not a device in Edge:Devices."));
    }

    [Test]
    public void Gate_without_readers_is_refused()
    {
        var options = Valid();
        options.Gates[0].EntryReader = null;
        options.Gates[0].ExitReader = "";

        Assert.That(Problem(options), Is.EqualTo("Edge:Gates[0] (\"gate1\"): no EntryReader or ExitReader: a gate needs at least one card reader."));
    }

    [TestCase("strict")]
    [TestCase("")]
    public void Bad_anti_passback_value_lists_the_allowed_ones(string value)
    {
        var options = Valid();
        options.Gates[0].AntiPassback = value;

        Assert.That(Problem(options), Is.EqualTo(
            $"Edge:Gates[0] (\"gate1\"): AntiPassback \"{value}\" must be \"off\", \"soft\" (allow and flag) or \"hard\" (refuse)."));
    }

    [Test]
    public void Gate_whose_turnstile_is_not_a_turnstile_profile_lists_the_turnstiles()
    {
        var options = Valid();
        options.Gates[0].Turnstile = "modbus-relay-8ch";

        Assert.That(Problem(options), Does.StartWith("Edge:Gates[0] (\"gate1\"): Turnstile \"modbus-relay-8ch\" is not a turnstile profile; known: ")
            .And.Contain("speed-gate").And.Contain("tripod-turnstile"));
    }

    [Test]
    public void Gate_whose_relay_board_is_an_input_module_is_refused()
    {
        var options = Valid();
        options.Gates[0].RelayBoard = "inputs";

        Assert.That(Problem(options), Is.EqualTo(
            "Edge:Gates[0] (\"gate1\"): RelayBoard \"inputs\" is a modbus-input-module, but a modbus-relay-board is needed."));
    }

    [Test]
    public void Gate_name_used_twice_is_refused_even_when_the_first_gate_has_a_problem()
    {
        var options = Valid();
        options.Gates[0].AntiPassback = "strict";
        options.Gates[1].Name = "gate1";

        var problems = Problems(options);
        Assert.That(problems, Has.Some.EqualTo("Edge:Gates[1] (\"gate1\"): the gate name \"gate1\" is used twice."));
    }

    [Test]
    public void Device_with_a_bad_profile_is_reported_once_not_again_by_each_gate_using_it()
    {
        var options = Valid();
        options.Devices[2].Profile = "modbus-relay-16ch";

        Assert.That(Problem(options), Does.StartWith("Edge:Devices[2] (\"relays\"): Profile \"modbus-relay-16ch\" is not a known hardware profile"));
    }

    [Test]
    public void Fire_alarm_input_beyond_the_module_names_the_range()
    {
        var options = Valid();
        options.FireAlarm!.Input = 9;

        Assert.That(Problem(options), Is.EqualTo("Edge:FireAlarm: Input 9 is not an input of inputs (1–8)."));
    }

    [Test]
    public void Fire_alarm_profile_of_the_wrong_kind_lists_the_fire_alarm_profiles()
    {
        var options = Valid();
        options.FireAlarm!.Profile = "tripod-turnstile";

        Assert.That(Problem(options), Is.EqualTo("Edge:FireAlarm: Profile \"tripod-turnstile\" is not a fire-alarm-input profile; known: fire-alarm-nc."));
    }

    [Test]
    public void Fire_alarm_on_a_relay_board_is_refused()
    {
        var options = Valid();
        options.FireAlarm!.InputModule = "relays";

        Assert.That(Problem(options), Is.EqualTo("Edge:FireAlarm: InputModule \"relays\" is a modbus-relay-board, but a modbus-input-module is needed."));
    }

    [Test]
    public void Every_mistake_in_one_configuration_is_reported_at_once()
    {
        var options = Valid();
        options.SchoolId = "";
        options.Devices[1].Address = 1;
        options.Gates[0].AntiPassback = "strict";
        options.FireAlarm!.Input = 0;

        var problems = Problems(options);
        Assert.That(problems, Has.Count.EqualTo(4));
        Assert.That(problems, Has.One.StartWith("Edge:SchoolId"));
        Assert.That(problems, Has.One.StartWith("Port /dev/ttyUSB0:"));
        Assert.That(problems, Has.One.StartWith("Edge:Gates[0]"));
        Assert.That(problems, Has.One.StartWith("Edge:FireAlarm"));
    }
}
