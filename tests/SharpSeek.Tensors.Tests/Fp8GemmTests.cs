// Fp8GemmTests.cs: the block-promoted FP8 GEMM: the fast path equals the element-by-element reference bit for bit on
// random shapes with partial edge blocks (with and without accumulation); the reference sums a block exactly (a case
// f32 loses) and promotes with both scales; the emulated 14-bit accumulator loses what the paper says it loses, and
// promotion every 128 products keeps the error far below the unpromoted one, and both add to an output as they find it
// (training's accumulating GEMMs); quantize → GEMM agrees with the f32
// product by DeepGEMM's acceptance measure; the packed f32 GEMM decoding FP8 training operands while it packs them
// equals the f32 GEMM over the dequantized operands; row-scale expansion and bad shapes.
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class Fp8GemmTests
{
    // Random finite codes (no NaN code), a sign either way, and scales of varied magnitude per row and block.
    private static (Float8E4M3[] Codes, float[] Scales) Operand(Random rng, int rows, int k)
    {
        var codes = new Float8E4M3[rows * k];
        for (var i = 0; i < codes.Length; i++)
        {
            var bits = (byte)rng.Next(256);
            codes[i] = new Float8E4M3((bits & 0x7F) == 0x7F ? (byte)(bits ^ 1) : bits);
        }
        var scales = new float[rows * Fp8Quant.Tiles(k)];
        for (var i = 0; i < scales.Length; i++) { scales[i] = MathF.ScaleB((float)(0.5 + rng.NextDouble()), rng.Next(-20, 4)); }
        return (codes, scales);
    }

    internal static void AssertBitwise(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToUInt32Bits(expected[i]) == BitConverter.SingleToUInt32Bits(actual[i]),
                $"{what}: element {i} is {actual[i]:R}, the reference {expected[i]:R}");
        }
    }

    /// <summary>DeepGEMM's acceptance measure (tests/test_core.py calc_diff): 1 − 2Σxy / Σ(x² + y²), 0 when equal.</summary>
    internal static double CalcDiff(float[] x, float[] y)
    {
        double xy = 0, squares = 0;
        for (var i = 0; i < x.Length; i++) { (xy, squares) = (xy + ((double)x[i] * y[i]), squares + ((double)x[i] * x[i]) + ((double)y[i] * y[i])); }
        return 1 - (2 * xy / squares);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 127)]
    [InlineData(7, 9, 128)]
    [InlineData(13, 17, 129)]
    [InlineData(6, 40, 300)]
    [InlineData(70, 33, 385)]
    [InlineData(130, 70, 256)]
    [InlineData(520, 2100, 129)] // two row passes: the partial block of 520 × 2100 doubles passes 8 MiB
    public void Gemm_EqualsTheReference_BitForBit(int m, int n, int k)
    {
        var rng = new Random((m * 1_000_003) + (n * 1009) + k);
        var (a, sa) = Operand(rng, m, k);
        var (b, sb) = Operand(rng, n, k);
        var start = Enumerable.Range(0, m * n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        foreach (var accumulate in new[] { false, true })
        {
            var (fast, reference) = (start.ToArray(), start.ToArray());
            Fp8Gemm.Gemm(a, sa, b, sb, fast, m, n, k, accumulate);
            Fp8Gemm.Reference(a, sa, b, sb, reference, m, n, k, accumulate: accumulate);
            AssertBitwise(reference, fast, $"({m}, {n}, {k}) accumulate {accumulate}");
        }
    }

    [Theory]
    [InlineData(7, 9, 100)]
    [InlineData(7, 9, 300)]
    public void EmulatedAccumulators_AddToTheOutputAsTheyFindIt(int m, int n, int k)
    {
        // Training adds into outputs that already hold values (Dgrad into dX, Wgrad over micro-batches). Unpromoted, the
        // whole truncated sum is added to the output once; promoted, each block is, so with one K block the same holds.
        var rng = new Random(k);
        var (a, sa) = Operand(rng, m, k);
        var (b, sb) = Operand(rng, n, k);
        var start = Enumerable.Range(0, m * n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        foreach (var accumulator in new[] { Fp8Accumulator.Hopper, Fp8Accumulator.HopperUnpromoted })
        {
            var (added, alone) = (start.ToArray(), new float[m * n]);
            Fp8Gemm.Reference(a, sa, b, sb, added, m, n, k, accumulator, accumulate: true);
            Fp8Gemm.Reference(a, sa, b, sb, alone, m, n, k, accumulator);
            var expected = start.Zip(alone, (s0, x) => s0 + x).ToArray();
            if (accumulator.NeverPromote || k <= Fp8Gemm.Block) { AssertBitwise(expected, added, $"{accumulator} k {k}"); }
            else
            {
                for (var i = 0; i < expected.Length; i++) { Assert.True(Math.Abs(expected[i] - added[i]) <= 1e-5 * (1 + Math.Abs(expected[i])), $"{accumulator} k {k} [{i}]: {added[i]} vs {expected[i]}"); }
            }
        }
    }

    [Theory]
    [InlineData(5, 9, 300)]        // just past the few-row GEMV: the packed small-m path
    [InlineData(150, 40, 129)]     // few columns: the small-n path
    [InlineData(300, 260, 520)]    // the blocked path, K blocks past 256, partial tiles everywhere
    public void PackedDecodes_SumAsTheF32GemmOverTheDequantizedOperands_BitForBit(int m, int n, int k)
    {
        // Fprop/Dgrad (A in 1×128 tiles, W in 128×128 blocks) and Wgrad (both in 128×1 tiles, A read transposed), the
        // codes decoded while packed, against Matmul.Gemm over the dequantized operands in the same form.
        Assert.True(Matmul.Packs(m, n, k, false, true) && Matmul.Packs(m, n, k, true, false));
        var rng = new Random((m * 31) + (n * 7) + k);
        var (a, sa) = Operand(rng, m, k);
        var (w, _) = Operand(rng, n, k);
        var blocks = Enumerable.Range(0, Fp8Quant.Tiles(n) * Fp8Quant.Tiles(k)).Select(_ => MathF.ScaleB((float)(0.5 + rng.NextDouble()), rng.Next(-12, 2))).ToArray();
        var (at, _) = Operand(rng, k, m);                                                            // (k, m) codes
        var (b, _) = Operand(rng, k, n);                                                             // (k, n) codes
        float[] ColumnScales(int cols) => [.. Enumerable.Range(0, Fp8Quant.Tiles(k) * cols).Select(_ => MathF.ScaleB((float)(0.5 + rng.NextDouble()), rng.Next(-12, 2)))];
        var (colA, colB) = (ColumnScales(m), ColumnScales(n));                                      // 128×1 tile scales
        var (ad, wd, atd, bd) = (new float[m * k], new float[n * k], new float[k * m], new float[k * n]);
        Fp8Quant.DequantizeActivations(a, sa, m, k, ad);
        Fp8Quant.DequantizeWeightBlocks(w, blocks, n, k, wd);
        Fp8Quant.DequantizeColumns(at, colA, k, m, atd);
        Fp8Quant.DequantizeColumns(b, colB, k, n, bd);
        var start = Enumerable.Range(0, m * n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        foreach (var accumulate in new[] { false, true })
        {
            var (packed, reference) = (start.ToArray(), start.ToArray());
            Matmul.GemmFp8(a, sa, w, blocks, packed, m, n, k, accumulate);
            Matmul.Gemm<float>(ad, wd, reference, m, n, k, transposeB: true, accumulate: accumulate);
            AssertBitwise(reference, packed, $"A·Wᵀ ({m}, {n}, {k}) accumulate {accumulate}");
            (packed, reference) = (start.ToArray(), start.ToArray());
            Matmul.GemmFp8Columns(at, colA, b, colB, packed, m, n, k, accumulate);
            Matmul.Gemm<float>(atd, bd, reference, m, n, k, transposeA: true, accumulate: accumulate);
            AssertBitwise(reference, packed, $"Aᵀ·B ({m}, {n}, {k}) accumulate {accumulate}");
        }
    }

    [Fact]
    public void Reference_SumsABlockExactly_ThenPromotesWithBothScales()
    {
        // Block 0: 448·448 + 2⁻⁹·2⁻⁹ − 448·448 = 2⁻¹⁸ exactly (a sum in f32, in this order, gives 0); block 1: 2·3.
        const int k = 130;
        var a = new Float8E4M3[k];
        var b = new Float8E4M3[k];
        Array.Fill(a, Float8E4M3.FromSingle(0));
        Array.Fill(b, Float8E4M3.FromSingle(0));
        (a[0], b[0]) = (Float8E4M3.FromSingle(448), Float8E4M3.FromSingle(448));
        (a[1], b[1]) = (Float8E4M3.FromSingle(MathF.ScaleB(1, -9)), Float8E4M3.FromSingle(MathF.ScaleB(1, -9)));
        (a[2], b[2]) = (Float8E4M3.FromSingle(-448), Float8E4M3.FromSingle(448));
        (a[129], b[129]) = (Float8E4M3.FromSingle(2), Float8E4M3.FromSingle(3));
        float[] sa = [4f, 0.5f], sb = [8f, 0.25f];
        var c = new float[1];
        Fp8Gemm.Reference(a, sa, b, sb, c, 1, 1, k);
        Assert.Equal((32f * MathF.ScaleB(1, -18)) + (0.125f * 6f), c[0]);
        var fast = new float[1];
        Fp8Gemm.Gemm(a, sa, b, sb, fast, 1, 1, k);
        Assert.Equal(c[0], fast[0]);
    }

    [Fact]
    public void Hopper14_DropsWhatFallsBelowItsBits_AndPromotionBoundsTheError()
    {
        // One block: 448·448 = 200704 (2^17.6) then 31 products of 1·1: aligned to 2^17 with 14 bits, the step is 2^4
        // and the ones truncate to nothing (exactly: 200735).
        const int k = 32;
        var a = Enumerable.Repeat(Float8E4M3.FromSingle(1), k).ToArray();
        var b = a.ToArray();
        (a[0], b[0]) = (Float8E4M3.FromSingle(448), Float8E4M3.FromSingle(448));
        float[] one = [1f];
        var (exact, hopper) = (new float[1], new float[1]);
        Fp8Gemm.Reference(a, one, b, one, exact, 1, 1, k);
        Fp8Gemm.Reference(a, one, b, one, hopper, 1, 1, k, Fp8Accumulator.Hopper);
        Assert.Equal(200704f, hopper[0]);
        Assert.Equal(200735f, exact[0]);

        // Random positive sums over K = 4096 (the paper's example): promotion every 128 keeps the relative error small;
        // the same accumulator over all of K loses far more.
        var rng = new Random(5);
        const int m = 4, n = 4, kk = 4096;
        var (qa, qb) = (new Float8E4M3[m * kk], new Float8E4M3[n * kk]);
        for (var i = 0; i < qa.Length; i++) { qa[i] = Float8E4M3.FromSingle((float)(rng.NextDouble() * 448)); }
        for (var i = 0; i < qb.Length; i++) { qb[i] = Float8E4M3.FromSingle((float)(rng.NextDouble() * 448)); }
        var ones = (a: Enumerable.Repeat(1f, m * 32).ToArray(), b: Enumerable.Repeat(1f, n * 32).ToArray());
        var (e, p, u) = (new float[m * n], new float[m * n], new float[m * n]);
        Fp8Gemm.Reference(qa, ones.a, qb, ones.b, e, m, n, kk);
        Fp8Gemm.Reference(qa, ones.a, qb, ones.b, p, m, n, kk, Fp8Accumulator.Hopper);
        Fp8Gemm.Reference(qa, ones.a, qb, ones.b, u, m, n, kk, Fp8Accumulator.HopperUnpromoted);
        var promoted = e.Zip(p, (x, y) => Math.Abs((x - y) / (double)x)).Max();
        var unpromoted = e.Zip(u, (x, y) => Math.Abs((x - y) / (double)x)).Max();
        // Measured with this seed: 6.3e-4 promoted, 7.6e-2 never promoted (all products positive, so truncation only ever
        // lowers the sum; the paper's ~2% was on its own random inputs).
        Assert.InRange(promoted, 0, 2e-3);
        Assert.True(unpromoted > 10 * promoted, $"unpromoted error {unpromoted:E2} should far exceed the promoted {promoted:E2}");
        Assert.InRange(unpromoted, 1e-2, 0.2);
    }

    [Fact]
    public void QuantizedThenMultiplied_AgreesWithTheF32Product_ByDeepGemmsMeasure()
    {
        // Activations in 1×128 tiles, the weight in 128×128 blocks expanded to rows; DeepGEMM's test accepts
        // 1 − 2Σxy / Σ(x² + y²) < 1e-3 against the high-precision product.
        const int m = 37, n = 150, k = 300;
        var rng = new Random(11);
        var x = Enumerable.Range(0, m * k).Select(_ => (float)(rng.NextDouble() - 0.5) * (rng.Next(8) == 0 ? 30 : 1)).ToArray();
        var w = Enumerable.Range(0, n * k).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.1f).ToArray();
        var (qx, sx) = (new Float8E4M3[m * k], new float[m * Fp8Quant.Tiles(k)]);
        var (qw, sw) = (new Float8E4M3[n * k], new float[Fp8Quant.Tiles(n) * Fp8Quant.Tiles(k)]);
        Fp8Quant.QuantizeActivations(x, m, k, qx, sx);
        Fp8Quant.QuantizeWeightBlocks(w, n, k, qw, sw);
        var rows = new float[n * Fp8Quant.Tiles(k)];
        Fp8Gemm.RowScales(sw, n, k, rows);
        var y = new float[m * n];
        Fp8Gemm.Gemm(qx, sx, qw, rows, y, m, n, k);
        var exact = new float[m * n];
        Matmul.Naive<float>(x, w, exact, m, n, k, transposeB: true);
        Assert.InRange(CalcDiff(y, exact), 0, 1e-3);
    }

    [Fact]
    public void RowScales_GiveEachRowItsBlockRow_AndCheckShapes()
    {
        float[] blocks = [1, 2, 3, 4, 5, 6];                 // (ceil(130/128) = 2, ceil(300/128) = 3)
        var rows = new float[130 * 3];
        Fp8Gemm.RowScales(blocks, 130, 300, rows);
        Assert.Equal([1f, 2f, 3f], rows[..3]);
        Assert.Equal([1f, 2f, 3f], rows[(127 * 3)..(128 * 3)]);
        Assert.Equal([4f, 5f, 6f], rows[(128 * 3)..(129 * 3)]);
        Assert.Throws<ArgumentException>(() => Fp8Gemm.RowScales(blocks, 129 + 128, 300, rows));
    }

    [Fact]
    public void BadShapes_NameTheOperand()
    {
        var (a, sa) = (new Float8E4M3[6], new float[2]);
        var (b, sb) = (new Float8E4M3[9], new float[3]);
        var error = Assert.Throws<ArgumentException>(() => Fp8Gemm.Gemm(a, sa, b, sb, new float[6], 2, 3, 4));
        Assert.Contains("a holds 6 values; a (2, 4) operand needs 8", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Fp8Gemm.Gemm(new Float8E4M3[6], sa, new Float8E4M3[8], sb, new float[6], 2, 3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Fp8Gemm.Reference(a, sa, b, sb, new float[6], 2, 3, 3, new Fp8Accumulator(60)));
    }
}
