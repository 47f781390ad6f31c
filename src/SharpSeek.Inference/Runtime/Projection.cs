// Projection.cs: one Linear weight W (out, in) held as F32, BF16 or block-scaled E4M3 and applied as y = x·Wᵀ with the
// matching GEMM (the low-precision ones widen to f32 while packing). Not here: choosing formats (InferenceWeights).
// Tested by InferenceWeightsTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Inference.Runtime;

/// <summary>A projection matrix (Rows = out, Cols = in) in one <see cref="WeightFormat"/>.</summary>
public sealed class Projection
{
    private readonly float[]? _f32;
    private readonly BFloat16[]? _bf16;
    private readonly Float8E4M3[]? _fp8;
    private readonly float[]? _scaleInv;
    private readonly bool _noNaNCodes;

    private Projection(int rows, int cols, WeightFormat format, float[]? f32, BFloat16[]? bf16, Float8E4M3[]? fp8, float[]? scaleInv)
    {
        (Rows, Cols, Format, _f32, _bf16, _fp8, _scaleInv) = (rows, cols, format, f32, bf16, fp8, scaleInv);
        _noNaNCodes = fp8 is not null && !Fp8Quant.HasNaNCode(fp8); // checked once, so the GEMV skips its per-row scan
    }

    public int Rows { get; }

    public int Cols { get; }

    public WeightFormat Format { get; }

    /// <summary>Bytes held: the weights plus, for FP8, the block scales.</summary>
    public long Bytes => Format switch
    {
        WeightFormat.F32 => 4L * _f32!.Length,
        WeightFormat.BF16 => 2L * _bf16!.Length,
        _ => _fp8!.Length + (4L * _scaleInv!.Length),
    };

    /// <summary>The E4M3 codes (Rows, Cols) and scales (ceil(Rows/128), ceil(Cols/128)) of an FP8 projection.</summary>
    public (ReadOnlyMemory<Float8E4M3> Codes, ReadOnlyMemory<float> ScaleInv) Fp8 => Format == WeightFormat.Fp8
        ? (_fp8, _scaleInv!)
        : throw new InvalidOperationException($"the projection is {Format}, not FP8");

    /// <summary>Converts f32 values w: (rows, cols) into <paramref name="format"/> (FP8: 128×128 block scales from each block's max-abs).</summary>
    public static Projection From(ReadOnlySpan<float> w, int rows, int cols, WeightFormat format)
    {
        if (w.Length != (long)rows * cols) { throw new ArgumentException($"a ({rows}, {cols}) projection needs {(long)rows * cols} values; got {w.Length}", nameof(w)); }
        switch (format)
        {
            case WeightFormat.F32:
                return new(rows, cols, format, w.ToArray(), null, null, null);
            case WeightFormat.BF16:
                var bf16 = new BFloat16[w.Length];
                DTypeConvert.ToBFloat16(w, bf16);
                return new(rows, cols, format, null, bf16, null, null);
            case WeightFormat.Fp8:
                var q = new Float8E4M3[w.Length];
                var scales = new float[Fp8Quant.Tiles(rows) * Fp8Quant.Tiles(cols)];
                Fp8Quant.QuantizeWeightBlocks(w, rows, cols, q, scales);
                return new(rows, cols, format, null, null, q, scales);
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "unknown weight format");
        }
    }

    /// <summary>An FP8 projection from stored codes and block scales, taken as they are.</summary>
    public static Projection FromFp8(Float8E4M3[] codes, float[] scaleInv, int rows, int cols)
    {
        if (codes.Length != (long)rows * cols || scaleInv.Length != Fp8Quant.Tiles(rows) * Fp8Quant.Tiles(cols))
        {
            throw new ArgumentException($"a ({rows}, {cols}) FP8 projection needs {(long)rows * cols} codes and {Fp8Quant.Tiles(rows) * Fp8Quant.Tiles(cols)} scales; got {codes.Length} and {scaleInv.Length}");
        }
        return new(rows, cols, WeightFormat.Fp8, null, null, codes, scaleInv);
    }

    /// <summary>W widened to f32, (Rows, Cols).</summary>
    public float[] ToSingle()
    {
        var w = new float[(long)Rows * Cols];
        switch (Format)
        {
            case WeightFormat.F32: _f32!.CopyTo(w, 0); break;
            case WeightFormat.BF16: DTypeConvert.ToSingle(_bf16, w); break;
            default: Fp8Quant.DequantizeWeightBlocks(_fp8, _scaleInv, Rows, Cols, w); break;
        }
        return w;
    }

    /// <summary>y (m, Rows) = [y +] x (m, Cols) · Wᵀ, summed in f32.</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> y, int m, bool accumulate = false)
    {
        var xs = x[..(m * Cols)];
        var ys = y[..(m * Rows)];
        using var region = Profiler.Region(ProfileCategory.Gemm);
        switch (Format)
        {
            case WeightFormat.F32: Matmul.Gemm<float>(xs, _f32, ys, m, Rows, Cols, transposeB: true, accumulate: accumulate); break;
            case WeightFormat.BF16: Matmul.GemmBf16Weights(xs, _bf16, ys, m, Rows, Cols, accumulate); break;
            default: Matmul.GemmFp8Weights(xs, _fp8, _scaleInv, ys, m, Rows, Cols, accumulate, _noNaNCodes); break;
        }
    }
}
