// Fp8LinearOp.cs: y = x·Wᵀ with DeepSeek-V3's FP8 recipe in all three GEMMs (arXiv 2412.19437 §3.3.1–3.3.2, Fig. 6),
// forward and backward side by side. Fprop: x in 1×128 tiles, W (out, in) in 128×128 blocks. Dgrad: dX = dY·W with dY
// in 1×128 tiles along out and the same W blocks (transposed: a block's codes and scale do not change). Wgrad:
// dW = dYᵀ·X with both operands in 128×1 tiles, i.e. the 1×128 tiles of dYᵀ and Xᵀ along the tokens; X is read back
// from its FP8 cache, dequantized, transposed and quantized again (§3.5.2). Every GEMM is Fp8Gemm: each 128-block's
// products summed exactly, promoted to f32 with both scales. The forward saves x as E4M3 codes plus a scale per
// 1×128 tile (1 byte + 1/32 of a float per element; the F32 x stays in the step arena too, so the saving is still to
// come); W is quantized again in backward from its unchanged master, which gives the same codes. A NaN or infinity in x, W or dY fails with NonFiniteTensorException.
// Scales are plain amax/448 unless powerOfTwoScales (UE8M0, as DeepSeek-V3.1 and the dispatch use). Not here: which
// Linears use it (the model), the bias (BiasAddOp). Tested by Fp8LinearOpTests.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class Fp8LinearOp
{
    /// <summary>x: (..., in) F32, weight: (out, in) F32 master → (..., out) F32, every GEMM in FP8.</summary>
    public static Var Apply(Tape tape, Var x, Var weight, bool powerOfTwoScales = false)
    {
        var (xv, wv) = (tape.Value(x), tape.Value(weight));
        var (rows, n, k, y) = LinearShape.Output(tape, xv, wv, "fp8 linear");
        var (xq, xs) = QuantizeRows(tape, xv.AsSpan<float>(), rows, k, powerOfTwoScales, "the FP8 linear's input");
        var (wq, ws) = QuantizeWeight(tape, wv, transpose: false);
        Gemm(xq, xs, wq, ws, y.AsSpan<float>(), rows, n, k);
        var node = new Node(OpKind.Fp8Linear, default, x, weight) { Saved0 = xq, Saved1 = xs, I0 = rows, I1 = n, I2 = k, Flag0 = powerOfTwoScales };
        return Expect.Record(tape, y, node, tape.ShouldRecord(x, weight));
    }

    internal static void Backward(Tape tape, in Node node)
    {
        var (rows, n, k, pow2) = (node.I0, node.I1, node.I2, node.Flag0);
        var dy = tape.Grad(node.Out).AsSpan<float>();                                            // (rows, n)
        var (dx, dw) = (tape.GradOrDefault(node.A), tape.GradOrDefault(node.B));
        if (dx.IsValid)
        {
            // Dgrad: dX (rows, k) += dY (rows, n) · W (n, k): dY in 1×128 tiles along n, Wᵀ (k, n) in the same blocks.
            var (dyq, dys) = QuantizeRows(tape, dy, rows, n, pow2, "the FP8 linear's output gradient");
            var (wtq, wts) = QuantizeWeight(tape, tape.Value(node.B), transpose: true);
            Gemm(dyq, dys, wtq, wts, dx.AsSpan<float>(), rows, k, n, accumulate: true);
        }
        if (dw.IsValid)
        {
            // Wgrad: dW (n, k) += dYᵀ (n, rows) · X (rows, k), both in 128×1 tiles: the 1×128 tiles of dYᵀ and Xᵀ.
            var xBack = tape.Arena.Allocate(DType.F32, new Shape(rows, k));
            Fp8Quant.DequantizeActivations(node.Saved0.AsSpan<Float8E4M3>(), node.Saved1.AsSpan<float>(), rows, k, xBack.AsSpan<float>());
            var (dytq, dyts) = QuantizeRows(tape, Transposed<float>(tape, dy, rows, n).AsSpan<float>(), n, rows, pow2, "the FP8 linear's output gradient");
            var (xtq, xts) = QuantizeRows(tape, Transposed<float>(tape, xBack.AsSpan<float>(), rows, k).AsSpan<float>(), k, rows, pow2, "the FP8 linear's input");
            Gemm(dytq, dyts, xtq, xts, dw.AsSpan<float>(), n, k, rows, accumulate: true);
        }
    }

    // values (rows, cols) → E4M3 codes and one scale per row per 1×128 tile, on the tape's arena; non-finite values throw.
    private static (Tensor Codes, Tensor Scales) QuantizeRows(Tape tape, ReadOnlySpan<float> values, int rows, int cols, bool powerOfTwo, string what)
    {
        var q = tape.Arena.Allocate(DType.F8E4M3, new Shape(rows, cols));
        var s = tape.Arena.Allocate(DType.F32, new Shape(rows, Fp8Quant.Tiles(cols)));
        using (Profiler.Region(ProfileCategory.Other))
        {
            Fp8Quant.QuantizeActivations(values, rows, cols, q.AsSpan<Float8E4M3>(), s.AsSpan<float>(), powerOfTwo);
            Fp8Quant.ThrowIfNotFinite(q.AsSpan<Float8E4M3>(), cols, what);
        }
        return (q, s);
    }

    // W (n, k) in 128×128 blocks → codes and per-row scales for the GEMM: of W (n, k), or of Wᵀ (k, n) for Dgrad.
    private static (Tensor Codes, Tensor RowScales) QuantizeWeight(Tape tape, Tensor weight, bool transpose)
    {
        var (n, k) = ((int)weight.Size(0), (int)weight.Size(1));
        var q = tape.Arena.Allocate(DType.F8E4M3, new Shape(n, k));
        var blocks = tape.Arena.Allocate(DType.F32, new Shape(Fp8Quant.Tiles(n), Fp8Quant.Tiles(k)));
        using var region = Profiler.Region(ProfileCategory.Other);
        Fp8Quant.QuantizeWeightBlocks(weight.AsSpan<float>(), n, k, q.AsSpan<Float8E4M3>(), blocks.AsSpan<float>());
        Fp8Quant.ThrowIfNotFinite(q.AsSpan<Float8E4M3>(), k, "the FP8 linear's weight");
        if (!transpose)
        {
            var rowScales = tape.Arena.Allocate(DType.F32, new Shape(n, Fp8Quant.Tiles(k)));
            Fp8Gemm.RowScales(blocks.AsSpan<float>(), n, k, rowScales.AsSpan<float>());
            return (q, rowScales);
        }
        var qt = Transposed<Float8E4M3>(tape, q.AsSpan<Float8E4M3>(), n, k);                   // a block's codes and scale stay its own
        var blocksT = Transposed<float>(tape, blocks.AsSpan<float>(), Fp8Quant.Tiles(n), Fp8Quant.Tiles(k));
        var rowScalesT = tape.Arena.Allocate(DType.F32, new Shape(k, Fp8Quant.Tiles(n)));
        Fp8Gemm.RowScales(blocksT.AsSpan<float>(), k, n, rowScalesT.AsSpan<float>());
        return (qt, rowScalesT);
    }

    // values (rows, cols) → (cols, rows) on the tape's arena.
    private static Tensor Transposed<T>(Tape tape, ReadOnlySpan<T> values, int rows, int cols) where T : unmanaged
    {
        var t = tape.Arena.Allocate(DTypeInfo.Of<T>(), new Shape(cols, rows));
        var dst = t.AsSpan<T>();
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++) { dst[(c * rows) + r] = values[(r * cols) + c]; }
        }
        return t;
    }

    private static void Gemm(Tensor a, Tensor aScales, Tensor b, Tensor bScales, Span<float> c, int m, int n, int k, bool accumulate = false)
    {
        using var region = Profiler.Region(ProfileCategory.Gemm);
        Fp8Gemm.Gemm(a.AsSpan<Float8E4M3>(), aScales.AsSpan<float>(), b.AsSpan<Float8E4M3>(), bScales.AsSpan<float>(), c, m, n, k, accumulate);
    }
}
