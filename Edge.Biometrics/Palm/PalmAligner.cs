using Kezekshi.Edge.Biometrics.Imaging;

namespace Kezekshi.Edge.Biometrics.Palm;

/// <summary>
/// Maps the palm onto a fixed grey region of interest (128×128 by default) from four hand landmarks — wrist (0),
/// index MCP (5), middle MCP (9), little-finger MCP (17) — with a least-squares similarity transform, so rotation,
/// scale and position of the hand are removed. The region always shows the palm with the fingers up and the index
/// finger on the right: a hand seen the other way round (a left palm, or a right hand's back) is mirrored first.
/// </summary>
public static class PalmAligner
{
    public const int RegionSize = 128;

    /// <summary>
    /// Where the four landmarks land in a 128-pixel region (index finger on the right). The region is the centre of the
    /// palm: its top edge runs just below the finger bases, the wrist sits below the bottom edge, so the finger webs and
    /// the wrist crease (which move with the pose) stay mostly outside.
    /// </summary>
    private static readonly (float X, float Y)[] _template128 =
    [
        (64f, 150f), // wrist
        (110f, -4f), // index MCP
        (64f, -14f), // middle MCP
        (20f, 6f),   // little-finger MCP
    ];

    private static readonly int[] _landmarks = [HandLandmarks.Wrist, HandLandmarks.IndexMcp, HandLandmarks.MiddleMcp, HandLandmarks.PinkyMcp];

    /// <summary>The region → source transform for a region of <paramref name="size"/> pixels.</summary>
    public static Affine RegionToSource(HandLandmarks hand, int size = RegionSize)
    {
        ArgumentNullException.ThrowIfNull(hand);
        var scale = size / (float)RegionSize;
        var mirrored = hand.Chirality < 0;
        Span<(float X, float Y)> target = stackalloc (float, float)[4];
        Span<(float X, float Y)> source = stackalloc (float, float)[4];
        for (var i = 0; i < 4; i++)
        {
            var (x, y) = _template128[i];
            // For a mirrored hand the fit is made onto the mirrored template (no reflection in a similarity), then the
            // region is flipped back so the index finger is on the right.
            target[i] = ((mirrored ? RegionSize - x : x) * scale, y * scale);
            var p = hand[_landmarks[i]];
            source[i] = (p.X, p.Y);
        }
        var regionToSource = ImageOps.Similarity(source, target).Inverse();
        return mirrored ? ImageOps.Compose(new Affine(-1, 0, size, 0, 1, 0), regionToSource) : regionToSource;
    }

    /// <summary>The aligned region as grey levels (0..255), row-major, <paramref name="size"/>².</summary>
    public static float[] Align(RawImage image, HandLandmarks hand, int size = RegionSize)
    {
        var grey = new float[size * size];
        ImageOps.WarpToGrey(image, RegionToSource(hand, size), size, size, grey);
        return grey;
    }
}
