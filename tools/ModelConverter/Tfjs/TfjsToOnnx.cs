using Kezekshi.Edge.ModelConverter.Onnx;

namespace Kezekshi.Edge.ModelConverter.Tfjs;

/// <summary>
/// Translates a TFJS graph model into an ONNX graph (opset 13).
/// </summary>
/// <remarks>
/// Layout: activations stay NHWC, as in the source, so element-wise ops, Pad, Reshape, Mean and
/// Concat keep their TensorFlow axes unchanged. Only the ops ONNX defines on NCHW (Conv, ConvTranspose,
/// MaxPool, AveragePool) are wrapped in a Transpose in and a Transpose out; ONNX Runtime's transpose
/// optimiser then cancels the back-to-back pairs between consecutive convolutions. Correctness first: no
/// axis is ever rewritten by hand, and the parity test compares every output with TFJS.
/// TensorFlow "SAME" padding puts the odd pixel at the end, which is ONNX's SAME_UPPER.
/// </remarks>
public sealed class TfjsToOnnx
{
    private static readonly long[] ToNchw = [0, 3, 1, 2];
    private static readonly long[] ToNhwc = [0, 2, 3, 1];

    private readonly TfjsGraph _graph;
    private readonly OnnxModelBuilder _onnx;
    private readonly Dictionary<string, TfjsNode> _byName;
    private readonly Dictionary<string, string> _nchwOf = new(StringComparer.Ordinal);
    private int _counter;

    private TfjsToOnnx(TfjsGraph graph, string name)
    {
        _graph = graph;
        _onnx = new OnnxModelBuilder(name);
        _byName = graph.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
    }

    /// <summary>Ops this converter translates (anything else stops the conversion with its name).</summary>
    public static IReadOnlyList<string> SupportedOps { get; } =
    [
        "Placeholder", "Const", "Identity", "Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative",
        "Conv2DBackpropInput", "MaxPool", "AvgPool", "Add", "AddV2", "AddN", "Sub", "Mul", "RealDiv", "Maximum", "Minimum",
        "Relu", "Relu6", "Prelu", "Sigmoid", "Tanh", "Abs", "Neg", "Exp", "Square", "Sqrt", "Rsqrt", "Softmax", "Pad",
        "Reshape", "Squeeze", "Mean", "Sum", "MatMul", "_FusedMatMul", "ConcatV2",
    ];

    /// <summary>Converts <paramref name="graph"/>; the result is the same bytes every time for the same input.</summary>
    public static OnnxModelBuilder Convert(TfjsGraph graph, string name)
    {
        var c = new TfjsToOnnx(graph, name);
        c.Run();
        return c._onnx;
    }

    private void Run()
    {
        var unsupported = _graph.Nodes.Select(n => n.Op).Where(op => !SupportedOps.Contains(op)).Distinct().ToList();
        if (unsupported.Count > 0)
            throw new NotSupportedException($"The model uses ops the converter does not translate: {string.Join(", ", unsupported)}.");
        foreach (var node in _graph.Nodes)
            Translate(node);
        var outputs = _graph.SignatureOutputs.Length > 0
            ? _graph.SignatureOutputs.Select(StripPort).ToArray()
            : Unconsumed();
        foreach (var o in outputs)
            _onnx.AddOutput(new OnnxValueInfo(o, null));
    }

    private string[] Unconsumed()
    {
        var consumed = new HashSet<string>(_graph.Nodes.SelectMany(n => n.Inputs).Select(StripPort), StringComparer.Ordinal);
        return [.. _graph.Nodes.Where(n => n.Op is not "Const" and not "Placeholder" && !consumed.Contains(n.Name)).Select(n => n.Name)];
    }

    private static string StripPort(string name)
    {
        var colon = name.LastIndexOf(':');
        return colon > 0 && int.TryParse(name.AsSpan(colon + 1), out var port) && port == 0 ? name[..colon] : name;
    }

    private string Fresh(string hint) => $"{hint}__{_counter++}";

    /// <summary>The ONNX name of a TF input; constants become initializers the first time they are used as tensors.</summary>
    private string In(string tfInput)
    {
        var name = StripPort(tfInput);
        if (name.Contains(':', StringComparison.Ordinal))
            throw new NotSupportedException($"Input {tfInput} reads a second output of a node; no supported op has one.");
        if (_byName.TryGetValue(name, out var node) && node.Op == "Const" && !_onnx.HasInitializer(name))
        {
            var w = Weight(name);
            if (w.Floats is not null)
                _onnx.AddInitializer(OnnxTensor.FromFloats(name, [.. w.Shape.Select(d => (long)d)], w.Floats));
            else
                _onnx.AddInitializer(OnnxTensor.FromInt64s(name, [.. w.Shape.Select(d => (long)d)], [.. w.Ints!.Select(i => (long)i)]));
        }
        return name;
    }

    private TfjsWeight Weight(string tfInput)
    {
        var name = StripPort(tfInput);
        return _graph.Weights.TryGetValue(name, out var w)
            ? w
            : throw new InvalidDataException($"Constant {name} has no weights in the shards.");
    }

    private long[] IntsOf(string tfInput)
    {
        var w = Weight(tfInput);
        return w.Ints is not null ? [.. w.Ints.Select(i => (long)i)] : [.. w.Floats!.Select(f => (long)f)];
    }

    private string Constant(string hint, long[] dims, float[] values)
    {
        var name = Fresh(hint);
        _onnx.AddInitializer(OnnxTensor.FromFloats(name, dims, values));
        return name;
    }

    private string Constant(string hint, long[] dims, long[] values)
    {
        var name = Fresh(hint);
        _onnx.AddInitializer(OnnxTensor.FromInt64s(name, dims, values));
        return name;
    }

    private string Nchw(string nhwc)
    {
        if (_nchwOf.TryGetValue(nhwc, out var cached))
            return cached;
        var name = Fresh(nhwc + "/nchw");
        _onnx.AddNode("Transpose", name, [nhwc], [name], OnnxAttribute.Of("perm", ToNchw));
        _nchwOf[nhwc] = name;
        return name;
    }

    private void Node(string op, string output, string[] inputs, params OnnxAttribute[] attributes) =>
        _onnx.AddNode(op, output, inputs, [output], attributes);

    private void Translate(TfjsNode n)
    {
        switch (n.Op)
        {
            case "Const":
                break; // emitted on first use
            case "Placeholder":
            {
                var dims = n.Attributes.GetProperty("shape").GetProperty("shape").GetProperty("dim").EnumerateArray()
                    .Select(d => long.Parse(d.GetProperty("size").GetString()!, System.Globalization.CultureInfo.InvariantCulture))
                    .Select(d => d < 0 ? 1L : d).ToArray(); // one frame at a time: a fixed batch lets ORT plan memory
                _onnx.AddInput(new OnnxValueInfo(n.Name, dims));
                break;
            }
            case "Identity":
                Node("Identity", n.Name, [In(n.Inputs[0])]);
                break;
            case "Conv2D" or "_FusedConv2D" or "DepthwiseConv2dNative" or "FusedDepthwiseConv2dNative":
                Convolution(n);
                break;
            case "Conv2DBackpropInput":
                TransposedConvolution(n);
                break;
            case "MaxPool" or "AvgPool":
                Pool(n);
                break;
            case "Add" or "AddV2":
                Node("Add", n.Name, [In(n.Inputs[0]), In(n.Inputs[1])]);
                break;
            case "AddN":
                Node("Sum", n.Name, [.. n.Inputs.Select(In)]);
                break;
            case "Sub":
                Node("Sub", n.Name, [In(n.Inputs[0]), In(n.Inputs[1])]);
                break;
            case "Mul":
                Node("Mul", n.Name, [In(n.Inputs[0]), In(n.Inputs[1])]);
                break;
            case "RealDiv":
                Node("Div", n.Name, [In(n.Inputs[0]), In(n.Inputs[1])]);
                break;
            case "Maximum":
                Node("Max", n.Name, [In(n.Inputs[0]), In(n.Inputs[1])]);
                break;
            case "Minimum":
                Node("Min", n.Name, [In(n.Inputs[0]), In(n.Inputs[1])]);
                break;
            case "Relu" or "Sigmoid" or "Tanh" or "Abs" or "Neg" or "Exp" or "Sqrt":
                Node(n.Op, n.Name, [In(n.Inputs[0])]);
                break;
            case "Relu6":
                Relu6(In(n.Inputs[0]), n.Name);
                break;
            case "Prelu":
                Node("PRelu", n.Name, [In(n.Inputs[0]), In(n.Inputs[1])]);
                break;
            case "Square":
            {
                var x = In(n.Inputs[0]);
                Node("Mul", n.Name, [x, x]);
                break;
            }
            case "Rsqrt":
            {
                var sqrt = Fresh(n.Name + "/sqrt");
                Node("Sqrt", sqrt, [In(n.Inputs[0])]);
                Node("Reciprocal", n.Name, [sqrt]);
                break;
            }
            case "Softmax":
                Node("Softmax", n.Name, [In(n.Inputs[0])], OnnxAttribute.Of("axis", -1L));
                break;
            case "Pad":
            {
                var pairs = IntsOf(n.Inputs[1]);
                var rank = pairs.Length / 2;
                var pads = new long[pairs.Length];
                for (var i = 0; i < rank; i++)
                {
                    pads[i] = pairs[2 * i];
                    pads[rank + i] = pairs[(2 * i) + 1];
                }
                Node("Pad", n.Name, [In(n.Inputs[0]), Constant(n.Name + "/pads", [pads.Length], pads)]);
                break;
            }
            case "Reshape":
            {
                var shape = IntsOf(n.Inputs[1]);
                Node("Reshape", n.Name, [In(n.Inputs[0]), Constant(n.Name + "/shape", [shape.Length], shape)]);
                break;
            }
            case "Squeeze":
            {
                var axes = n.Ints("squeeze_dims");
                if (axes.Length == 0)
                    Node("Squeeze", n.Name, [In(n.Inputs[0])]);
                else
                    Node("Squeeze", n.Name, [In(n.Inputs[0]), Constant(n.Name + "/axes", [axes.Length], axes)]);
                break;
            }
            case "Mean":
            {
                var axes = IntsOf(n.Inputs[1]);
                Node("ReduceMean", n.Name, [In(n.Inputs[0])], OnnxAttribute.Of("axes", axes), OnnxAttribute.Of("keepdims", n.Bool("keep_dims") ? 1L : 0L));
                break;
            }
            case "Sum":
            {
                var axes = IntsOf(n.Inputs[1]);
                Node("ReduceSum", n.Name, [In(n.Inputs[0]), Constant(n.Name + "/axes", [axes.Length], axes)], OnnxAttribute.Of("keepdims", n.Bool("keep_dims") ? 1L : 0L));
                break;
            }
            case "MatMul" or "_FusedMatMul":
                MatMul(n);
                break;
            case "ConcatV2":
            {
                var axis = IntsOf(n.Inputs[^1])[0];
                Node("Concat", n.Name, [.. n.Inputs[..^1].Select(In)], OnnxAttribute.Of("axis", axis));
                break;
            }
            default:
                throw new NotSupportedException($"Op {n.Op} ({n.Name}) is not supported.");
        }
    }

    private void Relu6(string input, string output) =>
        Node("Clip", output, [input, Constant(output + "/min", [], [0f]), Constant(output + "/max", [], [6f])]);

    private OnnxAttribute[] Window(TfjsNode n, long[] kernel)
    {
        var strides = n.Ints("strides");
        var attributes = new List<OnnxAttribute> { OnnxAttribute.Of("strides", strides.Length == 4 ? [strides[1], strides[2]] : [1L, 1L]) };
        if (kernel.Length > 0)
            attributes.Add(OnnxAttribute.Of("kernel_shape", kernel));
        var dilations = n.Ints("dilations");
        if (dilations.Length == 4 && n.Op != "MaxPool" && n.Op != "AvgPool")
            attributes.Add(OnnxAttribute.Of("dilations", [dilations[1], dilations[2]]));
        var padding = n.Text("padding", "VALID");
        switch (padding)
        {
            case "SAME":
                attributes.Add(OnnxAttribute.Of("auto_pad", "SAME_UPPER"));
                break;
            case "VALID":
                attributes.Add(OnnxAttribute.Of("auto_pad", "VALID"));
                break;
            case "EXPLICIT":
            {
                var p = n.Ints("explicit_paddings"); // [n0, n1, h0, h1, w0, w1, c0, c1] for NHWC
                attributes.Add(OnnxAttribute.Of("pads", [p[2], p[4], p[3], p[5]]));
                break;
            }
            default:
                throw new NotSupportedException($"{n.Name}: padding {padding} is not supported.");
        }
        if (n.Text("data_format", "NHWC") != "NHWC")
            throw new NotSupportedException($"{n.Name}: only NHWC models are supported.");
        return [.. attributes];
    }

    private void Convolution(TfjsNode n)
    {
        var depthwise = n.Op.Contains("Depthwise", StringComparison.Ordinal);
        var filter = Weight(n.Inputs[1]);
        var (kh, kw, a, b) = (filter.Shape[0], filter.Shape[1], filter.Shape[2], filter.Shape[3]);
        float[] weights;
        long[] dims;
        long group = 1;
        var src = filter.Floats!;
        if (depthwise)
        {
            // TF [kh, kw, C, M] -> ONNX [C*M, 1, kh, kw]; TF orders depthwise outputs as c*M + m.
            var (channels, multiplier) = (a, b);
            weights = new float[src.Length];
            for (var y = 0; y < kh; y++)
                for (var x = 0; x < kw; x++)
                    for (var c = 0; c < channels; c++)
                        for (var m = 0; m < multiplier; m++)
                            weights[((((c * multiplier) + m) * kh) + y) * kw + x] = src[(((((y * kw) + x) * channels) + c) * multiplier) + m];
            dims = [channels * multiplier, 1, kh, kw];
            group = channels;
        }
        else
        {
            // TF [kh, kw, in, out] -> ONNX [out, in, kh, kw]
            var (cin, cout) = (a, b);
            weights = new float[src.Length];
            for (var y = 0; y < kh; y++)
                for (var x = 0; x < kw; x++)
                    for (var i = 0; i < cin; i++)
                        for (var o = 0; o < cout; o++)
                            weights[((((o * cin) + i) * kh) + y) * kw + x] = src[(((((y * kw) + x) * cin) + i) * cout) + o];
            dims = [cout, cin, kh, kw];
        }
        var inputs = new List<string> { Nchw(In(n.Inputs[0])), Constant(n.Name + "/W", dims, weights) };
        var fused = n.Texts("fused_ops");
        var args = n.Inputs.Skip(2).ToArray();
        var next = 0;
        var activation = "";
        foreach (var op in fused)
        {
            switch (op)
            {
                case "BiasAdd":
                    var bias = Weight(args[next++]);
                    inputs.Add(Constant(n.Name + "/B", [bias.Count], bias.Floats!));
                    break;
                case "Relu" or "Relu6" or "Prelu" or "LeakyRelu" or "Sigmoid" or "Elu":
                    activation = op;
                    break;
                default:
                    throw new NotSupportedException($"{n.Name}: fused op {op} is not supported.");
            }
        }
        var attributes = Window(n, [kh, kw]).ToList();
        attributes.Add(OnnxAttribute.Of("group", group));
        var conv = Fresh(n.Name + "/conv");
        _onnx.AddNode("Conv", conv, [.. inputs], [conv], [.. attributes]);
        var activated = Activation(n, activation, conv, args.Skip(next).ToArray());
        _onnx.AddNode("Transpose", n.Name, [activated], [n.Name], OnnxAttribute.Of("perm", ToNhwc));
    }

    /// <summary>Applies a fused activation on an NCHW tensor (PReLU's per-channel slope becomes [C,1,1]).</summary>
    private string Activation(TfjsNode n, string activation, string x, string[] args)
    {
        if (activation.Length == 0)
            return x;
        var y = Fresh(n.Name + "/" + activation);
        switch (activation)
        {
            case "Relu" or "Sigmoid":
                Node(activation, y, [x]);
                break;
            case "Relu6":
                Relu6(x, y);
                break;
            case "Elu":
                Node("Elu", y, [x]);
                break;
            case "LeakyRelu":
                Node("LeakyRelu", y, [x], OnnxAttribute.Of("alpha", n.Float("leakyrelu_alpha")));
                break;
            case "Prelu":
            {
                var alpha = Weight(args[0]);
                Node("PRelu", y, [x, Constant(n.Name + "/alpha", [alpha.Count, 1, 1], alpha.Floats!)]);
                break;
            }
            default:
                throw new NotSupportedException($"{n.Name}: activation {activation} is not supported.");
        }
        return y;
    }

    private void TransposedConvolution(TfjsNode n)
    {
        // inputs: output_shape (NHWC), filter [kh, kw, out, in], x
        var outputShape = IntsOf(n.Inputs[0]);
        var filter = Weight(n.Inputs[1]);
        var (kh, kw, cout, cin) = (filter.Shape[0], filter.Shape[1], filter.Shape[2], filter.Shape[3]);
        var src = filter.Floats!;
        var weights = new float[src.Length]; // ONNX ConvTranspose: [in, out, kh, kw]
        for (var y = 0; y < kh; y++)
            for (var x = 0; x < kw; x++)
                for (var o = 0; o < cout; o++)
                    for (var i = 0; i < cin; i++)
                        weights[((((i * cout) + o) * kh) + y) * kw + x] = src[(((((y * kw) + x) * cout) + o) * cin) + i];
        var strides = n.Ints("strides");
        var conv = Fresh(n.Name + "/convT");
        _onnx.AddNode("ConvTranspose", conv, [Nchw(In(n.Inputs[2])), Constant(n.Name + "/W", [cin, cout, kh, kw], weights)], [conv],
            OnnxAttribute.Of("strides", [strides[1], strides[2]]),
            OnnxAttribute.Of("kernel_shape", [(long)kh, kw]),
            OnnxAttribute.Of("output_shape", [outputShape[1], outputShape[2]]));
        _onnx.AddNode("Transpose", n.Name, [conv], [n.Name], OnnxAttribute.Of("perm", ToNhwc));
    }

    private void Pool(TfjsNode n)
    {
        var k = n.Ints("ksize");
        var pool = Fresh(n.Name + "/pool");
        _onnx.AddNode(n.Op == "MaxPool" ? "MaxPool" : "AveragePool", pool, [Nchw(In(n.Inputs[0]))], [pool], Window(n, [k[1], k[2]]));
        _onnx.AddNode("Transpose", n.Name, [pool], [n.Name], OnnxAttribute.Of("perm", ToNhwc));
    }

    private void MatMul(TfjsNode n)
    {
        var a = In(n.Inputs[0]);
        if (n.Bool("transpose_a"))
            throw new NotSupportedException($"{n.Name}: transpose_a is not supported.");
        string b;
        if (n.Bool("transpose_b"))
        {
            var w = Weight(n.Inputs[1]);
            var (rows, cols) = (w.Shape[0], w.Shape[1]);
            var t = new float[w.Count];
            for (var r = 0; r < rows; r++)
                for (var c = 0; c < cols; c++)
                    t[(c * rows) + r] = w.Floats![(r * cols) + c];
            b = Constant(n.Name + "/Bt", [cols, rows], t);
        }
        else
        {
            b = In(n.Inputs[1]);
        }
        var current = n.Op == "MatMul" ? n.Name : Fresh(n.Name + "/matmul");
        Node("MatMul", current, [a, b]);
        if (n.Op == "MatMul")
            return;
        var fused = n.Texts("fused_ops");
        var args = n.Inputs.Skip(2).ToArray();
        var next = 0;
        var activation = "";
        foreach (var op in fused)
        {
            if (op == "BiasAdd")
            {
                var added = Fresh(n.Name + "/bias");
                Node("Add", added, [current, In(args[next++])]);
                current = added;
            }
            else
            {
                activation = op;
            }
        }
        if (activation == "Prelu")
            throw new NotSupportedException($"{n.Name}: PReLU after MatMul is not supported.");
        var result = Activation(n, activation, current, []);
        Node("Identity", n.Name, [result]);
    }
}
