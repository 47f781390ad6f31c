// Bf16LinearOp.cs: y = x·Wᵀ with BF16 GEMM inputs and F32 accumulation, the mixed-precision baseline DeepSeek-V3 compares
// its FP8 recipe against (arXiv 2412.19437 §3.3, Fig. 10), forward and backward side by side: x, W and dY are rounded to
// BF16 (nearest even) before each of the three GEMMs; a product of two BF16 values is exact in F32, so the F32 GEMM then
// accumulates exactly as a BF16 tensor core with F32 accumulation would, up to summation order. The forward keeps x's
// BF16 copy for backward (the F32 x stays in the step arena too, so this saves nothing yet); W is rounded again in
// backward from its unchanged master. Not here: the bias
// (BiasAddOp). Tested by Fp8LinearOpTests.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class Bf16LinearOp
{
    /// <summary>x: (..., in) F32, weight: (out, in) F32 master → (..., out) F32, the GEMM inputs in BF16.</summary>
    public static Var Apply(Tape tape, Var x, Var weight)
    {
        var (xv, wv) = (tape.Value(x), tape.Value(weight));
        var (rows, n, k, y) = LinearShape.Output(tape, xv, wv, "bf16 linear");
        var xb = tape.Arena.AllocateUninitialized(DType.BF16, new Shape(rows, k));
        using (Profiler.Region(ProfileCategory.Quantize)) { DTypeConvert.ToBFloat16(xv.AsSpan<float>(), xb.AsSpan<BFloat16>()); }
        using (tape.Arena.Scope()) // the widened copies are this call's own
        {
            Gemm(Widened(tape, xb), Rounded(tape, wv.AsSpan<float>()), y.AsSpan<float>(), rows, n, k, false, true, false);
        }
        var node = new Node(OpKind.Bf16Linear, default, x, weight) { Saved0 = xb, I0 = rows, I1 = n, I2 = k };
        return Expect.Record(tape, y, node, tape.ShouldRecord(x, weight));
    }

    internal static void Backward(Tape tape, in Node node)
    {
        var (rows, n, k) = (node.I0, node.I1, node.I2);
        var (dx, dw) = (tape.GradOrDefault(node.A), tape.GradOrDefault(node.B));
        using var scratch = tape.Arena.Scope(); // the rounded copies are this call's own
        var dy = Rounded(tape, tape.Grad(node.Out).AsSpan<float>());                              // (rows, n)
        if (dx.IsValid) { Gemm(dy, Rounded(tape, tape.Value(node.B).AsSpan<float>()), dx.AsSpan<float>(), rows, k, n, false, false, true); } // dX = dY·W
        if (dw.IsValid) { Gemm(dy, Widened(tape, node.Saved0), dw.AsSpan<float>(), n, k, rows, true, false, true); }                      // dW = dYᵀ·X
    }

    // values rounded to BF16 and widened back to F32, on the tape's arena.
    private static ReadOnlySpan<float> Rounded(Tape tape, ReadOnlySpan<float> values)
    {
        var b = tape.Arena.AllocateUninitialized(DType.BF16, new Shape(values.Length));
        using var region = Profiler.Region(ProfileCategory.Quantize);
        DTypeConvert.ToBFloat16(values, b.AsSpan<BFloat16>());
        return Widened(tape, b);
    }

    private static ReadOnlySpan<float> Widened(Tape tape, Tensor bf16)
    {
        var f = tape.Arena.AllocateUninitialized(DType.F32, new Shape(bf16.ElementCount));
        using var region = Profiler.Region(ProfileCategory.Quantize);
        DTypeConvert.ToSingle(bf16.AsSpan<BFloat16>(), f.AsSpan<float>());
        return f.AsSpan<float>();
    }

    private static void Gemm(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool ta, bool tb, bool accumulate)
    {
        using var region = Profiler.Region(ProfileCategory.Gemm);
        Matmul.Gemm(a, b, c, m, n, k, ta, tb, accumulate);
    }
}
