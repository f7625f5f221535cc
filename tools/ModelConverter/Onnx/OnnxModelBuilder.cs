using System.Buffers.Binary;

namespace Kezekshi.Edge.ModelConverter.Onnx;

/// <summary>ONNX TensorProto.DataType values used here.</summary>
public enum OnnxDataType
{
    Float = 1,
    Int32 = 6,
    Int64 = 7,
}

/// <summary>A constant tensor (an initializer) stored as little-endian raw data.</summary>
public sealed record OnnxTensor(string Name, long[] Dims, OnnxDataType DataType, byte[] RawData)
{
    public static OnnxTensor FromFloats(string name, long[] dims, ReadOnlySpan<float> values)
    {
        var raw = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), values[i]);
        return new OnnxTensor(name, dims, OnnxDataType.Float, raw);
    }

    public static OnnxTensor FromInt64s(string name, long[] dims, ReadOnlySpan<long> values)
    {
        var raw = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8), values[i]);
        return new OnnxTensor(name, dims, OnnxDataType.Int64, raw);
    }
}

/// <summary>A node attribute: one of int, float, string, ints or floats.</summary>
public sealed record OnnxAttribute(string Name, long? Int = null, float? Float = null, string? Text = null, long[]? Ints = null, float[]? Floats = null)
{
    public static OnnxAttribute Of(string name, long value) => new(name, Int: value);

    public static OnnxAttribute Of(string name, float value) => new(name, Float: value);

    public static OnnxAttribute Of(string name, string value) => new(name, Text: value);

    public static OnnxAttribute Of(string name, params long[] values) => new(name, Ints: values);
}

/// <summary>One operator in the graph.</summary>
public sealed record OnnxNode(string OpType, string Name, string[] Inputs, string[] Outputs, IReadOnlyList<OnnxAttribute> Attributes);

/// <summary>A graph input or output: a float tensor; a negative dimension is written as a free "N", a null shape is left for the runtime to infer.</summary>
public sealed record OnnxValueInfo(string Name, long[]? Shape, OnnxDataType DataType = OnnxDataType.Float);

/// <summary>
/// Builds an ONNX ModelProto and serialises it with <see cref="ProtoWriter"/>.
/// Field numbers are those of onnx/onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
/// TensorProto, ValueInfoProto, TypeProto, TensorShapeProto).
/// </summary>
public sealed class OnnxModelBuilder(string graphName, long opsetVersion = 13)
{
    private readonly List<OnnxNode> _nodes = [];
    private readonly List<OnnxTensor> _initializers = [];
    private readonly List<OnnxValueInfo> _inputs = [];
    private readonly List<OnnxValueInfo> _outputs = [];
    private readonly SortedDictionary<string, string> _metadata = new(StringComparer.Ordinal);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public long OpsetVersion { get; } = opsetVersion;

    public IReadOnlyList<OnnxNode> Nodes => _nodes;

    public void AddInput(OnnxValueInfo input) => _inputs.Add(input);

    public void AddOutput(OnnxValueInfo output) => _outputs.Add(output);

    public void AddInitializer(OnnxTensor tensor)
    {
        if (_names.Add(tensor.Name))
            _initializers.Add(tensor);
    }

    public bool HasInitializer(string name) => _initializers.Exists(t => t.Name == name);

    public void AddNode(string opType, string name, string[] inputs, string[] outputs, params OnnxAttribute[] attributes) =>
        _nodes.Add(new OnnxNode(opType, name, inputs, outputs, attributes));

    public void SetMetadata(string key, string value) => _metadata[key] = value;

    /// <summary>The .onnx file bytes. IR version 7 is the one that goes with opset 13.</summary>
    public byte[] Build(string producer, string producerVersion)
    {
        var model = new ProtoWriter();
        model.Int(1, 7); // ir_version
        model.String(2, producer); // producer_name
        model.String(3, producerVersion); // producer_version
        model.Message(7, WriteGraph); // graph
        model.Message(8, o => // opset_import
        {
            o.String(1, "");
            o.Int(2, OpsetVersion);
        });
        foreach (var (key, value) in _metadata)
        {
            model.Message(14, e => // metadata_props
            {
                e.String(1, key);
                e.String(2, value);
            });
        }
        return model.ToArray();
    }

    private void WriteGraph(ProtoWriter g)
    {
        foreach (var node in _nodes)
            g.Message(1, n => WriteNode(n, node));
        g.String(2, graphName);
        foreach (var t in _initializers)
            g.Message(5, w => WriteTensor(w, t));
        foreach (var i in _inputs)
            g.Message(11, w => WriteValueInfo(w, i));
        foreach (var o in _outputs)
            g.Message(12, w => WriteValueInfo(w, o));
    }

    private static void WriteNode(ProtoWriter n, OnnxNode node)
    {
        foreach (var i in node.Inputs)
            n.String(1, i);
        foreach (var o in node.Outputs)
            n.String(2, o);
        n.String(3, node.Name);
        n.String(4, node.OpType);
        foreach (var a in node.Attributes)
            n.Message(5, w => WriteAttribute(w, a));
    }

    private static void WriteAttribute(ProtoWriter a, OnnxAttribute attribute)
    {
        a.String(1, attribute.Name);
        // AttributeType: FLOAT = 1, INT = 2, STRING = 3, FLOATS = 6, INTS = 7 (field 20).
        if (attribute.Float is { } f)
        {
            a.Float(2, f);
            a.Int(20, 1);
        }
        else if (attribute.Int is { } i)
        {
            a.Int(3, i);
            a.Int(20, 2);
        }
        else if (attribute.Text is { } s)
        {
            a.String(4, s);
            a.Int(20, 3);
        }
        else if (attribute.Floats is { } fs)
        {
            a.PackedFloats(7, fs);
            a.Int(20, 6);
        }
        else if (attribute.Ints is { } ints)
        {
            a.PackedInts(8, ints);
            a.Int(20, 7);
        }
        else
        {
            throw new InvalidOperationException($"Attribute {attribute.Name} has no value.");
        }
    }

    private static void WriteTensor(ProtoWriter t, OnnxTensor tensor)
    {
        t.PackedInts(1, tensor.Dims); // dims
        t.Int(2, (long)tensor.DataType); // data_type
        t.String(8, tensor.Name); // name
        t.Bytes(9, tensor.RawData); // raw_data
    }

    private static void WriteValueInfo(ProtoWriter v, OnnxValueInfo info)
    {
        v.String(1, info.Name);
        v.Message(2, type => type.Message(1, tensor => // TypeProto.tensor_type
        {
            tensor.Int(1, (long)info.DataType); // elem_type
            if (info.Shape is null)
                return;
            tensor.Message(2, shape => // TensorShapeProto
            {
                foreach (var d in info.Shape)
                {
                    shape.Message(1, dim =>
                    {
                        if (d >= 0)
                            dim.Int(1, d); // dim_value
                        else
                            dim.String(2, "N"); // dim_param
                    });
                }
            });
        }));
    }
}
