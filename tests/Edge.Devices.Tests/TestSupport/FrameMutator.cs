namespace Kezekshi.Edge.Devices.Tests.TestSupport;

/// <summary>How a <see cref="FrameMutator"/> changed a frame.</summary>
public enum Mutation
{
    Unchanged,
    BitFlips,
    Truncated,
    Inserted,
    Deleted,
    Random,
    Doubled,
}

/// <summary>
/// Seeded mutations of valid frames for bad-input tests: bit flips, truncation, insertion, deletion,
/// random bytes and doubled frames, with a small share left unchanged as a control.
/// </summary>
public sealed class FrameMutator(int seed, int maxRandomLength = 300)
{
    private readonly Random _random = new(seed);

    public int MaxOutputLength(int validLength) => Math.Max(2 * validLength, maxRandomLength) + 8;

    public int Next(int maxExclusive) => _random.Next(maxExclusive);

    /// <summary>Writes a mutation of <paramref name="valid"/> into <paramref name="output"/>; returns its length.</summary>
    public int Mutate(ReadOnlySpan<byte> valid, Span<byte> output, out Mutation mutation)
    {
        int roll = _random.Next(100);
        mutation = roll switch
        {
            < 3 => Mutation.Unchanged,
            < 38 => Mutation.BitFlips,
            < 53 => Mutation.Truncated,
            < 68 => Mutation.Inserted,
            < 80 => Mutation.Deleted,
            < 93 => Mutation.Random,
            _ => Mutation.Doubled,
        };
        switch (mutation)
        {
            case Mutation.BitFlips:
                {
                    valid.CopyTo(output);
                    int flips = 1 + _random.Next(3);
                    for (int i = 0; i < flips && valid.Length > 0; i++)
                    {
                        int bit = _random.Next(valid.Length * 8);
                        output[bit >> 3] ^= (byte)(1 << (bit & 7));
                    }
                    return valid.Length;
                }
            case Mutation.Truncated:
                {
                    int length = valid.Length == 0 ? 0 : _random.Next(valid.Length);
                    valid[..length].CopyTo(output);
                    return length;
                }
            case Mutation.Inserted:
                {
                    int at = _random.Next(valid.Length + 1);
                    int count = 1 + _random.Next(4);
                    valid[..at].CopyTo(output);
                    _random.NextBytes(output.Slice(at, count));
                    valid[at..].CopyTo(output[(at + count)..]);
                    return valid.Length + count;
                }
            case Mutation.Deleted:
                {
                    if (valid.Length == 0) return 0;
                    int at = _random.Next(valid.Length);
                    int count = Math.Min(1 + _random.Next(3), valid.Length - at);
                    valid[..at].CopyTo(output);
                    valid[(at + count)..].CopyTo(output[at..]);
                    return valid.Length - count;
                }
            case Mutation.Random:
                {
                    int length = _random.Next(maxRandomLength + 1);
                    _random.NextBytes(output[..length]);
                    return length;
                }
            case Mutation.Doubled:
                valid.CopyTo(output);
                valid.CopyTo(output[valid.Length..]);
                return 2 * valid.Length;
            default:
                valid.CopyTo(output);
                return valid.Length;
        }
    }
}
