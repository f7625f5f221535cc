using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Hosting;
using Kezekshi.Edge.Agent.Ledgers.Tableau;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Tests.Ledgers;

/// <summary>The fire alarm starts the evacuation roll-call by itself, with everyone who is inside.</summary>
[Category("Integration")]
public class EvacuationRollCallTests
{
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Test]
    public async Task The_fire_alarm_starts_the_roll_call_with_everyone_inside()
    {
        using var rig = new CanteenRig();
        var alarm = CanteenRig.Lunch;
        await GatePassages.RecordAsync(rig.Database,
            (HolderKind.Pupil, 2, Direction.Entry, alarm.AddHours(-4)),
            (HolderKind.Pupil, 3, Direction.Entry, alarm.AddHours(-4)),
            (HolderKind.Pupil, 3, Direction.Exit, alarm.AddHours(-1)));
        var rollCall = new RollCall(rig.Database, rig.Ledger.Calendar);
        var emergency = new EmergencyState();
        var evacuation = new EvacuationRollCall(rollCall, NullLogger.Instance, new FixedTime(alarm));
        evacuation.Attach(emergency);
        Assert.That(rollCall.Current(), Is.Null);

        emergency.Set(true, "fire-alarm contact");
        var sheet = await evacuation.Last;

        Assert.That(sheet, Is.Not.Null);
        Assert.That(sheet!.StartedBy, Does.Contain("fire-alarm contact"));
        Assert.That(sheet.People.Select(p => (p.HolderKind, p.HolderId)), Is.EquivalentTo(new[] { ("pupil", 2L), ("visitor", 1L) }), "pupil 3 left before the alarm");
        Assert.That(rollCall.Current()!.SessionId, Is.EqualTo(sheet.SessionId));

        emergency.Set(false, "cleared");
        emergency.Set(true, "second alarm");
        Assert.That((await evacuation.Last)!.SessionId, Is.EqualTo(sheet.SessionId), "the running roll-call continues; no second list");
    }
}
