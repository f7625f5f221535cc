using Kezekshi.Edge.Biometrics.Palm;

namespace Kezekshi.Edge.Biometrics.Tests.Palm;

/// <summary>
/// A drawn open right hand, palm towards the camera, fingers up in its own frame: a skin-coloured palm with
/// palm-like line texture (seeded: one seed, one "person"), five fingers and the forearm, on a dark background.
/// Placed in the picture by centre, palm length and rotation; its 21 landmarks are known exactly. It is a test
/// pattern, NOT a hand photo: it checks geometry, not how the models or the descriptor do on real palms.
/// </summary>
internal sealed class SyntheticHand
{
    private const int TextureSize = 128;

    // Hand frame: wrist (0, 0), middle-finger MCP (0, −1); x to the image right for the unrotated hand; unit = palm length.
    private static readonly (float X, float Y)[] _canonical =
    [
        (0f, 0f), // 0 wrist
        (0.30f, -0.22f), (0.55f, -0.45f), (0.72f, -0.68f), (0.85f, -0.88f), // thumb
        (0.40f, -0.93f), (0.45f, -1.25f), (0.49f, -1.50f), (0.52f, -1.72f), // index
        (0f, -1f), (0f, -1.35f), (0f, -1.62f), (0f, -1.88f), // middle
        (-0.20f, -0.95f), (-0.24f, -1.28f), (-0.27f, -1.53f), (-0.30f, -1.76f), // ring
        (-0.38f, -0.80f), (-0.46f, -1.03f), (-0.52f, -1.22f), (-0.57f, -1.40f), // little
    ];

    private static readonly (int From, int To, float Radius)[] _capsules =
    [
        (1, 4, 0.11f), (5, 8, 0.085f), (9, 12, 0.09f), (13, 16, 0.085f), (17, 20, 0.075f),
    ];

    private readonly float[] _texture;

    public SyntheticHand(int seed) => _texture = PalmTexture.Make(seed, TextureSize);

    /// <summary>The 21 landmarks in picture pixels for a hand placed at (cx, cy) (the palm centre), palm length, rotation.</summary>
    public static HandLandmarks Landmarks(float cx, float cy, float palmLength, float radians, bool mirrored = false, float handedness = 0.1f)
    {
        var points = new PalmPoint[21];
        for (var i = 0; i < 21; i++)
        {
            var (x, y) = ToPicture(_canonical[i], cx, cy, palmLength, radians, mirrored);
            points[i] = new PalmPoint(x, y);
        }
        return new HandLandmarks(points, 0.99f, handedness);
    }

    private static (float X, float Y) ToPicture((float X, float Y) p, float cx, float cy, float length, float radians, bool mirrored)
    {
        var (sin, cos) = MathF.SinCos(radians);
        var x = (mirrored ? -p.X : p.X) * length;
        var y = (p.Y + 0.5f) * length; // the palm centre is half way up from the wrist
        return (cx + (cos * x) - (sin * y), cy + (sin * x) + (cos * y));
    }

    /// <summary>Draws the hand into an RGB picture.</summary>
    public RawImage Draw(int width, int height, float cx, float cy, float palmLength, float radians, bool mirrored = false, int noiseSeed = 0, float noise = 3)
    {
        var pixels = new byte[width * height * 3];
        var random = new Random(noiseSeed);
        var (sin, cos) = MathF.SinCos(radians);
        for (var py = 0; py < height; py++)
        {
            for (var px = 0; px < width; px++)
            {
                // Picture → hand frame.
                var dx = px - cx;
                var dy = py - cy;
                var hx = ((cos * dx) + (sin * dy)) / palmLength;
                var hy = ((-sin * dx) + (cos * dy)) / palmLength - 0.5f;
                if (mirrored)
                    hx = -hx;
                var (r, g, b) = Shade(hx, hy);
                var n = (float)((random.NextDouble() - 0.5) * 2 * noise);
                var o = ((py * width) + px) * 3;
                pixels[o] = (byte)Math.Clamp(r + n, 0, 255);
                pixels[o + 1] = (byte)Math.Clamp(g + n, 0, 255);
                pixels[o + 2] = (byte)Math.Clamp(b + n, 0, 255);
            }
        }
        return new RawImage(width, height, 3, pixels);
    }

    private (float R, float G, float B) Shade(float hx, float hy)
    {
        var skin = false;
        var lines = 1f;
        // Palm: an ellipse between the wrist and the finger bases, with the line texture.
        var ex = hx / 0.5f;
        var ey = (hy + 0.5f) / 0.58f;
        if ((ex * ex) + (ey * ey) <= 1)
        {
            skin = true;
            var tx = (int)((hx + 0.55f) / 1.1f * TextureSize);
            var ty = (int)((hy + 1.05f) / 1.1f * TextureSize);
            if (tx >= 0 && ty >= 0 && tx < TextureSize && ty < TextureSize)
                lines = _texture[(ty * TextureSize) + tx] / 190f;
        }
        // Forearm below the wrist.
        if (!skin && hy > -0.1f && MathF.Abs(hx) < 0.33f - (0.05f * Math.Clamp(hy, 0, 1)))
            skin = true;
        foreach (var (from, to, radius) in _capsules)
        {
            if (skin)
                break;
            skin = DistanceToSegment(hx, hy, _canonical[from], _canonical[to]) <= radius;
        }
        return skin ? (224 * lines, 172 * lines, 140 * lines) : (38, 40, 48);
    }

    private static float DistanceToSegment(float x, float y, (float X, float Y) a, (float X, float Y) b)
    {
        var (vx, vy) = (b.X - a.X, b.Y - a.Y);
        var t = Math.Clamp((((x - a.X) * vx) + ((y - a.Y) * vy)) / ((vx * vx) + (vy * vy)), 0, 1);
        var (qx, qy) = (a.X + (t * vx) - x, a.Y + (t * vy) - y);
        return MathF.Sqrt((qx * qx) + (qy * qy));
    }
}

/// <summary>A palm-like texture: long curved principal lines and many short creases on gently shaded skin (grey 0..255).</summary>
internal static class PalmTexture
{
    public static float[] Make(int seed, int size)
    {
        var random = new Random(seed);
        var image = new float[size * size];
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
                image[(y * size) + x] = 180 + (10 * MathF.Sin((x / 40f) + seed) * MathF.Cos(y / 50f));
        for (var line = 0; line < 3; line++)
            Curve(image, size, random, length: 140, width: 2.2f, darkness: 70, bend: 0.012f);
        for (var crease = 0; crease < 45; crease++)
            Curve(image, size, random, length: random.Next(15, 40), width: 1.2f, darkness: 45, bend: 0.03f);
        return image;
    }

    private static void Curve(float[] image, int size, Random random, int length, float width, float darkness, float bend)
    {
        float x = random.Next(size), y = random.Next(size);
        var angle = (float)(random.NextDouble() * Math.PI * 2);
        var turn = (float)((random.NextDouble() * 2) - 1) * bend;
        for (var s = 0; s < length; s++)
        {
            for (var dy = -3; dy <= 3; dy++)
            {
                for (var dx = -3; dx <= 3; dx++)
                {
                    int px = (int)x + dx, py = (int)y + dy;
                    if (px < 0 || py < 0 || px >= size || py >= size)
                        continue;
                    var d = MathF.Sqrt((dx * dx) + (dy * dy));
                    if (d <= width)
                        image[(py * size) + px] -= darkness * (1 - (d / (width + 1))) * 0.5f;
                }
            }
            x += MathF.Cos(angle);
            y += MathF.Sin(angle);
            angle += turn;
        }
    }
}
