// Fp8LinearOp.cs: y = x·Wᵀ with DeepSeek-V3's FP8 recipe in all three GEMMs (arXiv 2412.19437 §3.3.1–3.3.2, Fig. 6),
// forward and backward side by side. Fprop: x in 1×128 tiles, W (out, in) in 128×128 blocks. Dgrad: dX = dY·W with dY
// in 1×128 tiles along out and the same W blocks (transposed: a block's codes and scale do not change). Wgrad:
// dW = dYᵀ·X with both operands in 128×1 tiles, i.e. the 1×128 tiles of dYᵀ and Xᵀ along the tokens; X is read back
// from its FP8 cache, dequantized, transposed and quantized again (§3.5.2). Every GEMM is Fp8Gemm, summed as the
// Fp8Recipe says (f32 over the dequantized operands, or each 128-block exactly and promoted to f32 with both scales);
// the recipe also carries the paper's ablations (one scale per tensor; dY in 128×128 blocks). The forward saves x as E4M3 codes plus a scale per
// 1×128 tile (1 byte + 1/32 of a float per element; the F32 x stays in the step arena too, so the saving is still to
// come); W is quantized again in backward from its unchanged master, which gives the same codes. A NaN or infinity in x, W or dY fails with NonFiniteTensorException.
// Activation scales are plain amax/448 unless the recipe asks for powers of two (UE8M0, as DeepSeek-V3.1 and the dispatch use). Not here: which
// Linears use it (the model), the bias (BiasAddOp). Tested by Fp8LinearOpTests.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class Fp8LinearOp
{
    private const string Dy = "the FP8 linear's output gradient";

    /// <summary>x: (..., in) F32, weight: (out, in) F32 master → (..., out) F32, every GEMM in FP8 as <paramref name="recipe"/> says.</summary>
    public static Var Apply(Tape tape, Var x, Var weight, Fp8Recipe recipe = default)
    {
        var (xv, wv) = (tape.Value(x), tape.Value(weight));
        var (rows, n, k, y) = LinearShape.Output(tape, xv, wv, "fp8 linear");
        var (xq, xs) = QuantizeActivation(tape, xv.AsSpan<float>(), rows, k, recipe, "the FP8 linear's input");
        var mark = tape.Arena.Mark(); // the weight's codes are this call's own
        try
        {
            var (wq, ws) = QuantizeBlocks(tape, wv.AsSpan<float>(), n, k, recipe, transpose: false, "the FP8 linear's weight");
            Gemm(recipe, xq, xs, wq, ws, y.AsSpan<float>(), rows, n, k);
        }
        finally
        {
            tape.Arena.Rewind(mark);
        }
        var node = new Node(OpKind.Fp8Linear, default, x, weight) { Saved0 = xq, Saved1 = xs, I0 = rows, I1 = n, I2 = k, L0 = recipe.Pack() };
        return Expect.Record(tape, y, node, tape.ShouldRecord(x, weight));
    }

    internal static void Backward(Tape tape, in Node node)
    {
        var (rows, n, k, recipe) = (node.I0, node.I1, node.I2, Fp8Recipe.Unpack(node.L0));
        var dy = tape.Grad(node.Out).AsSpan<float>();                                            // (rows, n)
        var (dx, dw) = (tape.GradOrDefault(node.A), tape.GradOrDefault(node.B));
        var mark = tape.Arena.Mark(); // everything below is this call's own: given back when it returns
        try
        {
            Backward(tape, recipe, node.Saved0, node.Saved1, tape.Value(node.B), dy, dx, dw, rows, n, k);
        }
        finally
        {
            tape.Arena.Rewind(mark);
        }
    }

    private static void Backward(Tape tape, Fp8Recipe recipe, Tensor xCodes, Tensor xScales, Tensor w, ReadOnlySpan<float> dy, Tensor dx, Tensor dw, int rows, int n, int k)
    {
        if (dx.IsValid)
        {
            // Dgrad: dX (rows, k) += dY (rows, n) · W (n, k): dY in 1×128 tiles along n (or 128×128 blocks), Wᵀ (k, n) in W's blocks.
            var (dyq, dys) = recipe.BlockGradients ? QuantizeBlocks(tape, dy, rows, n, recipe, transpose: false, Dy) : QuantizeActivation(tape, dy, rows, n, recipe, Dy);
            var (wtq, wts) = QuantizeBlocks(tape, w.AsSpan<float>(), n, k, recipe, transpose: true, "the FP8 linear's weight");
            Gemm(recipe, dyq, dys, wtq, wts, dx.AsSpan<float>(), rows, k, n, accumulate: true);
        }
        if (dw.IsValid)
        {
            // Wgrad: dW (n, k) += dYᵀ (n, rows) · X (rows, k), both in 128×1 tiles: the 1×128 tiles of dYᵀ and Xᵀ (dY's
            // 128×128 blocks, transposed, under block-gradients).
            var xBack = tape.Arena.Allocate(DType.F32, new Shape(rows, k));
            Fp8Quant.DequantizeActivations(xCodes.AsSpan<Float8E4M3>(), xScales.AsSpan<float>(), rows, k, xBack.AsSpan<float>());
            var (dytq, dyts) = recipe.BlockGradients
                ? QuantizeBlocks(tape, dy, rows, n, recipe, transpose: true, Dy)
                : QuantizeActivation(tape, Transposed<float>(tape, dy, rows, n).AsSpan<float>(), n, rows, recipe, Dy);
            var (xtq, xts) = QuantizeActivation(tape, Transposed<float>(tape, xBack.AsSpan<float>(), rows, k).AsSpan<float>(), k, rows, recipe, "the FP8 linear's input");
            Gemm(recipe, dytq, dyts, xtq, xts, dw.AsSpan<float>(), n, k, rows, accumulate: true);
        }
    }

    // values (rows, cols) → E4M3 codes and one scale per row per 1×128 tile (or one for the tensor), on the tape's
    // arena; non-finite values throw.
    private static (Tensor Codes, Tensor Scales) QuantizeActivation(Tape tape, ReadOnlySpan<float> values, int rows, int cols, Fp8Recipe recipe, string what)
    {
        var q = tape.Arena.Allocate(DType.F8E4M3, new Shape(rows, cols));
        var s = tape.Arena.Allocate(DType.F32, new Shape(rows, Fp8Quant.Tiles(cols)));
        using (Profiler.Region(ProfileCategory.Other))
        {
            if (recipe.PerTensorScales) { Fp8Quant.QuantizeTensor(values, rows, cols, q.AsSpan<Float8E4M3>(), s.AsSpan<float>()); }
            else { Fp8Quant.QuantizeActivations(values, rows, cols, q.AsSpan<Float8E4M3>(), s.AsSpan<float>(), recipe.PowerOfTwoScales); }
            Fp8Quant.ThrowIfNotFinite(q.AsSpan<Float8E4M3>(), cols, what);
        }
        return (q, s);
    }

    // values (n, k) in 128×128 blocks (or one scale for the tensor) → codes and per-row scales for the GEMM: of the
    // (n, k) matrix, or of its transpose (k, n), whose blocks keep their codes and scales.
    private static (Tensor Codes, Tensor RowScales) QuantizeBlocks(Tape tape, ReadOnlySpan<float> values, int n, int k, Fp8Recipe recipe, bool transpose, string what)
    {
        if (recipe.PerTensorScales)
        {
            return transpose
                ? QuantizeActivation(tape, Transposed<float>(tape, values, n, k).AsSpan<float>(), k, n, recipe, what)
                : QuantizeActivation(tape, values, n, k, recipe, what);
        }
        var q = tape.Arena.Allocate(DType.F8E4M3, new Shape(n, k));
        var blocks = tape.Arena.Allocate(DType.F32, new Shape(Fp8Quant.Tiles(n), Fp8Quant.Tiles(k)));
        using var region = Profiler.Region(ProfileCategory.Other);
        Fp8Quant.QuantizeWeightBlocks(values, n, k, q.AsSpan<Float8E4M3>(), blocks.AsSpan<float>());
        Fp8Quant.ThrowIfNotFinite(q.AsSpan<Float8E4M3>(), k, what);
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
        Transpose.Matrix(values, rows, cols, t.AsSpan<T>());
        return t;
    }

    private static void Gemm(Fp8Recipe recipe, Tensor a, Tensor aScales, Tensor b, Tensor bScales, Span<float> c, int m, int n, int k, bool accumulate = false)
    {
        using var region = Profiler.Region(ProfileCategory.Gemm);
        if (recipe.Sum == Fp8Sum.Exact) { Fp8Gemm.Gemm(a.AsSpan<Float8E4M3>(), aScales.AsSpan<float>(), b.AsSpan<Float8E4M3>(), bScales.AsSpan<float>(), c, m, n, k, accumulate); }
        else { Fp8Gemm.GemmDequantized(a.AsSpan<Float8E4M3>(), aScales.AsSpan<float>(), b.AsSpan<Float8E4M3>(), bScales.AsSpan<float>(), c, m, n, k, accumulate); }
    }
}
