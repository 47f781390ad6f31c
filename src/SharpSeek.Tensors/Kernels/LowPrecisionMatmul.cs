// LowPrecisionMatmul.cs: y = x·Wᵀ with BF16 or block-scaled FP8 (E4M3, 128×128) weights in the Linear (n, k) layout,
// widened to f32 inside B-panel packing so the f32 microkernel does the compute; m ≤ 4 streams W directly (MatmulGemv).
// FP8 training's GEMMs decode both operands in packing too (GemmFp8, GemmFp8Columns). Not here: quantization (Fp8Quant.cs). Tested by MatmulTests, MatmulGemvTests and Fp8GemmTests.
namespace SharpSeek.Tensors.Kernels;

public static unsafe partial class Matmul
{
    /// <summary>FP8 weight scale block edge: scaleInv has one entry per 128×128 block of w.</summary>
    public const int Fp8BlockSize = Fp8Source.Block;

    /// <summary>y (m, n) = [y +] x (m, k) · wᵀ with w: (n, k) BF16, every product and sum in f32.</summary>
    public static void GemmBf16Weights(ReadOnlySpan<float> x, ReadOnlySpan<BFloat16> w, Span<float> y, int m, int n, int k,
        bool accumulate = false)
    {
        CheckShape(x.Length, w.Length, y.Length, m, n, k);
        var bits = Bits<BFloat16, ushort>(w);
        fixed (float* px = x, py = y)
        fixed (ushort* pw = bits)
        {
            if (m <= MatmulGemv.MaxRows) { MatmulGemv.Run(px, new Bf16Weights(pw), py, m, n, k, accumulate); }
            else { MatmulDriver.Run(px, false, new Bf16Source(pw, k), py, m, n, k, accumulate); }
        }
    }

    /// <summary>
    /// y (m, n) = [y +] x (m, k) · Wᵀ with W[j, p] = e4m3(w[j, p]) · scaleInv[j / 128, p / 128]; w: (n, k),
    /// scaleInv: (ceil(n/128), ceil(k/128)), the last blocks partial. Accumulates in f32. A caller that has checked once
    /// that w holds no NaN code (<see cref="Fp8Quant.HasNaNCode"/>, as a loaded projection does) passes
    /// <paramref name="noNaNCodes"/> to spare the small-m path (m ≤ 4) its per-row scan. If it is wrong, a NaN code there
    /// reads as ±480 · its scale instead of NaN (at m > 4, or in a block whose scale the fast decode cannot take, it
    /// stays NaN), so only pass it for codes actually checked.
    /// </summary>
    public static void GemmFp8Weights(ReadOnlySpan<float> x, ReadOnlySpan<Float8E4M3> w, ReadOnlySpan<float> scaleInv,
        Span<float> y, int m, int n, int k, bool accumulate = false, bool noNaNCodes = false)
    {
        CheckShape(x.Length, w.Length, y.Length, m, n, k);
        var scaleRows = (n + Fp8BlockSize - 1) / Fp8BlockSize;
        var scaleCols = (k + Fp8BlockSize - 1) / Fp8BlockSize;
        CheckLength(nameof(scaleInv), scaleInv.Length, (long)scaleRows * scaleCols, scaleRows, scaleCols);
        var bits = Bits<Float8E4M3, byte>(w);
        fixed (float* px = x, py = y, ps = scaleInv, table = Float8E4M3.DecodeTable)
        fixed (byte* pw = bits)
        {
            if (m <= MatmulGemv.MaxRows) { MatmulGemv.Run(px, new Fp8Weights(pw, ps, table, k, noNaNCodes), py, m, n, k, accumulate); }
            else { MatmulDriver.Run(px, false, new Fp8Source(pw, ps, table, k), py, m, n, k, accumulate); }
        }
    }

    /// <summary>
    /// FP8 training's Fprop and Dgrad through the packed engine: c (m, n) = [c +] A · Wᵀ with A[i, p] = e4m3(a[i, p]) ·
    /// aScales[i, p / 128] (1×128 tiles) and W as in <see cref="GemmFp8Weights"/>, both decoded while packed. The same
    /// sums as <see cref="Gemm{T}"/> over the dequantized operands where that packs (<see cref="Packs"/>; the caller
    /// checks).
    /// </summary>
    internal static void GemmFp8(ReadOnlySpan<Float8E4M3> a, ReadOnlySpan<float> aScales, ReadOnlySpan<Float8E4M3> w, ReadOnlySpan<float> wBlocks,
        Span<float> c, int m, int n, int k, bool accumulate)
    {
        CheckShape(a.Length, w.Length, c.Length, m, n, k);
        var (rowTiles, colTiles) = ((n + Fp8BlockSize - 1) / Fp8BlockSize, (k + Fp8BlockSize - 1) / Fp8BlockSize);
        CheckLength(nameof(aScales), aScales.Length, (long)m * colTiles, m, colTiles);
        CheckLength(nameof(wBlocks), wBlocks.Length, (long)rowTiles * colTiles, rowTiles, colTiles);
        fixed (Float8E4M3* pa = a, pw = w)
        fixed (float* sa = aScales, sw = wBlocks, pc = c, table = Float8E4M3.DecodeTable)
        {
            MatmulDriver.Run(new Fp8RowTiles((byte*)pa, sa, k), new Fp8Source((byte*)pw, sw, table, k), pc, m, n, k, accumulate);
        }
    }

    /// <summary>
    /// FP8 training's Wgrad through the packed engine: c (m, n) = [c +] Aᵀ · B with A (k, m) and B (k, n) E4M3 codes in
    /// 128×1 tiles down their columns (scales (ceil(k/128), m) and (ceil(k/128), n), Fp8Quant.QuantizeColumns), decoded
    /// while packed, neither transposed. The same sums as <see cref="Gemm{T}"/> (transposeA) over the dequantized
    /// operands where that packs (<see cref="Packs"/>; the caller checks).
    /// </summary>
    internal static void GemmFp8Columns(ReadOnlySpan<Float8E4M3> a, ReadOnlySpan<float> aScales, ReadOnlySpan<Float8E4M3> b, ReadOnlySpan<float> bScales,
        Span<float> c, int m, int n, int k, bool accumulate)
    {
        CheckShape(a.Length, b.Length, c.Length, m, n, k);
        var tiles = (k + Fp8BlockSize - 1) / Fp8BlockSize;
        CheckLength(nameof(aScales), aScales.Length, (long)tiles * m, tiles, m);
        CheckLength(nameof(bScales), bScales.Length, (long)tiles * n, tiles, n);
        fixed (Float8E4M3* pa = a, pb = b)
        fixed (float* sa = aScales, sb = bScales, pc = c)
        {
            MatmulDriver.Run(new Fp8ColumnTilesTransposed((byte*)pa, sa, m), new Fp8ColumnTiles((byte*)pb, sb, n), pc, m, n, k, accumulate);
        }
    }

    /// <summary>GemmFp8Weights for 1 ≤ m ≤ 4 with Fp8Source.Decode on every row: the oracle of the lifted decode.</summary>
    internal static void GemvFp8Exact(ReadOnlySpan<float> x, ReadOnlySpan<Float8E4M3> w, ReadOnlySpan<float> scaleInv,
        Span<float> y, int m, int n, int k, bool accumulate)
    {
        CheckShape(x.Length, w.Length, y.Length, m, n, k);
        var (scaleRows, scaleCols) = ((n + Fp8BlockSize - 1) / Fp8BlockSize, (k + Fp8BlockSize - 1) / Fp8BlockSize);
        CheckLength(nameof(scaleInv), scaleInv.Length, (long)scaleRows * scaleCols, scaleRows, scaleCols);
        var bits = Bits<Float8E4M3, byte>(w);
        fixed (float* px = x, py = y, ps = scaleInv, table = Float8E4M3.DecodeTable)
        fixed (byte* pw = bits)
        {
            MatmulGemv.Run(px, new Fp8ExactWeights(new Fp8Weights(pw, ps, table, k)), py, m, n, k, accumulate);
        }
    }
}
