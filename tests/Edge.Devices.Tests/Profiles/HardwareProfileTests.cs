using System.Text.Json;
using Kezekshi.Edge.Devices.Profiles;

namespace Kezekshi.Edge.Devices.Tests.Profiles;

[Category("Unit")]
public class HardwareProfileTests
{
    private const string ValidTripod = """
        {
          "schemaVersion": 1,
          "model": "test-tripod",
          "kind": "turnstile",
          "turnstile": { "type": "tripod", "entryRelay": 1, "exitRelay": 2, "pulseMs": 200, "entrySensor": 1, "exitSensor": 2, "passTimeMs": 5000 }
        }
        """;

    private const string ValidReader = """
        {
          "schemaVersion": 1,
          "model": "test-reader",
          "kind": "osdp-reader",
          "serial": { "baudRate": 9600, "rs485": true },
          "osdp": { "defaultAddress": 0 }
        }
        """;

    private string _directory = "";

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Path.Combine(Path.GetTempPath(), "kezekshi-profiles-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void DeleteDirectory()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>The repository's <c>hardware-profiles</c> folder, found by walking up to Kezekshi.sln.</summary>
    internal static string ShippedProfilesDirectory()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Kezekshi.sln")))
                return Path.Combine(dir.FullName, "hardware-profiles");
        }
        throw new InvalidOperationException($"Kezekshi.sln not found above {TestContext.CurrentContext.TestDirectory}.");
    }

    private string Write(string fileName, string json)
    {
        string path = Path.Combine(_directory, fileName);
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Loads the test directory, expecting it to fail; returns every problem reported.</summary>
    private IReadOnlyList<string> LoadProblems()
    {
        var e = Assert.Throws<HardwareProfileException>(() => HardwareProfileCatalog.Load(_directory))!;
        Assert.That(e.Message, Does.Contain($"{e.Problems.Count} problem(s)"));
        return e.Problems;
    }

    /// <summary>Writes one file, loads the directory and returns the single problem, which must name the file and the field.</summary>
    private string SingleProblem(string fileName, string json, string field)
    {
        string path = Write(fileName, json);
        var problems = LoadProblems();
        Assert.That(problems, Has.Count.EqualTo(1), string.Join(Environment.NewLine, problems));
        Assert.That(problems[0], Does.StartWith($"{path}: field '{field}': "));
        return problems[0];
    }

    // ---- the shipped profiles ----

    [Test]
    public void Every_shipped_profile_loads()
    {
        var catalog = HardwareProfileCatalog.Load(ShippedProfilesDirectory());
        var files = Directory.EnumerateFiles(ShippedProfilesDirectory(), "*.json").Where(f => !f.EndsWith(".schema.json", StringComparison.Ordinal)).ToList();

        Assert.That(files, Has.Count.GreaterThanOrEqualTo(7));
        Assert.That(catalog.Profiles, Has.Count.EqualTo(files.Count));
        Assert.That(catalog.Profiles.Select(p => p.SourceFile), Is.EquivalentTo(files));
        Assert.That(catalog.Profiles.Select(p => p.SchemaVersion), Is.All.EqualTo(HardwareProfileSchema.CurrentVersion));
    }

    [Test]
    public void Every_shipped_profile_refers_editors_to_the_schema_file()
    {
        foreach (var file in Directory.EnumerateFiles(ShippedProfilesDirectory(), "*.json").Where(f => !f.EndsWith(".schema.json", StringComparison.Ordinal)))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            Assert.That(document.RootElement.GetProperty("$schema").GetString(), Is.EqualTo("./profile.schema.json"), file);
        }
    }

    [Test]
    public void Shipped_tripod_turnstile_binds_its_wiring()
    {
        var profile = HardwareProfileCatalog.Load(ShippedProfilesDirectory()).Get("tripod-turnstile", ProfileKind.Turnstile, "test");

        Assert.That(profile.Serial, Is.Null);
        Assert.That(profile.SourceFile, Does.EndWith("tripod-turnstile.json"));
        var t = profile.Turnstile!;
        Assert.That(t.Type, Is.EqualTo(TurnstileType.Tripod));
        Assert.That(t.PulseMs, Is.EqualTo(200));
        Assert.That((t.EntryRelay, t.ExitRelay), Is.EqualTo((1, 2)));
        Assert.That((t.EntrySensor, t.ExitSensor), Is.EqualTo((1, 2)));
        Assert.That(t.PassTimeMs, Is.EqualTo(5000));
        Assert.That(t.EmergencyRelay, Is.Null);
    }

    [Test]
    public void Shipped_speed_gate_has_its_emergency_relay_on_channel_3()
    {
        var t = HardwareProfileCatalog.Load(ShippedProfilesDirectory()).Get("speed-gate", ProfileKind.Turnstile, "test").Turnstile!;

        Assert.That(t.Type, Is.EqualTo(TurnstileType.SpeedGate));
        Assert.That(t.EmergencyRelay, Is.EqualTo(3));
        Assert.That(t.PulseMs, Is.EqualTo(300));
        Assert.That(t.PassTimeMs, Is.EqualTo(4000));
    }

    [Test]
    public void Shipped_fire_alarm_contact_is_normally_closed_and_fails_safe()
    {
        var profile = HardwareProfileCatalog.Load(ShippedProfilesDirectory()).Get("fire-alarm-nc", ProfileKind.FireAlarmInput, "test");

        Assert.That(profile.FireAlarm!.Contact, Is.EqualTo(ContactType.NormallyClosed));
        Assert.That(profile.FireAlarm.OnInputModuleOffline, Is.EqualTo(InputLossBehaviour.AssumeAlarm));
        Assert.That(profile.FireAlarm.DebounceMs, Is.EqualTo(100));
        Assert.That(profile.Serial, Is.Null);
    }

    [Test]
    public void Shipped_osdp_reader_is_an_rs485_device_at_9600_baud_with_address_0()
    {
        var profile = HardwareProfileCatalog.Load(ShippedProfilesDirectory()).Get("generic-osdp-reader", ProfileKind.OsdpReader, "test");

        Assert.That(profile.Serial, Is.EqualTo(new SerialLineProfile { BaudRate = 9600, DataBits = 8, Parity = SerialParity.None, StopBits = 1, Rs485 = true, ReplyTimeMs = 200 }));
        Assert.That(profile.Osdp, Is.EqualTo(new OsdpReaderProfile { DefaultAddress = 0, UseCrc = true, GrantLedColour = 2, DenyLedColour = 1, GrantLedMs = 1000, DenyBeeps = 2, HasKeypad = true }));
    }

    [Test]
    public void Shipped_modbus_modules_have_8_channels_at_different_default_addresses()
    {
        var catalog = HardwareProfileCatalog.Load(ShippedProfilesDirectory());
        var relays = catalog.Get("modbus-relay-8ch", ProfileKind.ModbusRelayBoard, "test");
        var inputs = catalog.Get("modbus-input-8ch", ProfileKind.ModbusInputModule, "test");

        Assert.That(relays.Modbus, Is.EqualTo(new ModbusModuleProfile { DefaultAddress = 1, Channels = 8, FirstRegister = 0, PollIntervalMs = 20 }));
        Assert.That(inputs.Modbus, Is.EqualTo(new ModbusModuleProfile { DefaultAddress = 2, Channels = 8, FirstRegister = 0, PollIntervalMs = 20 }));
        Assert.That(relays.Serial!.Rs485 && inputs.Serial!.Rs485, Is.True);
        Assert.That(inputs.Serial!.ReplyTimeMs, Is.EqualTo(30));
    }

    [Test]
    public void The_counter_input_module_reads_its_pass_sensors_from_16_bit_input_register_counters_and_the_plain_one_from_levels()
    {
        var catalog = HardwareProfileCatalog.Load(ShippedProfilesDirectory());
        var counter = catalog.Get("modbus-input-8ch-counter", ProfileKind.ModbusInputModule, "test").Modbus!;
        var level = catalog.Get("modbus-input-8ch", ProfileKind.ModbusInputModule, "test").Modbus!;

        Assert.That((counter.HasCounters, counter.CounterTable, counter.FirstCounterRegister, counter.RegistersPerCounter), Is.EqualTo((true, InputCounterTable.InputRegisters, 0, 1)));
        Assert.That((level.HasCounters, level.CounterTable), Is.EqualTo((false, InputCounterTable.None)));
    }

    [Test]
    public void Pulse_counters_on_a_relay_board_are_refused_with_what_to_do()
    {
        string message = SingleProblem("relays.json", """
            { "schemaVersion": 1, "model": "r", "kind": "modbus-relay-board", "serial": { "baudRate": 9600 },
              "modbus": { "defaultAddress": 1, "channels": 8, "counterTable": "input-registers" } }
            """, "modbus.counterTable");

        Assert.That(message, Does.Contain("belong to an input module"));
    }

    [Test]
    public void A_counter_of_three_registers_is_out_of_range_with_the_allowed_sizes()
    {
        string message = SingleProblem("inputs.json", """
            { "schemaVersion": 1, "model": "i", "kind": "modbus-input-module", "serial": { "baudRate": 9600 },
              "modbus": { "defaultAddress": 2, "channels": 8, "counterTable": "holding-registers", "firstCounterRegister": 16, "registersPerCounter": 3 } }
            """, "modbus.registersPerCounter");

        Assert.That(message, Does.Contain("1 for 16-bit counters, 2 for 32-bit"));
    }

    [Test]
    public void Shipped_line_reader_reads_decimal_numbers_ending_in_cr_lf()
    {
        var profile = HardwareProfileCatalog.Load(ShippedProfilesDirectory()).Get("usb-line-reader-em", ProfileKind.LineReader, "test");

        Assert.That(profile.LineReader, Is.EqualTo(new LineReaderProfile { Prefix = "", Suffix = "\r\n", NumberFormat = CardNumberFormat.Decimal, Wiegand26 = Wiegand26Conversion.None, DebounceMs = 1500 }));
        Assert.That(profile.Serial!.Rs485, Is.False);
    }

    [Test]
    public void Optional_fields_left_out_take_their_documented_defaults()
    {
        Write("reader.json", ValidReader);
        var profile = HardwareProfileCatalog.Load(_directory).Get("test-reader", ProfileKind.OsdpReader, "test");

        Assert.That(profile.Serial, Is.EqualTo(new SerialLineProfile { BaudRate = 9600, Rs485 = true }));
        Assert.That(profile.Osdp!.UseCrc, Is.True);
        Assert.That(profile.Osdp.GrantLedColour, Is.EqualTo(2));
    }

    [Test]
    public void Line_reader_that_leaves_out_its_suffix_gets_cr_lf_not_null()
    {
        Write("line.json", """{ "schemaVersion": 1, "model": "line", "kind": "line-reader", "serial": {}, "lineReader": {} }""");
        var profile = HardwareProfileCatalog.Load(_directory).Get("line", ProfileKind.LineReader, "test");

        Assert.That(profile.LineReader, Is.EqualTo(new LineReaderProfile()));
        Assert.That(profile.LineReader!.Suffix, Is.EqualTo("\r\n"));
        Assert.That(profile.Serial, Is.EqualTo(new SerialLineProfile()));
    }

    [Test]
    public void Comments_and_trailing_commas_are_allowed()
    {
        Write("tripod.json", ValidTripod.Replace("\"model\": \"test-tripod\",", "\"model\": \"test-tripod\", // the arm kind\n", StringComparison.Ordinal)
            .Replace("\"passTimeMs\": 5000 }", "\"passTimeMs\": 5000, },", StringComparison.Ordinal));

        Assert.That(HardwareProfileCatalog.Load(_directory).TryGet("test-tripod", out _), Is.True);
    }

    [Test]
    public void Asking_for_a_profile_of_the_wrong_kind_says_what_it_is()
    {
        var catalog = HardwareProfileCatalog.Load(ShippedProfilesDirectory());

        var e = Assert.Throws<HardwareProfileException>(() => catalog.Get("tripod-turnstile", ProfileKind.OsdpReader, "Edge:Devices[0]"))!;
        Assert.That(e.Message, Does.Contain("Edge:Devices[0]").And.Contain("is a turnstile").And.Contain("osdp-reader is needed"));

        var missing = Assert.Throws<HardwareProfileException>(() => catalog.Get("acme-x", ProfileKind.Turnstile, "Edge:Gates[0]"))!;
        Assert.That(missing.Message, Does.Contain("\"acme-x\" does not exist").And.Contain("speed-gate").And.Contain("tripod-turnstile"));
    }

    // ---- one test per kind of mistake ----

    [Test]
    public void Invalid_json_names_the_file_and_the_line()
    {
        string path = Write("broken.json", """
            {
              "schemaVersion": 1,
              "model": "test-tripod"
              "kind": "turnstile"
            }
            """);

        var problems = LoadProblems();
        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.StartWith($"{path}: not valid JSON at line 4"));
        Assert.That(problems[0], Does.Contain("missing comma"));
        Assert.That(problems[0], Does.Not.Contain("LineNumber"), "the runtime's own position suffix is replaced by ours");
    }

    [Test]
    public void Missing_required_field_is_named_with_its_path_and_what_to_put_there()
    {
        string message = SingleProblem("tripod.json", ValidTripod.Replace("\"pulseMs\": 200, ", "", StringComparison.Ordinal), "turnstile.pulseMs");

        Assert.That(message, Does.Contain("missing: this field is required").And.Contain("200 ms is typical"));
    }

    [Test]
    public void Wrong_type_says_what_was_found_and_what_is_expected()
    {
        string message = SingleProblem("tripod.json", ValidTripod.Replace("\"pulseMs\": 200", "\"pulseMs\": \"200\"", StringComparison.Ordinal), "turnstile.pulseMs");

        Assert.That(message, Does.Contain("must be a whole number, found \"200\"").And.Contain("at least 100 ms"));
    }

    [Test]
    public void Fractional_number_is_a_wrong_type_not_a_crash()
    {
        string message = SingleProblem("tripod.json", ValidTripod.Replace("\"exitRelay\": 2", "\"exitRelay\": 1.5", StringComparison.Ordinal), "turnstile.exitRelay");

        Assert.That(message, Does.Contain("must be a whole number, found 1.5"));
    }

    [Test]
    public void Out_of_range_value_names_the_limit()
    {
        string message = SingleProblem("tripod.json", ValidTripod.Replace("\"pulseMs\": 200", "\"pulseMs\": 50", StringComparison.Ordinal), "turnstile.pulseMs");

        Assert.That(message, Does.Contain("50 is out of range 100–5000").And.Contain("at least 100 ms to latch"));
    }

    [Test]
    public void Unsupported_baud_rate_lists_the_supported_ones()
    {
        string message = SingleProblem("reader.json", ValidReader.Replace("9600", "12345", StringComparison.Ordinal), "serial.baudRate");

        Assert.That(message, Does.Contain("12345 is not a supported value").And.Contain("9600, 19200").And.Contain("115200"));
    }

    [Test]
    public void Unknown_field_with_a_near_name_gets_a_did_you_mean()
    {
        string path = Write("tripod.json", ValidTripod.Replace("\"pulseMs\"", "\"pulseMS\"", StringComparison.Ordinal));

        var problems = LoadProblems();
        Assert.That(problems, Has.Some.StartWith($"{path}: field 'turnstile.pulseMS': unknown field; did you mean 'pulseMs'?"));
        Assert.That(problems, Has.Some.StartWith($"{path}: field 'turnstile.pulseMs': missing"), "the required field is still missing");
    }

    [Test]
    public void Unknown_field_with_a_typo_gets_the_closest_name()
    {
        string message = SingleProblem("reader.json", ValidReader.Replace("\"rs485\"", "\"rs458\"", StringComparison.Ordinal), "serial.rs458");

        Assert.That(message, Does.Contain("did you mean 'rs485'?"));
    }

    [Test]
    public void Unknown_field_unlike_any_other_lists_the_allowed_names()
    {
        string message = SingleProblem("reader.json", ValidReader.Replace("\"defaultAddress\": 0", "\"defaultAddress\": 0, \"colourOfTheCasing\": 3", StringComparison.Ordinal), "osdp.colourOfTheCasing");

        Assert.That(message, Does.Contain("unknown field; allowed here: defaultAddress, useCrc"));
    }

    [Test]
    public void Section_that_belongs_to_another_kind_is_named_with_the_fix()
    {
        string message = SingleProblem("tripod.json", ValidTripod.Replace("\"turnstile\": {", "\"osdp\": { \"defaultAddress\": 1 },\n  \"turnstile\": {", StringComparison.Ordinal), "osdp");

        Assert.That(message, Does.Contain("does not belong in a \"turnstile\" profile; remove it or change \"kind\""));
    }

    [Test]
    public void Profile_without_its_kind_section_says_which_section_is_missing()
    {
        string path = Write("reader.json", ValidReader.Replace("\"osdp\"", "\"lineReader\"", StringComparison.Ordinal));

        var problems = LoadProblems();
        Assert.That(problems, Is.EquivalentTo(new[]
        {
            $"{path}: field 'osdp': missing: a \"osdp-reader\" profile needs a \"osdp\": {{ ... }} section.",
            $"{path}: field 'lineReader': does not belong in a \"osdp-reader\" profile; remove it or change \"kind\".",
        }));
    }

    [Test]
    public void Serial_device_without_a_serial_section_is_told_to_add_one()
    {
        string message = SingleProblem("reader.json", ValidReader.Replace("\"serial\": { \"baudRate\": 9600, \"rs485\": true },", "", StringComparison.Ordinal), "serial");

        Assert.That(message, Does.Contain("missing").And.Contain("\"serial\": { \"baudRate\": 9600 }"));
    }

    [Test]
    public void Serial_section_on_a_turnstile_is_told_to_go()
    {
        string message = SingleProblem("tripod.json", ValidTripod.Replace("\"turnstile\": {", "\"serial\": { \"baudRate\": 9600 },\n  \"turnstile\": {", StringComparison.Ordinal), "serial");

        Assert.That(message, Does.Contain("not used by a \"turnstile\" profile").And.Contain("remove it"));
    }

    [Test]
    public void Tripod_with_one_relay_for_entry_and_exit_is_refused()
    {
        string message = SingleProblem("tripod.json", ValidTripod.Replace("\"exitRelay\": 2", "\"exitRelay\": 1", StringComparison.Ordinal), "turnstile.exitRelay");

        Assert.That(message, Does.Contain("separate relay channels for entry and exit"));
    }

    [Test]
    public void Speed_gate_may_use_one_relay_for_both_directions()
    {
        Write("gate.json", ValidTripod.Replace("\"tripod\"", "\"speed-gate\"", StringComparison.Ordinal).Replace("\"exitRelay\": 2", "\"exitRelay\": 1", StringComparison.Ordinal));

        Assert.That(HardwareProfileCatalog.Load(_directory).TryGet("test-tripod", out var profile), Is.True);
        Assert.That(profile.Turnstile!.Type, Is.EqualTo(TurnstileType.SpeedGate));
    }

    [TestCase("\"turnstile\": 5", "turnstile", "must be an object { ... }, found 5")]
    [TestCase("\"turnstile\": { \"type\": 3, \"entryRelay\": 1, \"exitRelay\": 1, \"pulseMs\": 200, \"entrySensor\": 1, \"exitSensor\": 2, \"passTimeMs\": 5000 }",
        "turnstile.type", "must be one of \"tripod\", \"speed-gate\", \"door\", found 3")]
    public void Malformed_turnstile_section_is_reported_not_thrown(string section, string field, string expected)
    {
        int start = ValidTripod.IndexOf("\"turnstile\": {", StringComparison.Ordinal);
        int end = ValidTripod.IndexOf('}', start) + 1;
        string json = ValidTripod[..start] + section + ValidTripod[end..];

        string message = SingleProblem("tripod.json", json, field);
        Assert.That(message, Does.Contain(expected));
    }

    [Test]
    public void Newer_schema_version_says_which_version_this_build_reads()
    {
        string message = SingleProblem("tripod.json", ValidTripod.Replace("\"schemaVersion\": 1", "\"schemaVersion\": 2", StringComparison.Ordinal), "schemaVersion");

        Assert.That(message, Does.Contain("2 is not supported, it must be 1").And.Contain("reads profile schemaVersion 1"));
    }

    [Test]
    public void Same_model_in_two_files_names_both_files()
    {
        string first = Write("a-tripod.json", ValidTripod);
        string second = Write("b-tripod.json", ValidTripod);

        var problems = LoadProblems();
        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.StartWith($"{second}: field 'model': \"test-tripod\" is already defined in {first}"));
        Assert.That(problems[0], Does.Contain("must be unique"));
    }

    [Test]
    public void Missing_directory_names_it_and_the_setting_to_change()
    {
        string missing = Path.Combine(_directory, "no-such-folder");

        var e = Assert.Throws<HardwareProfileException>(() => HardwareProfileCatalog.Load(missing))!;
        Assert.That(e.Problems, Has.Count.EqualTo(1));
        Assert.That(e.Problems[0], Does.StartWith(missing).And.Contain("does not exist").And.Contain("Edge:HardwareProfilesDirectory"));
    }

    [Test]
    public void Several_problems_in_one_file_are_all_reported_at_once()
    {
        string path = Write("tripod.json", ValidTripod
            .Replace("\"schemaVersion\": 1", "\"schemaVersion\": 2", StringComparison.Ordinal)
            .Replace("\"pulseMs\": 200", "\"pulseMs\": 50", StringComparison.Ordinal)
            .Replace("\"passTimeMs\"", "\"passTimeMS\"", StringComparison.Ordinal)
            .Replace("\"exitSensor\": 2", "\"exitSensor\": \"two\"", StringComparison.Ordinal));

        var problems = LoadProblems();
        Assert.That(problems, Is.All.StartWith($"{path}: field '"));
        Assert.That(problems.Select(p => p[(path.Length + 9)..p.IndexOf("': ", StringComparison.Ordinal)]),
            Is.EquivalentTo(new[] { "schemaVersion", "turnstile.pulseMs", "turnstile.passTimeMS", "turnstile.passTimeMs", "turnstile.exitSensor" }));
    }

    [Test]
    public void Problems_in_several_files_are_all_reported_and_good_files_are_not_blamed()
    {
        string bad1 = Write("bad1.json", ValidTripod.Replace("\"pulseMs\": 200", "\"pulseMs\": 50", StringComparison.Ordinal));
        string bad2 = Write("bad2.json", ValidReader.Replace("\"kind\": \"osdp-reader\"", "\"kind\": \"osdp\"", StringComparison.Ordinal));
        string good = Write("good.json", ValidReader.Replace("test-reader", "good-reader", StringComparison.Ordinal));

        var problems = LoadProblems();
        Assert.That(problems, Has.Count.EqualTo(2));
        Assert.That(problems, Has.One.StartWith($"{bad1}: field 'turnstile.pulseMs'"));
        Assert.That(problems, Has.One.StartWith($"{bad2}: field 'kind': must be one of \"osdp-reader\""));
        Assert.That(problems, Has.None.Contains(good));
    }

    [Test]
    public void Json_schema_files_in_the_folder_are_not_loaded_as_profiles()
    {
        Write("profile.schema.json", "{ \"this\": \"is not a profile\" }");
        Write("tripod.json", ValidTripod);

        Assert.That(HardwareProfileCatalog.Load(_directory).Profiles.Select(p => p.Model), Is.EqualTo(new[] { "test-tripod" }));
    }

    [Test]
    public void Document_that_is_not_an_object_is_refused()
    {
        string path = Write("list.json", "[1, 2]");

        Assert.That(LoadProblems(), Is.EqualTo(new[] { $"{path}: the file must hold one JSON object {{ ... }} describing one device model." }));
    }

    // ---- profile.schema.json, the editor's copy of the schema ----

    private static JsonDocument EditorSchema() => JsonDocument.Parse(File.ReadAllText(Path.Combine(ShippedProfilesDirectory(), "profile.schema.json")));

    [Test]
    public void Editor_schema_lists_the_same_kinds_as_the_loader()
    {
        using var schema = EditorSchema();
        var kinds = schema.RootElement.GetProperty("properties").GetProperty("kind").GetProperty("enum").EnumerateArray().Select(k => k.GetString()).ToList();

        Assert.That(schema.RootElement.GetProperty("$schema").GetString(), Is.EqualTo("https://json-schema.org/draft/2020-12/schema"));
        Assert.That(kinds, Is.EquivalentTo(HardwareProfileSchema.Kinds));
        Assert.That(Enum.GetValues<ProfileKind>().Select(HardwareProfileCatalog.KindName), Is.EquivalentTo(HardwareProfileSchema.Kinds), "the C# enum and the schema agree too");
    }

    [Test]
    public void Editor_schema_has_the_same_fields_and_required_fields_in_every_section_as_the_loader()
    {
        using var schema = EditorSchema();
        var defs = schema.RootElement.GetProperty("$defs");

        Assert.That(defs.EnumerateObject().Select(d => d.Name), Is.EquivalentTo(HardwareProfileSchema.SectionFields.Keys));
        foreach (var (section, fields) in HardwareProfileSchema.SectionFields)
        {
            var def = defs.GetProperty(section);
            Assert.That(def.GetProperty("properties").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(fields.Keys), section);
            Assert.That(def.GetProperty("required").EnumerateArray().Select(r => r.GetString()), Is.EquivalentTo(fields.Where(f => f.Value).Select(f => f.Key)), section);
            Assert.That(def.GetProperty("additionalProperties").GetBoolean(), Is.False, section);
        }
    }
}
