// Fp8LinearOp.cs: y = x·Wᵀ with DeepSeek-V3's FP8 recipe in all three GEMMs (arXiv 2412.19437 §3.3.1–3.3.2, Fig. 6),
// forward and backward side by side. Fprop: x in 1×128 tiles, W (out, in) in 128×128 blocks. Dgrad: dX = dY·W with dY
// in 1×128 tiles along out and the same W blocks (transposed: a block's codes and scale do not change). Wgrad:
// dW = dYᵀ·X with both operands in 128×1 tiles (down the tokens); X is read back from its FP8 cache and quantized again
// in its 128×1 tiles straight from the codes (§3.5.2; Fp8Quant.RequantizeColumns), dY in both tile shapes in one pass
// (Fp8Quant.QuantizeRowsAndColumns). Each GEMM sums as the Fp8Recipe says: by default in f32 over what the codes stand
// for, through the packed f32 GEMM, which decodes both operands' codes while it packs them (Matmul.GemmFp8; Wgrad's
// operands read down their columns without a transpose, Matmul.GemmFp8Columns); or Exact, each 128-block summed exactly
// and promoted to f32 with both scales (Fp8Gemm), or through the emulated ~14-bit accumulator with or without that
// promotion (Fp8Gemm.Reference). The recipe also carries the paper's ablations (one scale per tensor;
// dY in 128×128 blocks). The forward saves x as E4M3 codes plus a scale per 1×128 tile (1 byte + 1/32 of a float per
// element; where x is another op's F32 output it stays in the step arena too: the feed-forwards avoid that through
// Fp8SwiGluOp, which keeps only codes; the attention output projection can keep E5M6 with power-of-two scales instead,
// FloatE5M6, as §3.3.3 does); W is quantized again in backward from its unchanged master, which gives the same codes.
// A NaN or infinity in x, W or dY fails with NonFiniteTensorException. Activation scales are plain amax/448 unless the
// recipe asks for powers of two (UE8M0, as DeepSeek-V3.1 and the dispatch use). Not here: which Linears use it (the
// model), the bias (BiasAddOp). Tested by Fp8LinearOpTests.
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
        var saved = cacheE5M6 ? QuantizeE5M6(tape, xv.AsSpan<float>(), rows, k) : Codes(tape, rows, k);
        using (tape.Arena.Scope()) // the weight's codes (with E5M6, x's E4M3 codes too) are this call's own
        {
            var xq = cacheE5M6 ? Codes(tape, rows, k) : saved;
            QuantizeInto(xv.AsSpan<float>(), rows, k, recipe.ForInput, xq.Q, xq.S, Input);
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
        FloatE5M6.QuantizeTiles(values, rows, cols, E5M6Codes(q), s.AsSpan<float>(), Input);
        return (q, s);
    }

    // An E5M6 cache's 12-bit codes, held in an F16 tensor's 16-bit elements.
    private static Span<ushort> E5M6Codes(Tensor t) => System.Runtime.InteropServices.MemoryMarshal.Cast<Half, ushort>(t.AsSpan<Half>());

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
        // With one scale per tensor, or dY in 128×128 blocks, dY is quantized in blocks (a tensor's one scale fills every
        // block), and Wgrad reads Dgrad's codes down their columns unless Dgrad's took power-of-two scales of its own.
        var shared = recipe.PerTensorScales || recipe.BlockGradients;
        var dyBlocks = shared && dx.IsValid ? QuantizeBlocks(tape, dy, rows, n, recipe.ForGradient, Dy) : default;
        // Both GEMMs' tiles of dY in one pass where both want fine-grained tiles: Dgrad's 1×128, Wgrad's 128×1.
        var (dyRows, dyColumns) = !shared && dx.IsValid && dw.IsValid && recipe.Sum == Fp8Sum.F32 ? RowsAndColumns(tape, dy, rows, n, recipe) : default;
        if (dx.IsValid)
        {
            // Dgrad: dX (rows, k) += dY (rows, n) · W (n, k): dY in 1×128 tiles along n (or 128×128 blocks), W in its blocks.
            var dyq = shared ? (dyBlocks.Q, RowScales(tape, dyBlocks.Blocks, rows, n)) : dyRows.Q.IsValid ? dyRows : Quantize(tape, dy, rows, n, recipe.ForGradient, Dy);
            var wt = TransposedBlocks(tape, QuantizeBlocks(tape, w.AsSpan<float>(), n, k, recipe, Weight), n, k);
            Gemm(tape, recipe, dyq, wt, dx.AsSpan<float>(), rows, k, n, accumulate: true);
        }
        if (!dw.IsValid) { return; }
        // Wgrad: dW (n, k) += dYᵀ (n, rows) · X (rows, k), both in 128×1 tiles (dY's 128×128 blocks under block-gradients).
        var wgradBlocks = !shared ? default : dyBlocks.Q.IsValid && recipe.ForGradient == recipe ? dyBlocks : QuantizeBlocks(tape, dy, rows, n, recipe, Dy);
        if (recipe.Sum != Fp8Sum.F32)
        {
            var xBack = e5m6 ? DequantizedE5M6(tape, x.Q, x.S, rows, k) : Dequantized(tape, x.Q, x.S, rows, k);
            // Fp8Gemm takes both operands with the K blocks along their rows: dYᵀ and Xᵀ, transposed and quantized in 1×128 tiles.
            var dyt = shared ? TransposedBlocks(tape, wgradBlocks, rows, n) : default;
            var dytq = shared ? (dyt.Q, S: RowScales(tape, dyt.Blocks, n, rows)) : Quantize(tape, Transposed(tape, dy, rows, n).AsSpan<float>(), n, rows, recipe, Dy);
            var xtq = Quantize(tape, Transposed(tape, xBack.AsSpan<float>(), rows, k).AsSpan<float>(), k, rows, recipe, Input);
            using var exact = Profiler.Region(ProfileCategory.Gemm);
            BlockSums(recipe.Sum, dytq.Q.AsSpan<Float8E4M3>(), dytq.S.AsSpan<float>(), xtq.Q.AsSpan<Float8E4M3>(), xtq.S.AsSpan<float>(), dw.AsSpan<float>(), n, k, rows, accumulate: true);
            return;
        }
        var dyc = shared ? (wgradBlocks.Q, S: ColumnScales(tape, wgradBlocks.Blocks, rows, n)) : dyColumns.Q.IsValid ? dyColumns : QuantizeColumns(tape, dy, rows, n, recipe, Dy);
        var xc = ColumnsOfSaved(tape, recipe, x, rows, k, e5m6);
        if (Matmul.Packs(n, k, rows, transposeA: false, transposeB: true))
        {
            // Where the NT form (dYᵀ · (Xᵀ)ᵀ) packs, this TN form packs too and sums in the same order.
            using var packed = Profiler.Region(ProfileCategory.Gemm);
            Matmul.GemmFp8Columns(dyc.Q.AsSpan<Float8E4M3>(), dyc.S.AsSpan<float>(), xc.Q.AsSpan<Float8E4M3>(), xc.S.AsSpan<float>(), dw.AsSpan<float>(), n, k, rows, accumulate: true);
            return;
        }
        // Few output rows or a tiny problem: the NT form over the dequantized, transposed operands, as Matmul.Gemm runs it.
        var dyt32 = Transposed(tape, DequantizedColumns(tape, dyc, rows, n).AsSpan<float>(), rows, n);
        var xt32 = Transposed(tape, DequantizedColumns(tape, xc, rows, k).AsSpan<float>(), rows, k);
        using var region = Profiler.Region(ProfileCategory.Gemm);
        Matmul.Gemm<float>(dyt32.AsSpan<float>(), xt32.AsSpan<float>(), dw.AsSpan<float>(), n, k, rows, transposeB: true, accumulate: true);
    }

    // dY (rows, cols) → Dgrad's 1×128 tiles (the gradient's scales: power-of-two where the dispatch asks) and Wgrad's 128×1
    // tiles (the recipe's), on the tape's arena; non-finite values throw, named by row tile as Dgrad's quantizer names them.
    private static ((Tensor Q, Tensor S) Rows, (Tensor Q, Tensor S) Columns) RowsAndColumns(Tape tape, ReadOnlySpan<float> dy, int rows, int cols, Fp8Recipe recipe)
    {
        var rowTiles = Codes(tape, rows, cols);
        var (q, s) = ColumnCodes(tape, rows, cols);
        using var region = Profiler.Region(ProfileCategory.Quantize);
        Fp8Quant.QuantizeRowsAndColumns(dy, rows, cols, rowTiles.Q.AsSpan<Float8E4M3>(), rowTiles.S.AsSpan<float>(), recipe.ForGradient.PowerOfTwoScales,
            q.AsSpan<Float8E4M3>(), s.AsSpan<float>(), recipe.PowerOfTwoScales);
        Fp8Quant.ThrowIfNotFinite(rowTiles.Q.AsSpan<Float8E4M3>(), cols, Dy);
        return (rowTiles, (q, s)); // the column codes hold the same values: finite when the row codes are
    }

    // Wgrad's X in 128×1 tiles from the copy Fprop saved: E4M3 row tiles requantized down the columns without an f32
    // tensor in between; the E5M6 copy, or one scale for the tensor, through the dequantized values.
    private static (Tensor Q, Tensor S) ColumnsOfSaved(Tape tape, Fp8Recipe recipe, (Tensor Q, Tensor S) x, int rows, int k, bool e5m6)
    {
        if (!e5m6 && !recipe.PerTensorScales)
        {
            var (q, s) = ColumnCodes(tape, rows, k);
            using var region = Profiler.Region(ProfileCategory.Quantize);
            Fp8Quant.RequantizeColumns(x.Q.AsSpan<Float8E4M3>(), x.S.AsSpan<float>(), rows, k, q.AsSpan<Float8E4M3>(), s.AsSpan<float>(), recipe.PowerOfTwoScales);
            Fp8Quant.ThrowIfNotFinite(q.AsSpan<Float8E4M3>(), k, Input, columnTiles: true); // a tile at float's edge can decode to ∞
            return (q, s);
        }
        var xBack = e5m6 ? DequantizedE5M6(tape, x.Q, x.S, rows, k) : Dequantized(tape, x.Q, x.S, rows, k);
        return recipe.PerTensorScales ? PerTensorColumns(tape, xBack.AsSpan<float>(), rows, k, recipe) : QuantizeColumns(tape, xBack.AsSpan<float>(), rows, k, recipe, Input);
    }

    // c (m, n) [+]= A · Bᵀ with the K blocks along both operands' rows, summed as DeepGEMM (Exact) or through the emulated
    // Hopper accumulator, promoted every 128 products or never.
    private static void BlockSums(Fp8Sum sum, ReadOnlySpan<Float8E4M3> a, ReadOnlySpan<float> aScales, ReadOnlySpan<Float8E4M3> b, ReadOnlySpan<float> bScales,
        Span<float> c, int m, int n, int k, bool accumulate)
    {
        if (sum == Fp8Sum.Exact) { Fp8Gemm.Gemm(a, aScales, b, bScales, c, m, n, k, accumulate); }
        else { Fp8Gemm.Reference(a, aScales, b, bScales, c, m, n, k, sum == Fp8Sum.Hopper ? Fp8Accumulator.Hopper : Fp8Accumulator.HopperUnpromoted, accumulate); }
    }

    // Codes (rows, cols) and a scale per row per 1×128 tile, uninitialized, on the tape's arena.
    internal static (Tensor Q, Tensor S) Codes(Tape tape, int rows, int cols) =>
        (tape.Arena.AllocateUninitialized(DType.F8E4M3, new Shape(rows, cols)), tape.Arena.AllocateUninitialized(DType.F32, new Shape(rows, Fp8Quant.Tiles(cols))));

    // Codes (rows, cols) and a scale per 128×1 tile (ceil(rows/128), cols), uninitialized, on the tape's arena.
    private static (Tensor Q, Tensor S) ColumnCodes(Tape tape, int rows, int cols) =>
        (tape.Arena.AllocateUninitialized(DType.F8E4M3, new Shape(rows, cols)), tape.Arena.AllocateUninitialized(DType.F32, new Shape(Fp8Quant.Tiles(rows), cols)));

    // values (rows, cols) → E4M3 codes and one scale per row per 1×128 tile (or one for the tensor), on the tape's
    // arena; non-finite values throw.
    internal static (Tensor Q, Tensor S) Quantize(Tape tape, ReadOnlySpan<float> values, int rows, int cols, Fp8Recipe recipe, string what)
    {
        var codes = Codes(tape, rows, cols);
        QuantizeInto(values, rows, cols, recipe, codes.Q, codes.S, what);
        return codes;
    }

    // values (rows, cols) → codes q (rows, cols) and scales s (rows, tiles) the caller allocated.
    internal static void QuantizeInto(ReadOnlySpan<float> values, int rows, int cols, Fp8Recipe recipe, Tensor q, Tensor s, string what)
    {
        using var region = Profiler.Region(ProfileCategory.Quantize);
        if (recipe.PerTensorScales) { Fp8Quant.QuantizeTensor(values, rows, cols, q.AsSpan<Float8E4M3>(), s.AsSpan<float>(), recipe.PowerOfTwoScales); }
        else { Fp8Quant.QuantizeActivations(values, rows, cols, q.AsSpan<Float8E4M3>(), s.AsSpan<float>(), recipe.PowerOfTwoScales); }
        Fp8Quant.ThrowIfNotFinite(q.AsSpan<Float8E4M3>(), cols, what);
    }

    // values (rows, cols) → E4M3 codes in 128×1 tiles and their scales (ceil(rows/128), cols), on the tape's arena.
    private static (Tensor Q, Tensor S) QuantizeColumns(Tape tape, ReadOnlySpan<float> values, int rows, int cols, Fp8Recipe recipe, string what)
    {
        var (q, s) = ColumnCodes(tape, rows, cols);
        using var region = Profiler.Region(ProfileCategory.Quantize);
        Fp8Quant.QuantizeColumns(values, rows, cols, q.AsSpan<Float8E4M3>(), s.AsSpan<float>(), recipe.PowerOfTwoScales);
        Fp8Quant.ThrowIfNotFinite(q.AsSpan<Float8E4M3>(), cols, what, columnTiles: true);
        return (q, s);
    }

    // values (rows, cols) with one scale for the tensor, as 128×1-tile codes and scales (every tile the same scale).
    private static (Tensor Q, Tensor S) PerTensorColumns(Tape tape, ReadOnlySpan<float> values, int rows, int cols, Fp8Recipe recipe)
    {
        var m = QuantizeBlocks(tape, values, rows, cols, recipe, Input);
        return (m.Q, ColumnScales(tape, m.Blocks, rows, cols));
    }

    // values (n, k) in 128×128 blocks (or one scale for the tensor, in every block) → codes and the block scales
    // (ceil(n/128), ceil(k/128)).
    internal static (Tensor Q, Tensor Blocks) QuantizeBlocks(Tape tape, ReadOnlySpan<float> values, int n, int k, Fp8Recipe recipe, string what)
    {
        var q = tape.Arena.AllocateUninitialized(DType.F8E4M3, new Shape(n, k));
        var blocks = tape.Arena.AllocateUninitialized(DType.F32, new Shape(Fp8Quant.Tiles(n), Fp8Quant.Tiles(k)));
        using var region = Profiler.Region(ProfileCategory.Quantize);
        if (recipe.PerTensorScales)
        {
            var rowScales = tape.Arena.AllocateUninitialized(DType.F32, new Shape(n, Fp8Quant.Tiles(k)));   // every slot the tensor's scale
            Fp8Quant.QuantizeTensor(values, n, k, q.AsSpan<Float8E4M3>(), rowScales.AsSpan<float>(), recipe.PowerOfTwoScales);
            blocks.AsSpan<float>().Fill(rowScales.ElementCount == 0 ? 0 : rowScales.AsSpan<float>()[0]);
        }
        else { Fp8Quant.QuantizeWeightBlocks(values, n, k, q.AsSpan<Float8E4M3>(), blocks.AsSpan<float>()); }
        Fp8Quant.ThrowIfNotFinite(q.AsSpan<Float8E4M3>(), k, what);
        return (q, blocks);
    }

    // 128×128 block scales (ceil(rows/128), ceil(cols/128)) → one per row per K block (rows, ceil(cols/128)), on the arena.
    private static Tensor RowScales(Tape tape, Tensor blocks, int rows, int cols)
    {
        var rowScales = tape.Arena.AllocateUninitialized(DType.F32, new Shape(rows, Fp8Quant.Tiles(cols)));
        Fp8Gemm.RowScales(blocks.AsSpan<float>(), rows, cols, rowScales.AsSpan<float>());
        return rowScales;
    }

    // 128×128 block scales (ceil(rows/128), ceil(cols/128)) → one per 128×1 tile (ceil(rows/128), cols), on the arena.
    private static Tensor ColumnScales(Tape tape, Tensor blocks, int rows, int cols)
    {
        var (bands, colTiles) = (Fp8Quant.Tiles(rows), Fp8Quant.Tiles(cols));
        var columnScales = tape.Arena.AllocateUninitialized(DType.F32, new Shape(bands, cols));
        var b = blocks.AsSpan<float>();
        var c = columnScales.AsSpan<float>();
        for (var band = 0; band < bands; band++)
        {
            for (var j = 0; j < cols; j++) { c[(band * cols) + j] = b[(band * colTiles) + (j / Fp8Quant.Block)]; }
        }
        return columnScales;
    }

    // The transpose (cols, rows) of codes (rows, cols) in 128×128 blocks: a block's codes and scale stay its own.
    private static (Tensor Q, Tensor Blocks) TransposedBlocks(Tape tape, (Tensor Q, Tensor Blocks) m, int rows, int cols)
    {
        var qt = tape.Arena.AllocateUninitialized(DType.F8E4M3, new Shape(cols, rows));
        var (bands, colTiles) = (Fp8Quant.Tiles(rows), Fp8Quant.Tiles(cols));
        var bt = tape.Arena.AllocateUninitialized(DType.F32, new Shape(colTiles, bands));
        using var region = Profiler.Region(ProfileCategory.Quantize);
        Transpose.Matrix(m.Q.AsSpan<Float8E4M3>(), rows, cols, qt.AsSpan<Float8E4M3>());
        Transpose.Matrix<float>(m.Blocks.AsSpan<float>(), bands, colTiles, bt.AsSpan<float>());
        return (qt, bt);
    }

    // values (rows, cols) → (cols, rows) on the tape's arena.
    private static Tensor Transposed(Tape tape, ReadOnlySpan<float> values, int rows, int cols)
    {
        var t = tape.Arena.AllocateUninitialized(DType.F32, new Shape(cols, rows));
        using var region = Profiler.Region(ProfileCategory.Quantize);
        Transpose.Matrix(values, rows, cols, t.AsSpan<float>());
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

    // codes (rows, cols) in 128×1 tiles → their f32 values, on the tape's arena.
    private static Tensor DequantizedColumns(Tape tape, (Tensor Q, Tensor S) m, int rows, int cols)
    {
        var values = tape.Arena.AllocateUninitialized(DType.F32, new Shape(rows, cols));
        using var region = Profiler.Region(ProfileCategory.Quantize);
        Fp8Quant.DequantizeColumns(m.Q.AsSpan<Float8E4M3>(), m.S.AsSpan<float>(), rows, cols, values.AsSpan<float>());
        return values;
    }

    // E5M6 codes (rows, cols) with a power-of-two scale per row per 1×128 tile → their f32 values, on the tape's arena.
    private static Tensor DequantizedE5M6(Tape tape, Tensor codes, Tensor scales, int rows, int cols)
    {
        var values = tape.Arena.AllocateUninitialized(DType.F32, new Shape(rows, cols));
        using var region = Profiler.Region(ProfileCategory.Quantize);
        FloatE5M6.DequantizeTiles(E5M6Codes(codes), scales.AsSpan<float>(), rows, cols, values.AsSpan<float>());
        return values;
    }

    // c (m, n) [+]= A (m, k) · Wᵀ, A in codes with a scale per row per 128-wide K block, W (n, k) in 128×128 blocks.
    // Exact: Fp8Gemm's block sums; Hopper, HopperUnpromoted: the emulated ~14-bit accumulator (BlockSums). F32 (the
    // default): the packed f32 GEMM decoding both operands while it packs them (Matmul.GemmFp8); a shape the f32 GEMM
    // would not pack (few rows, or a tiny problem) gets both dequantized and Matmul.Gemm, so every shape sums as
    // Matmul.Gemm does over the dequantized operands in this (NT) form.
    internal static void Gemm(Tape tape, Fp8Recipe recipe, (Tensor Q, Tensor S) a, (Tensor Q, Tensor Blocks) w, Span<float> c, int m, int n, int k, bool accumulate = false)
    {
        if (recipe.Sum != Fp8Sum.F32)
        {
            var rowScales = RowScales(tape, w.Blocks, n, k);
            using var exact = Profiler.Region(ProfileCategory.Gemm);
            BlockSums(recipe.Sum, a.Q.AsSpan<Float8E4M3>(), a.S.AsSpan<float>(), w.Q.AsSpan<Float8E4M3>(), rowScales.AsSpan<float>(), c, m, n, k, accumulate);
            return;
        }
        if (Matmul.Packs(m, n, k, transposeA: false, transposeB: true))
        {
            using var packed = Profiler.Region(ProfileCategory.Gemm);
            Matmul.GemmFp8(a.Q.AsSpan<Float8E4M3>(), a.S.AsSpan<float>(), w.Q.AsSpan<Float8E4M3>(), w.Blocks.AsSpan<float>(), c, m, n, k, accumulate);
            return;
        }
        var ad = Dequantized(tape, a.Q, a.S, m, k);
        var wd = tape.Arena.AllocateUninitialized(DType.F32, new Shape(n, k));
        using (Profiler.Region(ProfileCategory.Quantize)) { Fp8Quant.DequantizeWeightBlocks(w.Q.AsSpan<Float8E4M3>(), w.Blocks.AsSpan<float>(), n, k, wd.AsSpan<float>()); }
        using var region = Profiler.Region(ProfileCategory.Gemm);
        Matmul.Gemm<float>(ad.AsSpan<float>(), wd.AsSpan<float>(), c, m, n, k, transposeB: true, accumulate: accumulate);
    }
}
