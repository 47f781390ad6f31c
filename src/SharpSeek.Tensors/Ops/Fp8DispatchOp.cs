// Fp8DispatchOp.cs: DeepSeek-V3's low-precision MoE communication (arXiv 2412.19437 §3.3.3, "Low-Precision
// Communication"): the activations are quantized to E4M3 before the dispatch, with power-of-two scales per 1×128 tile,
// and the activation gradient before the experts' down projections likewise in backward; the combine stays in high
// precision both ways. In one process nothing is sent, so the ops give what the receiving side would read: Apply's
// forward is the dispatched rows' values (codes × scale, exact in f32) and its backward passes the gradient on
// unchanged (the dispatch's backward is a combine); ApplyToGradient is the identity forward and quantizes the gradient
// in backward. Power-of-two scales make the receiving FP8 GEMM's own quantization lossless: a value on a tile's
// power-of-two E4M3 grid is on it again (Fp8Recipe.PowerOfTwoInput / PowerOfTwoGradient tell the experts' Linears to
// quantize with power-of-two scales where these ops feed them), so the experts' Fprop and their down projection's
// Dgrad compute with exactly the values that crossed (a tile whose largest code rounded down to 224 comes back with half
// the scale and twice the codes: the same values). That needs 1×128 tiles at both ends, so the recipe refuses
// fp8-dispatch with tensor-scales or block-gradients. Not here: the routing and the gather (Moe), the experts' GEMMs
// (Fp8LinearOp, Fp8SwiGluOp). Tested by Fp8DispatchOpTests.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class Fp8DispatchOp
{
    private const string Rows = "the MoE dispatch's activations";
    private const string Gradient = "the activation gradient before the MoE down projections";

    /// <summary>x: (..., D) F32 → the values of x in E4M3 with a power-of-two scale per row per 1×128 tile; the gradient
    /// passes through unchanged.</summary>
    public static Var Apply(Tape tape, Var x)
    {
        var xv = tape.Value(x);
        var cols = Check(xv);
        var y = tape.Arena.AllocateUninitialized(DType.F32, xv.Shape);
        Quantized(tape, xv.AsSpan<float>(), cols, y.AsSpan<float>(), Rows);
        return Expect.Record(tape, y, new Node(OpKind.Fp8Dispatch, default, x), tape.ShouldRecord(x));
    }

    /// <summary>x: (..., D) F32 → x unchanged; in backward its gradient becomes the values of the output's gradient in
    /// E4M3 with a power-of-two scale per row per 1×128 tile.</summary>
    public static Var ApplyToGradient(Tape tape, Var x)
    {
        var xv = tape.Value(x);
        Check(xv);
        Span<long> dims = stackalloc long[xv.Rank];
        for (var i = 0; i < dims.Length; i++) { dims[i] = xv.Size(i); }
        return Expect.Record(tape, xv.Reshape(dims), new Node(OpKind.Fp8Dispatch, default, x) { Flag0 = true }, tape.ShouldRecord(x)); // a view, as ReshapeOp
    }

    internal static void Backward(Tape tape, in Node node)
    {
        var dx = tape.GradOrDefault(node.A);
        if (!dx.IsValid) { return; }
        var dy = tape.Grad(node.Out);
        if (!node.Flag0)
        {
            Expect.AddInto(tape, node.A, dy, 1.0);
            return;
        }
        using var scratch = tape.Arena.Scope();
        var q = tape.Arena.AllocateUninitialized(DType.F32, dy.Shape);
        Quantized(tape, dy.AsSpan<float>(), (int)dy.Shape.Last, q.AsSpan<float>(), Gradient);
        Expect.AddInto(tape, node.A, q, 1.0);
    }

    // values (rows, cols) → the values of their E4M3 codes with power-of-two 1×128 scales; non-finite values throw.
    private static void Quantized(Tape tape, ReadOnlySpan<float> values, int cols, Span<float> result, string what)
    {
        var rows = cols == 0 ? 0 : values.Length / cols;
        using var scratch = tape.Arena.Scope();
        var (q, s) = Fp8LinearOp.Codes(tape, rows, cols);
        using var region = Profiler.Region(ProfileCategory.Quantize);
        Fp8Quant.QuantizeActivations(values, rows, cols, q.AsSpan<Float8E4M3>(), s.AsSpan<float>(), powerOfTwoScales: true, result);
        Fp8Quant.ThrowIfNotFinite(q.AsSpan<Float8E4M3>(), cols, what);
    }

    private static int Check(Tensor x) => x.DType == DType.F32 && x.Rank >= 1
        ? (int)x.Shape.Last
        : throw new ArgumentException($"fp8 dispatch: expected F32 activations (..., D); got {x.DType} {x.Shape}");
}
