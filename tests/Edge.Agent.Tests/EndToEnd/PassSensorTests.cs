using System.Runtime.Versioning;
using Kezekshi.Edge.Agent.Demo;
using Kezekshi.Edge.Agent.Runtime;
using Kezekshi.Edge.Agent.Web.Console;

namespace Kezekshi.Edge.Agent.Tests.EndToEnd;

/// <summary>
/// The pass sensor is never missed with an input module that counts pulses, whatever the pulse length and however
/// busy the PC; a level-only module misses a pulse that falls between two polls, and the agent says so at start.
/// The pulses here are "shorter than any poll" (<see cref="DemoRig.PassPulse"/> = 0: the module's level never shows
/// them), which is what a 5 ms pulse against a 20 ms poll, or an 80 ms one against a poll loop held up for 300 ms, is.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class PassSensorTests : EndToEndTest
{
    private const byte Gate1In = 1;
    private const byte Gate2In = 3;
    private const int LevelOnlyWarning = 2032;

    [Test]
    public async Task A_pass_pulse_shorter_than_any_poll_is_counted_with_a_counter_input()
    {
        var gates = await StartGatesAsync();
        gates.Hardware.PassPulse = TimeSpan.Zero;
        ulong card = DemoSchool.PupilCard(5);

        gates.Hardware.Tap(Gate1In, card);

        var passage = (await gates.WaitForPassagesAsync(card)).Single();
        var polls = gates.Runtime.Devices.SelectMany(d => d.PollGaps).Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That((passage.Gate, passage.Decision, passage.Outcome), Is.EqualTo(("gate1", "granted", "passed")), "the module's counter saw the pulse its level never showed");
            Assert.That(gates.InputModule.GetDiscreteInput(0), Is.False, "the level stayed off the whole time");
            Assert.That(gates.InputModule.GetInputCounter(0), Is.EqualTo(1u));
            Assert.That(gates.Logs.Entries.Where(e => e.EventId.Id == LevelOnlyWarning), Is.Empty, "no level-only warning with counters");
            Assert.That((polls.Device, polls.PassSensorInput), Is.EqualTo(("inputs", "counter")));
            Assert.That(polls.Count, Is.GreaterThan(0), "the poll gaps are measured");
            Assert.That(polls.MaxGap, Is.GreaterThan(TimeSpan.Zero));
        }
    }

    [Test]
    public async Task Several_pupils_at_two_gates_with_short_pulses_are_each_counted_once_and_the_console_shows_the_poll_gaps()
    {
        var gates = await StartGatesAsync();
        gates.Hardware.PassPulse = TimeSpan.Zero;
        ulong[] atGate1 = [DemoSchool.PupilCard(5), DemoSchool.PupilCard(6)];
        ulong[] atGate2 = [DemoSchool.PupilCard(8), DemoSchool.PupilCard(9)];

        for (int i = 0; i < 2; i++)
        {
            gates.Hardware.Tap(Gate1In, atGate1[i]);
            gates.Hardware.Tap(Gate2In, atGate2[i]);
            await gates.WaitForPassagesAsync(atGate1[i]);
            await gates.WaitForPassagesAsync(atGate2[i]);
            // The next pupil taps once the arm is locked again (the simulated turnstile walks a pupil through on the relay's edge).
            int pulses = 2 * (i + 1);
            await GateRig.WaitUntilAsync(() => gates.CoilChanges(0).Count == pulses && gates.CoilChanges(2).Count == pulses, "both entry relays were released");
        }

        var passages = atGate1.Concat(atGate2).Select(c => gates.Passages(c).Single()).ToList();
        var device = gates.Runtime.Devices.Select(ItStatusQuery.Device).Single(d => d.Polls.Count > 0);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(passages.Select(p => p.Outcome), Is.All.EqualTo("passed"));
            Assert.That(passages.Select(p => p.Gate), Is.EqualTo(new[] { "gate1", "gate1", "gate2", "gate2" }));
            Assert.That(gates.InputModule.GetInputCounter(0), Is.EqualTo(2u), "gate1 entry counted two pulses");
            Assert.That(gates.InputModule.GetInputCounter(2), Is.EqualTo(2u), "gate2 entry counted two pulses");
            Assert.That(gates.Runtime.Gates.Sum(g => g.WaitingToPass), Is.Zero, "no pass was counted twice or left waiting");
            Assert.That(device.Polls.Single().Module, Is.EqualTo("inputs"));
            Assert.That(device.Polls.Single().PassSensors, Is.EqualTo("counter"));
            Assert.That(device.Polls.Single().IntervalMs, Is.EqualTo(20));
            Assert.That(device.Polls.Single().MaxGapMs, Is.GreaterThan(0));
        }
    }

    [Test]
    public async Task A_level_only_input_misses_a_pulse_shorter_than_a_poll_and_says_so_in_one_line_at_start()
    {
        var gates = await StartGatesAsync((options, _) => options.Devices.Single(d => d.Name == "inputs").Profile = "modbus-input-8ch");
        gates.Hardware.PassPulse = TimeSpan.Zero;
        ulong card = DemoSchool.PupilCard(7);

        gates.Hardware.Tap(Gate1In, card);

        // Stored when the pass time (5 s) runs out: the pupil walked through, but no poll saw the level.
        var passage = (await gates.WaitForPassagesAsync(card)).Single();
        var warnings = gates.Logs.Entries.Where(e => e.EventId.Id == LevelOnlyWarning).Select(e => e.Message).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That((passage.Decision, passage.Outcome), Is.EqualTo(("granted", "not-passed")), "the documented limit of a level-only pass input");
            Assert.That(gates.RelayOnCount(0), Is.EqualTo(1));
            Assert.That(warnings, Has.Count.EqualTo(1), "one line for the one level-only module");
            Assert.That(warnings.Single(), Does.Contain("gate1, gate2, staff-door").And.Contain("modbus-input-8ch").And.Contain("counterTable").And.Contain("missed"));
            Assert.That(gates.Runtime.Devices.SelectMany(d => d.PollGaps).Single().PassSensorInput, Is.EqualTo("level"));
        }
    }

    [Test]
    public async Task A_module_that_refuses_the_counter_registers_falls_back_to_levels_and_is_not_taken_for_offline()
    {
        // The profile names counter registers 100-107, which the module does not have: it answers exception 02.
        ExpectErrorLogs(e => e.EventId.Id == 2034);
        var gates = await StartGatesAsync((options, _) =>
        {
            // The rig runs on its own copy of the profiles (GateRig.CopyProfilesWithModbusReplyTime): edited in place.
            string wrong = Path.Combine(options.ResolvedProfilesDirectory, "modbus-input-8ch-counter.json");
            File.WriteAllText(wrong, File.ReadAllText(wrong).Replace("\"firstCounterRegister\": 0", "\"firstCounterRegister\": 100", StringComparison.Ordinal));
        });
        await GateRig.WaitUntilAsync(() => gates.Logs.Entries.Any(e => e.EventId.Id == 2034), "the refused counters are logged");
        gates.Hardware.PassPulse = TimeSpan.FromMilliseconds(1500); // longer than any poll gap: the level sees it
        ulong card = DemoSchool.PupilCard(12);

        gates.Hardware.Tap(Gate1In, card);

        var passage = (await gates.WaitForPassagesAsync(card)).Single();
        var refused = gates.Logs.Entries.Where(e => e.EventId.Id == 2034).Select(e => e.Message).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That((passage.Decision, passage.Outcome), Is.EqualTo(("granted", "passed")), "the pass sensor fell back to the level");
            Assert.That(refused, Has.Count.EqualTo(1), "logged once");
            Assert.That(refused.Single(), Does.Contain("inputs (modbus-input-8ch-counter) refused").And.Contain("firstCounterRegister"));
            Assert.That(gates.Runtime.Emergency.IsActive, Is.False, "an exception reply is an answer: the module is not offline, so the fire alarm is not assumed");
            Assert.That(gates.Runtime.Devices.SelectMany(d => d.PollGaps).Single().PassSensorInput, Is.EqualTo("level"));
        }
    }

    [Test]
    public async Task A_level_only_input_sees_a_pulse_longer_than_the_poll_gaps()
    {
        var gates = await StartGatesAsync((options, _) => options.Devices.Single(d => d.Name == "inputs").Profile = "modbus-input-8ch");
        // Far longer than any poll gap a loaded CI box makes, and well inside the 5 s pass time.
        gates.Hardware.PassPulse = TimeSpan.FromMilliseconds(1500);
        ulong card = DemoSchool.PupilCard(11);

        gates.Hardware.Tap(Gate1In, card);

        var passage = (await gates.WaitForPassagesAsync(card)).Single();
        Assert.That((passage.Decision, passage.Outcome), Is.EqualTo(("granted", "passed")), "levels still work where the pulse is longer than the poll gaps");
    }
}

/// <summary>The arithmetic of a pulse counter read twice: wrap-around and a module that restarted.</summary>
[Category("Unit")]
public sealed class PassCounterTests
{
    [TestCase((ushort)5, (ushort)5, 0)]
    [TestCase((ushort)5, (ushort)7, 2)]
    [TestCase((ushort)65535, (ushort)1, 2)]
    [TestCase((ushort)65534, (ushort)0, 2)]
    [TestCase((ushort)0, (ushort)100, 100)]
    public void Passes_between_two_reads_count_across_the_wrap(ushort before, ushort now, int passes) =>
        Assert.That(PassSensorWatcher.Passes(before, now), Is.EqualTo(passes));

    [TestCase((ushort)60000, (ushort)3)]
    [TestCase((ushort)3, (ushort)60000)]
    [TestCase((ushort)0, (ushort)101)]
    public void A_jump_no_turnstile_can_make_between_two_reads_is_a_reset_not_passes(ushort before, ushort now) =>
        Assert.That(PassSensorWatcher.Passes(before, now), Is.EqualTo(-1));
}
