using Kezekshi.Edge.Agent.Gate;
using Kezekshi.Edge.Agent.Store;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Edge.Agent.Tests.Ledgers;

/// <summary>Stores passages through the real <see cref="PassageRecorder"/>, as the gates do (passages, presence, outbox).</summary>
public static class GatePassages
{
    public static async Task RecordAsync(EdgeDatabase database, params (HolderKind Kind, long Id, Direction Direction, DateTimeOffset At)[] passages)
    {
        await using var recorder = new PassageRecorder(database, null, NullLogger.Instance);
        foreach (var (kind, id, direction, at) in passages)
        {
            var holder = new Holder(kind, id, $"{kind} {id}", true, null, null);
            await recorder.RecordAsync(new Passage
            {
                Uid = Guid.NewGuid().ToString(),
                Gate = "main",
                Direction = direction,
                CardNumber = 1,
                Holder = holder,
                Decision = GateDecision.Grant(DecisionReason.Granted, new Credential(1, CredentialStatus.Active, holder)),
                DecidedAt = at.ToUniversalTime(),
                CompletedAt = at.ToUniversalTime().AddSeconds(1),
                Outcome = PassageOutcome.Passed,
            });
        }
    }
}
