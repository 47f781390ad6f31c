// Fp8LinearOp.cs: y = x·Wᵀ with DeepSeek-V3's FP8 recipe in all three GEMMs (arXiv 2412.19437 §3.3.1–3.3.2, Fig. 6),
// forward and backward side by side. Fprop: x in 1×128 tiles, W (out, in) in 128×128 blocks. Dgrad: dX = dY·W with dY
// in 1×128 tiles along out and the same W blocks (transposed: a block's codes and scale do not change). Wgrad:
// dW = dYᵀ·X with both operands in 128×1 tiles, i.e. the 1×128 tiles of dYᵀ and Xᵀ along the tokens; X is read back
// from its FP8 cache, dequantized, transposed and quantized again (§3.5.2). Every GEMM is Fp8Gemm, summed as the
// Fp8Recipe says (f32 over the dequantized operands, or each 128-block exactly and promoted to f32 with both scales);
// the recipe also carries the paper's ablations (one scale per tensor; dY in 128×128 blocks). The forward saves x as E4M3 codes plus a scale per
// 1×128 tile (1 byte + 1/32 of a float per element; where x is another op's F32 output it stays in the step arena too:
// the feed-forwards avoid that through Fp8SwiGluOp, which keeps only codes; the attention output projection can keep
// E5M6 with power-of-two scales instead, FloatE5M6, as §3.3.3 does); W is quantized again in backward from its unchanged master, which gives the same codes. A NaN or infinity in x, W or dY fails with NonFiniteTensorException.
// Activation scales are plain amax/448 unless the recipe asks for powers of two (UE8M0, as DeepSeek-V3.1 and the dispatch use). Not here: which
// Linears use it (the model), the bias (BiasAddOp). Tested by Fp8LinearOpTests.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class Fp8LinearOp
{
    private const string Dy = "the FP8 linear's output gradient";
    private const string Input = "the FP8 linear's input";
    private const string Weight = "the FP8 linear's weight";

    /// <summary>x: (..., in) F32, weight: (out, in) F32 master → (..., out) F32, every GEMM in FP8 as <paramref name="recipe"/> says.
    /// With <paramref name="cacheE5M6"/> (the o_proj input, §3.3.3) the backward's copy of x is E5M6 with power-of-two
    /// 1×128 scales (FloatE5M6) instead of the Fprop's E4M3 codes; Fprop and Dgrad are unchanged.</summary>
    public static Var Apply(Tape tape, Var x, Var weight, Fp8Recipe recipe = default, bool cacheE5M6 = false)
    {
        var (xv, wv) = (tape.Value(x), tape.Value(weight));
        var (rows, n, k, y) = LinearShape.Output(tape, xv, wv, "fp8 linear");
        var saved = cacheE5M6 ? QuantizeE5M6(tape, xv.AsSpan<float>(), rows, k) : QuantizeActivation(tape, xv.AsSpan<float>(), rows, k, recipe, Input);
        using (tape.Arena.Scope()) // the weight's codes and the dequantized copies (with E5M6, x's E4M3 codes too) are this call's own
        {
            var xq = cacheE5M6 ? QuantizeActivation(tape, xv.AsSpan<float>(), rows, k, recipe, Input) : saved;
            Gemm(tape, recipe, xq, QuantizeBlocks(tape, wv.AsSpan<float>(), n, k, recipe, Weight), y.AsSpan<float>(), rows, n, k);
        }
        var node = new Node(OpKind.Fp8Linear, default, x, weight) { Saved0 = saved.Q, Saved1 = saved.S, I0 = rows, I1 = n, I2 = k, L0 = recipe.Pack(), Flag0 = cacheE5M6 };
        return Expect.Record(tape, y, node, tape.ShouldRecord(x, weight));
    }

    // values (rows, cols) → E5M6 codes and a power-of-two scale per row per 1×128 tile, on the tape's arena.
    private static (Tensor Q, Tensor S) QuantizeE5M6(Tape tape, ReadOnlySpan<float> values, int rows, int cols)
    {
        var q = tape.Arena.AllocateUninitialized(DType.F16, new Shape(rows, cols));
        var s = tape.Arena.AllocateUninitialized(DType.F32, new Shape(rows, Fp8Quant.Tiles(cols)));
        using var region = Profiler.Region(ProfileCategory.Quantize);
        FloatE5M6.QuantizeTiles(values, rows, cols, Codes(q), s.AsSpan<float>(), Input);
        return (q, s);
    }

    // An E5M6 cache's 12-bit codes, held in an F16 tensor's 16-bit elements.
    private static Span<ushort> Codes(Tensor t) => System.Runtime.InteropServices.MemoryMarshal.Cast<Half, ushort>(t.AsSpan<Half>());

    internal static void Backward(Tape tape, in Node node)
    {
        var (rows, n, k, recipe) = (node.I0, node.I1, node.I2, Fp8Recipe.Unpack(node.L0));
        var dy = tape.Grad(node.Out).AsSpan<float>();                                            // (rows, n)
        var (dx, dw) = (tape.GradOrDefault(node.A), tape.GradOrDefault(node.B));
        using var scratch = tape.Arena.Scope(); // everything below is this call's own: given back when it returns
        Backward(tape, recipe, (node.Saved0, node.Saved1), tape.Value(node.B), dy, dx, dw, rows, n, k, node.Flag0);
    }

    internal static void Backward(Tape tape, Fp8Recipe recipe, (Tensor Q, Tensor S) x, Tensor w, ReadOnlySpan<float> dy, Tensor dx, Tensor dw, int rows, int n, int k, bool e5m6 = false)
    {
        if (dx.IsValid)
        {
            // Dgrad: dX (rows, k) += dY (rows, n) · W (n, k): dY in 1×128 tiles along n (or 128×128 blocks), W in its blocks.
            var dyq = recipe.BlockGradients ? QuantizeBlocks(tape, dy, rows, n, recipe, Dy) : QuantizeActivation(tape, dy, rows, n, recipe, Dy);
            var wt = TransposedBlocks(tape, QuantizeBlocks(tape, w.AsSpan<float>(), n, k, recipe, Weight), n, k);
            Gemm(tape, recipe, dyq, wt, dx.AsSpan<float>(), rows, k, n, accumulate: true);
        }
        if (dw.IsValid)
        {
            // Wgrad: dW (n, k) += dYᵀ (n, rows) · X (rows, k), both in 128×1 tiles: the 1×128 tiles of dYᵀ and Xᵀ (dY's
            // 128×128 blocks, transposed, under block-gradients).
            var xBack = e5m6 ? DequantizedE5M6(tape, x.Q, x.S, rows, k) : Dequantized(tape, x.Q, x.S, rows, k);
            var dytq = recipe.BlockGradients
                ? TransposedBlocks(tape, QuantizeBlocks(tape, dy, rows, n, recipe, Dy), rows, n)
                : QuantizeActivation(tape, Transposed<float>(tape, dy, rows, n).AsSpan<float>(), n, rows, recipe, Dy);
            var xtq = QuantizeActivation(tape, Transposed<float>(tape, xBack.AsSpan<float>(), rows, k).AsSpan<float>(), k, rows, recipe, Input);
            Gemm(tape, recipe, dytq, xtq, dw.AsSpan<float>(), n, k, rows, accumulate: true);
        }
    }

    // values (rows, cols) → E4M3 codes and one scale per row per 1×128 tile (or one for the tensor), on the tape's
    // arena; non-finite values throw.
    internal static (Tensor Q, Tensor S) QuantizeActivation(Tape tape, ReadOnlySpan<float> values, int rows, int cols, Fp8Recipe recipe, string what)
    {
        var q = tape.Arena.AllocateUninitialized(DType.F8E4M3, new Shape(rows, cols));
        var s = tape.Arena.AllocateUninitialized(DType.F32, new Shape(rows, Fp8Quant.Tiles(cols)));
        QuantizeInto(values, rows, cols, recipe, q, s, what);
        return (q, s);
    }

    // values (rows, cols) → codes q (rows, cols) and scales s (rows, tiles) the caller allocated.
    internal static void QuantizeInto(ReadOnlySpan<float> values, int rows, int cols, Fp8Recipe recipe, Tensor q, Tensor s, string what)
    {
        using var region = Profiler.Region(ProfileCategory.Quantize);
        if (recipe.PerTensorScales) { Fp8Quant.QuantizeTensor(values, rows, cols, q.AsSpan<Float8E4M3>(), s.AsSpan<float>(), recipe.PowerOfTwoScales); }
        else { Fp8Quant.QuantizeActivations(values, rows, cols, q.AsSpan<Float8E4M3>(), s.AsSpan<float>(), recipe.PowerOfTwoScales); }
        Fp8Quant.ThrowIfNotFinite(q.AsSpan<Float8E4M3>(), cols, what);
    }

    // values (n, k) in 128×128 blocks (or one scale for the tensor) → codes and their scales expanded to one per row per
    // 128-wide K block, as the GEMM reads them.
    internal static (Tensor Q, Tensor S) QuantizeBlocks(Tape tape, ReadOnlySpan<float> values, int n, int k, Fp8Recipe recipe, string what)
    {
        if (recipe.PerTensorScales) { return QuantizeActivation(tape, values, n, k, recipe, what); }
        var q = tape.Arena.AllocateUninitialized(DType.F8E4M3, new Shape(n, k));
        var blocks = tape.Arena.AllocateUninitialized(DType.F32, new Shape(Fp8Quant.Tiles(n), Fp8Quant.Tiles(k)));
        var rowScales = tape.Arena.AllocateUninitialized(DType.F32, new Shape(n, Fp8Quant.Tiles(k)));
        using var region = Profiler.Region(ProfileCategory.Quantize);
        Fp8Quant.QuantizeWeightBlocks(values, n, k, q.AsSpan<Float8E4M3>(), blocks.AsSpan<float>());
        Fp8Quant.ThrowIfNotFinite(q.AsSpan<Float8E4M3>(), k, what);
        Fp8Gemm.RowScales(blocks.AsSpan<float>(), n, k, rowScales.AsSpan<float>());
        return (q, rowScales);
    }

    // The transpose (cols, rows) of a (rows, cols) operand whose scales are the same down each 128-row band (128×128
    // blocks, or one for the tensor): a block's codes and scale stay its own.
    private static (Tensor Q, Tensor S) TransposedBlocks(Tape tape, (Tensor Q, Tensor S) m, int rows, int cols)
    {
        var qt = Transposed<Float8E4M3>(tape, m.Q.AsSpan<Float8E4M3>(), rows, cols);
        var (bands, colTiles) = (Fp8Quant.Tiles(rows), Fp8Quant.Tiles(cols));
        var st = tape.Arena.AllocateUninitialized(DType.F32, new Shape(cols, bands));
        var s = m.S.AsSpan<float>();
        var t = st.AsSpan<float>();
        for (var c = 0; c < cols; c++)
        {
            for (var b = 0; b < bands; b++) { t[(c * bands) + b] = s[(b * Fp8Quant.Block * colTiles) + (c / Fp8Quant.Block)]; }
        }
        return (qt, st);
    }

    // values (rows, cols) → (cols, rows) on the tape's arena.
    private static Tensor Transposed<T>(Tape tape, ReadOnlySpan<T> values, int rows, int cols) where T : unmanaged
    {
        var t = tape.Arena.AllocateUninitialized(DTypeInfo.Of<T>(), new Shape(cols, rows));
        using var region = Profiler.Region(ProfileCategory.Quantize);
        Transpose.Matrix(values, rows, cols, t.AsSpan<T>());
        return t;
    }

    // codes (rows, cols) with a scale per row per 1×128 tile → their f32 values, on the tape's arena.
    internal static Tensor Dequantized(Tape tape, Tensor codes, Tensor scales, int rows, int cols)
    {
        var values = tape.Arena.AllocateUninitialized(DType.F32, new Shape(rows, cols));
        using var region = Profiler.Region(ProfileCategory.Quantize);
        Fp8Quant.DequantizeActivations(codes.AsSpan<Float8E4M3>(), scales.AsSpan<float>(), rows, cols, values.AsSpan<float>());
        return values;
    }

    // E5M6 codes (rows, cols) with a power-of-two scale per row per 1×128 tile → their f32 values, on the tape's arena.
    private static Tensor DequantizedE5M6(Tape tape, Tensor codes, Tensor scales, int rows, int cols)
    {
        var values = tape.Arena.AllocateUninitialized(DType.F32, new Shape(rows, cols));
        using var region = Profiler.Region(ProfileCategory.Quantize);
        FloatE5M6.DequantizeTiles(Codes(codes), scales.AsSpan<float>(), rows, cols, values.AsSpan<float>());
        return values;
    }

    // c (m, n) [+]= A (m, k) · B (n, k)ᵀ, both quantized with a scale per row per 128-wide K block: Fp8Gemm's exact
    // block sums, or (the default) both dequantized and multiplied by the packed f32 GEMM in this same (NT) form, whose
    // summation order is then the definition the tests hold it to.
    internal static void Gemm(Tape tape, Fp8Recipe recipe, (Tensor Q, Tensor S) a, (Tensor Q, Tensor S) b, Span<float> c, int m, int n, int k, bool accumulate = false)
    {
        if (recipe.Sum == Fp8Sum.Exact)
        {
            using var exact = Profiler.Region(ProfileCategory.Gemm);
            Fp8Gemm.Gemm(a.Q.AsSpan<Float8E4M3>(), a.S.AsSpan<float>(), b.Q.AsSpan<Float8E4M3>(), b.S.AsSpan<float>(), c, m, n, k, accumulate);
            return;
        }
        var (da, db) = (Dequantized(tape, a.Q, a.S, m, k), Dequantized(tape, b.Q, b.S, n, k));
        using var region = Profiler.Region(ProfileCategory.Gemm);
        Matmul.Gemm<float>(da.AsSpan<float>(), db.AsSpan<float>(), c, m, n, k, transposeB: true, accumulate: accumulate);
    }
}
