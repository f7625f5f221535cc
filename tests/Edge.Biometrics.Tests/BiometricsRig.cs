using Kezekshi.Edge.Biometrics.Audit;
using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Enrolment;
using Kezekshi.Edge.Biometrics.Index;
using Kezekshi.Edge.Biometrics.Storage;

namespace Kezekshi.Edge.Biometrics.Tests;

/// <summary>A time source the test moves by hand (both wall clock and timestamps).</summary>
internal sealed class ManualTime : TimeProvider
{
    private DateTimeOffset _now = new(2026, 9, 1, 7, 30, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public override long GetTimestamp() => _now.UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>
/// Reads a template written into the pixels (row 0: one byte per component, 128 = 0), quality from
/// pixel (0,1). A flat grey row 0 means "no face". Deterministic: it tests enrolment LOGIC; the real
/// face extractor comes from the face pipeline.
/// </summary>
internal sealed class PixelTemplateExtractor(int dimensions = 16) : ITemplateExtractor
{
    public BiometricModality Modality => BiometricModality.Face;
    public int Dimensions => dimensions;
    public string ModelId => "pixel-test-1";

    public TemplateExtraction Extract(RawImage image)
    {
        if (image.Channels != 1 || image.Width < dimensions || image.Height < 2)
            return TemplateExtraction.Rejected($"the image is {image.Width}x{image.Height}x{image.Channels}; expected grey, at least {dimensions}x2");
        var v = new float[dimensions];
        for (int i = 0; i < dimensions; i++)
            v[i] = (image.Pixels[i] - 128) / 127f;
        if (v.All(x => x == 0))
            return TemplateExtraction.Rejected("no face found");
        TestVectors.Normalise(v);
        return TemplateExtraction.Of(v, image.Pixels[image.Width] / 255f);
    }

    public static RawImage Image(float[] template, float quality, int width = 32)
    {
        var pixels = new byte[width * 2];
        Array.Fill(pixels, (byte)128);
        float max = template.Max(MathF.Abs);
        for (int i = 0; i < template.Length; i++)
            pixels[i] = (byte)Math.Clamp(128 + MathF.Round(template[i] / max * 127), 1, 255);
        pixels[width] = (byte)Math.Round(quality * 255);
        return new RawImage(width, 2, 1, pixels);
    }

    public static byte[] Pgm(RawImage image) =>
        [.. System.Text.Encoding.ASCII.GetBytes($"P5\n# test\n{image.Width} {image.Height}\n255\n"), .. image.Pixels];
}

/// <summary>Everything a biometrics test needs over a real biometrics.db in a temp directory.</summary>
internal sealed class BiometricsRig : IDisposable
{
    public const string Operator = "office.aigerim";
    public static readonly string Document = new('a', 64);

    public BiometricsRig(bool keepRawImages = false, BiometricsOptions? options = null, MatchPolicy? policy = null)
    {
        Directory = Path.Combine(Path.GetTempPath(), "kz-bio-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Options = options ?? new BiometricsOptions
        {
            Enabled = true,
            Dpia = new DpiaRecord { Reference = "DPIA-2026-07", ApprovedBy = "A. Nurlanovna, head teacher", ApprovedOn = new DateOnly(2026, 8, 20) },
            KeepRawImages = keepRawImages,
            MinEnrolmentQuality = 0.5f,
        };
        Database = BiometricsDatabase.Open(Path.Combine(Directory, BiometricsDatabase.FileName));
        Key = TemplateKey.LoadOrCreate(Path.Combine(Directory, "biometrics.key"));
        Audit = new AuditLog(Database, Time);
        Store = new TemplateStore(Database, Key, Audit, Time, Options.KeepRawImages);
        Index = new EmbeddingIndex(policy ?? new MatchPolicy { AcceptThreshold = 0.8f, Margin = 0.05f });
        Consents = new ConsentService(Store, Index, Audit, Time);
        Enrolment = new EnrolmentService(Extractor, Store, Index, Consents, Options, Time);
        Events = new OutgoingEvents(Database);
    }

    public string Directory { get; }
    public ManualTime Time { get; } = new();
    public BiometricsOptions Options { get; }
    public BiometricsDatabase Database { get; }
    public byte[] Key { get; }
    public AuditLog Audit { get; }
    public TemplateStore Store { get; }
    public EmbeddingIndex Index { get; }
    public ConsentService Consents { get; }
    public PixelTemplateExtractor Extractor { get; } = new();
    public EnrolmentService Enrolment { get; }
    public OutgoingEvents Events { get; }
    public TemplateSpace Space => new(BiometricModality.Face, Extractor.ModelId);

    public ConsentGrant Grant(long pupil, BiometricPurpose purposes, string guardian = "g-mother", int days = 365) =>
        new(pupil, guardian, "Guardian " + guardian, Time.GetUtcNow(), Document, purposes, Time.GetUtcNow().AddDays(days), Operator, NoCrossBorder: true);

    /// <summary>Consents for Access+Attendance and enrols three images near <paramref name="identity"/>.</summary>
    public EnrolmentResult ConsentAndEnrol(long pupil, float[] identity, Random random, BiometricPurpose purposes = BiometricPurpose.Access | BiometricPurpose.Attendance)
    {
        Consents.RecordGrant(Grant(pupil, purposes));
        return Enrolment.Enrol(pupil, Enumerable.Range(0, 3).Select(_ => PixelTemplateExtractor.Image(TestVectors.Near(identity, random, 0.1f), 0.9f)).ToList(), Operator);
    }

    public IdentifyDecision Identify(float[] query, BiometricPurpose purpose) => Index.Identify(query, purpose, Space, SearchPrecision.Float32);

    public void Dispose()
    {
        Store.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}
