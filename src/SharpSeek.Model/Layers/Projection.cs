// Projection.cs: the inference view of one Linear weight W (out, in): the F32 master read in place, or a BF16 or
// block-scaled E4M3 copy converted from it (or FP8 codes and scales taken as a checkpoint stored them, or BF16 weights
// read in place from a mapped checkpoint file, which stores a Linear's weight row-major (out, in) as we do), applied as
// y = x·Wᵀ with the matching GEMM (the low-precision ones widen to f32 while packing; deepseek-ai/DeepSeek-V3:
// inference/model.py, linear). Not here: which format a model uses (ModelWeights.UseFormat), the bias (Linear).
// Tested by InferenceWeightsTests and MappedWeightsTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Model.Layers;

/// <summary>A projection matrix (Rows = out, Cols = in) in one <see cref="WeightFormat"/>.</summary>
public sealed class Projection
{
    private readonly Tensor _master;
    private readonly BFloat16[]? _bf16;
    private readonly Float8E4M3[]? _fp8;
    private readonly float[]? _scaleInv;
    private readonly float[]? _widened;
    private readonly bool _noNaNCodes;

    private Projection(int rows, int cols, WeightFormat format, Tensor master, BFloat16[]? bf16, Float8E4M3[]? fp8, float[]? scaleInv, bool widen)
    {
        (Rows, Cols, Format, _master, _bf16, _fp8, _scaleInv) = (rows, cols, format, master, bf16, fp8, scaleInv);
        _noNaNCodes = fp8 is not null && !Fp8Quant.HasNaNCode(fp8); // checked once, so the GEMV skips its per-row scan
        if (widen && format != WeightFormat.F32) { _widened = ToSingle(); }
    }

    public int Rows { get; }

    public int Cols { get; }

    public WeightFormat Format { get; }

    /// <summary>True when the view reads its weight tensor in place (<see cref="Over"/>: an F32 master, or BF16 weights a
    /// mapped checkpoint holds), false for a converted copy.</summary>
    public bool InPlace => _master.IsValid;

    /// <summary>Bytes this view reads: the weights in their format plus, for FP8, the block scales (an in-place view's bytes
    /// are its tensor's); a kept f32 widening (<see cref="Widened"/>) adds 4 bytes per weight.</summary>
    public long Bytes => (Format switch
    {
        WeightFormat.F32 => 4L * Rows * Cols,
        WeightFormat.BF16 => 2L * Rows * Cols,
        _ => _fp8!.Length + (4L * _scaleInv!.Length),
    }) + (4L * (_widened?.Length ?? 0));

    /// <summary>The E4M3 codes (Rows, Cols) and scales (ceil(Rows/128), ceil(Cols/128)) of an FP8 projection.</summary>
    public (ReadOnlyMemory<Float8E4M3> Codes, ReadOnlyMemory<float> ScaleInv) Fp8 => Format == WeightFormat.Fp8
        ? (_fp8, _scaleInv!)
        : throw new InvalidOperationException($"the projection is {Format}, not FP8");

    /// <summary>W in f32, (Rows, Cols), for code that slices it (MLA's absorbed W_UK/W_UV): an F32 view's master, else the
    /// widening kept when the view was built with <c>widen</c>.</summary>
    public ReadOnlySpan<float> Widened => Format == WeightFormat.F32 ? _master.AsSpan<float>()
        : _widened ?? throw new InvalidOperationException($"this {Format} projection keeps no f32 widening; build its view with widen: true");

    /// <summary>A view of <paramref name="weight"/> (out, in), F32 or BF16, in its own format: reads the tensor in place, so
    /// a change to it is seen at once. With <paramref name="widen"/> a BF16 view also keeps W widened to f32.</summary>
    public static Projection Over(Tensor weight, bool widen = false)
    {
        if (weight.DType is not (DType.F32 or DType.BF16) || weight.Rank != 2)
        {
            throw new ArgumentException($"an in-place view reads an F32 or BF16 matrix; got {weight.DType} {weight.Shape}", nameof(weight));
        }
        var format = weight.DType == DType.BF16 ? WeightFormat.BF16 : WeightFormat.F32;
        return new((int)weight.Size(0), (int)weight.Size(1), format, weight, null, null, null, widen);
    }

    /// <summary>Converts f32 values w: (rows, cols) into BF16 or FP8 (128×128 block scales from each block's max-abs);
    /// with <paramref name="widen"/> the converted weights are also kept widened to f32 (<see cref="Widened"/>).</summary>
    public static Projection From(ReadOnlySpan<float> w, int rows, int cols, WeightFormat format, bool widen = false)
    {
        if (w.Length != (long)rows * cols) { throw new ArgumentException($"a ({rows}, {cols}) projection needs {(long)rows * cols} values; got {w.Length}", nameof(w)); }
        switch (format)
        {
            case WeightFormat.BF16:
                var bf16 = new BFloat16[w.Length];
                DTypeConvert.ToBFloat16(w, bf16);
                return new(rows, cols, format, default, bf16, null, null, widen);
            case WeightFormat.Fp8:
                var q = new Float8E4M3[w.Length];
                var scales = new float[Fp8Quant.Tiles(rows) * Fp8Quant.Tiles(cols)];
                Fp8Quant.QuantizeWeightBlocks(w, rows, cols, q, scales);
                return new(rows, cols, format, default, null, q, scales, widen);
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "an F32 view reads its master in place (Projection.Over); From converts to BF16 or FP8");
        }
    }

    /// <summary>An FP8 projection from stored codes and block scales, taken as they are.</summary>
    public static Projection FromFp8(Float8E4M3[] codes, float[] scaleInv, int rows, int cols, bool widen = false)
    {
        if (codes.Length != (long)rows * cols || scaleInv.Length != Fp8Quant.Tiles(rows) * Fp8Quant.Tiles(cols))
        {
            throw new ArgumentException($"a ({rows}, {cols}) FP8 projection needs {(long)rows * cols} codes and {Fp8Quant.Tiles(rows) * Fp8Quant.Tiles(cols)} scales; got {codes.Length} and {scaleInv.Length}");
        }
        return new(rows, cols, WeightFormat.Fp8, default, null, codes, scaleInv, widen);
    }

    /// <summary>W widened to f32, (Rows, Cols), a new array.</summary>
    public float[] ToSingle()
    {
        var w = new float[(long)Rows * Cols];
        switch (Format)
        {
            case WeightFormat.F32: _master.AsSpan<float>().CopyTo(w); break;
            case WeightFormat.BF16: DTypeConvert.ToSingle(Bf16, w); break;
            default: Fp8Quant.DequantizeWeightBlocks(_fp8, _scaleInv, Rows, Cols, w); break;
        }
        return w;
    }

    // A BF16 view's weights: its converted copy, or the BF16 tensor it reads in place.
    private ReadOnlySpan<BFloat16> Bf16 => _bf16 is not null ? _bf16 : _master.AsSpan<BFloat16>();

    /// <summary>y (m, Rows) = [y +] x (m, Cols) · Wᵀ, summed in f32.</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> y, int m, bool accumulate = false)
    {
        var xs = x[..(m * Cols)];
        var ys = y[..(m * Rows)];
        using var region = Profiler.Region(ProfileCategory.Gemm);
        switch (Format)
        {
            case WeightFormat.F32: Matmul.Gemm<float>(xs, _master.AsSpan<float>(), ys, m, Rows, Cols, transposeB: true, accumulate: accumulate); break;
            case WeightFormat.BF16: Matmul.GemmBf16Weights(xs, Bf16, ys, m, Rows, Cols, accumulate); break;
            default: Matmul.GemmFp8Weights(xs, _fp8, _scaleInv, ys, m, Rows, Cols, accumulate, _noNaNCodes); break;
        }
    }
}
