using System.Globalization;
using System.Text;
using Kezekshi.Edge.Agent.Gate;

namespace Kezekshi.Edge.Agent.Store;

/// <summary>
/// An append-only file written just before every relay command, so that after a crash every
/// actuation can be found even if its passage had not reached SQLite yet.
/// </summary>
/// <remarks>
/// The relay must never wait for a disk flush, and a passage must be durable before it is reported.
/// Writing the passage to SQLite first would put an fsync on the relay path; writing it after would
/// lose the record of an arm that was unlocked if the process died in between. This journal closes
/// that gap: one unbuffered write() (a few µs, no fsync) before the relay command survives a
/// process crash; on start <see cref="ReadEntries"/> with <c>PassageRecorder.RecoverFromJournal</c> turn every entry without a passage into one with
/// outcome "unknown". A power cut can lose the last few entries not yet flushed by the OS; SQLite
/// (synchronous=FULL) holds everything the recorder committed.
/// </remarks>
public sealed class ActuationJournal : IDisposable
{
    private readonly object _gate = new();
    private readonly FileStream _file;
    private readonly byte[] _line = new byte[512];
    private int _pending;

    public ActuationJournal(string path)
    {
        Path = path;
        _file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
        _file.Seek(0, SeekOrigin.End);
    }

    public string Path { get; }

    /// <summary>Writes that failed (full disk, I/O error) since start.</summary>
    public long FailedWrites { get; private set; }

    /// <summary>The last write failure, for the log and doctor.</summary>
    public string? LastFailure { get; private set; }

    /// <summary>
    /// Records an actuation about to happen. Called on the gate's hot path: one write syscall. Never throws:
    /// a full disk must not keep a gate shut; the passage still goes to the recorder, which retries until stored.
    /// </summary>
    /// <returns>False if the entry could not be written.</returns>
    public bool Append(Passage passage)
    {
        ArgumentNullException.ThrowIfNull(passage);
        lock (_gate)
        {
            try
            {
                var written = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                    $"{passage.Uid}|{passage.Gate}|{Passage.DirectionCode(passage.Direction)}|{passage.CardNumber}|{(passage.Holder is { } h ? AccessRepository.FormatHolderKind(h.Kind) : "")}|{passage.Holder?.Id}|{GateDecision.ReasonCode(passage.Decision.Reason)}|{passage.DecidedAt.UtcTicks}|{Passage.CredentialCode(passage.Credential)}|{passage.CameraId}\n"), _line);
                _file.Write(_line, 0, written);
                _pending++;
                passage.Journaled = true;
                return true;
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or ArgumentException)
            {
                FailedWrites++;
                LastFailure = e.Message;
                return false;
            }
        }
    }

    /// <summary>Called by the recorder after passages are committed; empties the file when nothing is outstanding.</summary>
    public void Committed(int count)
    {
        lock (_gate)
        {
            _pending = Math.Max(0, _pending - count);
            try
            {
                if (_pending == 0 && _file.Length > 64 * 1024) _file.SetLength(0);
            }
            catch (IOException)
            {
                // Emptying is housekeeping; it is tried again after the next commit.
            }
        }
    }

    /// <summary>Entries left by an unclean stop (read before the agent starts deciding).</summary>
    public static IReadOnlyList<Passage> ReadEntries(string path)
    {
        var entries = new List<Passage>();
        if (!File.Exists(path)) return entries;
        var lines = File.ReadAllText(path).Split('\n');
        // Only whole lines count: the text after the last newline is either empty or a line torn by a crash
        // mid-write (which may even end in a plausible but cut-off number).
        foreach (var line in lines.AsSpan(0, lines.Length - 1))
        {
            // 10 fields; 8 in journals written before face passages (uid … ticks), still read after an upgrade.
            var f = line.Split('|');
            if (f.Length is not (8 or 10) || !long.TryParse(f[7], NumberStyles.None, CultureInfo.InvariantCulture, out long ticks)) continue;
            Holder? holder = f[4].Length > 0 && long.TryParse(f[5], CultureInfo.InvariantCulture, out long id)
                ? new Holder(AccessRepository.ParseHolderKind(f[4]), id, "", true, null, null) : null;
            bool granted = f[6] is "granted" or "granted-passback-warning" or "manual-pass" or "emergency-free-pass";
            entries.Add(new Passage
            {
                Uid = f[0],
                Gate = f[1],
                Direction = f[2] == "exit" ? Direction.Exit : Direction.Entry,
                CardNumber = ulong.TryParse(f[3], CultureInfo.InvariantCulture, out ulong card) ? card : null,
                Holder = holder,
                Decision = new GateDecision(granted, ReasonFromCode(f[6]), null),
                DecidedAt = new DateTimeOffset(ticks, TimeSpan.Zero),
                Outcome = granted ? PassageOutcome.Unknown : PassageOutcome.Denied,
                Note = "recovered from the actuation journal after an unclean stop",
                Credential = f.Length == 10 ? CredentialFromCode(f[8]) : PassageCredential.Card,
                CameraId = f.Length == 10 && f[9].Length > 0 ? f[9] : null,
            });
        }
        return entries;
    }

    private static PassageCredential CredentialFromCode(string code) => code switch
    {
        "face" => PassageCredential.Face,
        "card" => PassageCredential.Card,
        _ => PassageCredential.None,
    };

    private static DecisionReason ReasonFromCode(string code)
    {
        foreach (var reason in Enum.GetValues<DecisionReason>())
            if (GateDecision.ReasonCode(reason) == code) return reason;
        return DecisionReason.InternalError;
    }

    /// <summary>Empties the journal after recovery has stored its entries.</summary>
    public void Truncate()
    {
        lock (_gate) { _file.SetLength(0); _pending = 0; }
    }

    public void Dispose() => _file.Dispose();
}
