// LowPrecisionMatmul.cs: y = x·Wᵀ with BF16 or block-scaled FP8 (E4M3, 128×128) weights in the Linear (n, k) layout,
// widened to f32 inside B-panel packing so the f32 microkernel does the compute; m ≤ 4 streams W directly (MatmulGemv).
// Not here: FP8 activations, weight quantization (Fp8Quant.cs). Tested by MatmulTests and MatmulGemvTests.
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
