namespace Kezekshi.Edge.Biometrics.Index;

/// <summary>
/// The best <c>capacity</c> DISTINCT pupils seen during a scan, best first, each with its best row.
/// </summary>
/// <remarks>
/// Distinct pupils, not templates: a pupil enrolled with ten templates must not crowd the runner-up
/// out of the list, because the open-set rule compares the best pupil with the best DIFFERENT pupil.
/// Most rows fail the <see cref="MinScore"/> test, so the linear insert runs rarely.
/// </remarks>
internal sealed class TopPupils
{
    private readonly float[] _scores;
    private readonly long[] _pupils;
    private readonly int[] _rows;

    public TopPupils(int capacity)
    {
        _scores = new float[capacity];
        _pupils = new long[capacity];
        _rows = new int[capacity];
    }

    public int Count { get; private set; }

    /// <summary>A score must beat this to change the list.</summary>
    public float MinScore => Count < _scores.Length ? float.NegativeInfinity : _scores[Count - 1];

    public float ScoreAt(int i) => _scores[i];

    public long PupilAt(int i) => _pupils[i];

    public int RowAt(int i) => _rows[i];

    public void Offer(float score, long pupil, int row)
    {
        if (score <= MinScore)
            return;
        int existing = Array.IndexOf(_pupils, pupil, 0, Count);
        if (existing >= 0)
        {
            if (score <= _scores[existing])
                return;
            RemoveAt(existing);
        }
        else if (Count == _scores.Length)
        {
            Count--;
        }
        int at = Count;
        while (at > 0 && _scores[at - 1] < score)
        {
            _scores[at] = _scores[at - 1];
            _pupils[at] = _pupils[at - 1];
            _rows[at] = _rows[at - 1];
            at--;
        }
        _scores[at] = score;
        _pupils[at] = pupil;
        _rows[at] = row;
        Count++;
    }

    /// <summary>Replaces entry <paramref name="i"/>'s score (after a float re-rank); call <see cref="Sort"/> afterwards.</summary>
    public void Rescore(int i, float score, int row)
    {
        _scores[i] = score;
        _rows[i] = row;
    }

    public void Sort()
    {
        for (int i = 1; i < Count; i++)
        {
            float score = _scores[i];
            long pupil = _pupils[i];
            int row = _rows[i];
            int j = i;
            while (j > 0 && _scores[j - 1] < score)
            {
                _scores[j] = _scores[j - 1];
                _pupils[j] = _pupils[j - 1];
                _rows[j] = _rows[j - 1];
                j--;
            }
            _scores[j] = score;
            _pupils[j] = pupil;
            _rows[j] = row;
        }
    }

    private void RemoveAt(int i)
    {
        Array.Copy(_scores, i + 1, _scores, i, Count - i - 1);
        Array.Copy(_pupils, i + 1, _pupils, i, Count - i - 1);
        Array.Copy(_rows, i + 1, _rows, i, Count - i - 1);
        Count--;
    }
}
