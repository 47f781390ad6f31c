// Fp8Quant.cs: DeepSeek-V3 fine-grained FP8 scaling: 1x128 activation tiles, 128x1 tiles down the columns (Wgrad's
// operands, untransposed) and 128x128 weight blocks, each with an online max-abs scale (scale = max(amax, 1e-4) / 448,
// q = E4M3(x / scale), x ~ q * scale), the 1x128 quantizer optionally writing x ~ q * scale in the same pass, both tile
// shapes of one tensor in one pass (the backward's dY), 1x128-tile codes requantized down the columns without an f32
// copy (Wgrad's X), plus the dequantizers.
// NaN/Inf inputs leave NaN codes, which ThrowIfNotFinite turns into a clear error. Not here: FP8 GEMMs (Fp8Gemm) and
// delayed scaling. Tested by Fp8QuantTests.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SharpSeek.Tensors.Kernels;

/// <summary>Block-scaled E4M3 quantization as in DeepSeek-V3 (paper §3.3.2, DeepGEMM <c>per_token_cast_to_fp8</c>).</summary>
public static unsafe class Fp8Quant
{
    /// <summary>Elements per tile side: 1x128 activation tiles, 128x128 weight blocks.</summary>
    public const int Block = 128;

    /// <summary>Lower clamp of a tile's max-abs, so an all-zero tile still gets a finite, nonzero scale.</summary>
    public const float MinAmax = 1e-4f;

    // Below this many elements the loop runs on the calling thread: waking the pool costs more than the work.
    private const long ParallelThreshold = 1 << 15;

    /// <summary>Tiles along a dimension of <paramref name="n"/> elements: ceil(n / 128).</summary>
    public static int Tiles(int n) => (n + Block - 1) / Block;

    /// <summary>
    /// Quantizes activations per token in 1x128 tiles. x, q: (rows, cols) row-major; scales: (rows, ceil(cols/128)).
    /// scale = max(amax, 1e-4) / 448 over the tile's real elements (rounded up to a power of two, UE8M0 style, when
    /// <paramref name="powerOfTwoScales"/>), q = E4M3(x / scale), so x ~ q * scale.
    /// </summary>
    public static void QuantizeActivations(ReadOnlySpan<float> x, int rows, int cols, Span<Float8E4M3> q, Span<float> scales,
        bool powerOfTwoScales = false) => QuantizeRows(x, rows, cols, q, scales, powerOfTwoScales, perTensor: false, default);

    /// <summary><see cref="QuantizeActivations(ReadOnlySpan{float}, int, int, Span{Float8E4M3}, Span{float}, bool)"/> that
    /// also writes what the codes stand for, dequantized[r, c] = q[r, c] · scales[r, c / 128], in the same pass (the
    /// tile's codes are still in L1): the values a receiver of the codes reads (Fp8DispatchOp). <paramref name="dequantized"/>
    /// may be <paramref name="x"/> itself.</summary>
    public static void QuantizeActivations(ReadOnlySpan<float> x, int rows, int cols, Span<Float8E4M3> q, Span<float> scales,
        bool powerOfTwoScales, Span<float> dequantized) => QuantizeRows(x, rows, cols, q, scales, powerOfTwoScales, perTensor: false, Required(dequantized, rows, cols));

    /// <summary>
    /// Per-tensor scaling (the ablation of fine-grained scaling, DeepSeek-V3 appendix B.2): one scale, max(amax, 1e-4) / 448
    /// over the whole (rows, cols) tensor (its UE8M0 ceiling when <paramref name="powerOfTwoScale"/>), written to every tile's slot of <paramref name="scales"/> (rows, ceil(cols/128))
    /// so the result reads like <see cref="QuantizeActivations(ReadOnlySpan{float}, int, int, Span{Float8E4M3}, Span{float}, bool)"/>' output. A NaN or ±∞ leaves NaN codes.
    /// </summary>
    public static void QuantizeTensor(ReadOnlySpan<float> x, int rows, int cols, Span<Float8E4M3> q, Span<float> scales, bool powerOfTwoScale = false) =>
        QuantizeRows(x, rows, cols, q, scales, powerOfTwoScale, perTensor: true, default);

    /// <summary>
    /// Quantizes in 128×1 tiles, down the columns: what Wgrad's operands need (arXiv 2412.19437 §3.3.2: "128×1 tiles" for
    /// the backward's activations and activation gradients), without transposing them. x, q, dequantized: (rows, cols);
    /// scales: (ceil(rows/128), cols), scales[b, c] = max(amax, 1e-4)/448 over x[128b .. 128b+127, c] (its UE8M0
    /// ceiling when <paramref name="powerOfTwoScales"/>); q = E4M3(x / scale). The transposed operand's <see cref="QuantizeActivations(ReadOnlySpan{float}, int, int, Span{Float8E4M3}, Span{float}, bool)"/>
    /// gives the same codes and scales, transposed.
    /// </summary>
    public static void QuantizeColumns(ReadOnlySpan<float> x, int rows, int cols, Span<Float8E4M3> q, Span<float> scales, bool powerOfTwoScales = false)
    {
        CheckShape(rows, cols);
        var count = (long)rows * cols;
        CheckLength(nameof(x), x.Length, count);
        CheckLength(nameof(q), q.Length, count);
        CheckLength(nameof(scales), scales.Length, (long)Tiles(rows) * cols);
        fixed (float* px = x, ps = scales)
        fixed (Float8E4M3* pq = q)
        {
            var work = new ColumnBands { X = px, Q = (byte*)pq, Scales = ps, Rows = rows, Cols = cols, Chunks = (cols + ColumnChunk - 1) / ColumnChunk, PowerOfTwo = powerOfTwoScales };
            Run(Tiles(rows) * work.Chunks, count, ref work);
        }
    }

    /// <summary>
    /// <see cref="QuantizeActivations(ReadOnlySpan{float}, int, int, Span{Float8E4M3}, Span{float}, bool)"/> into
    /// <paramref name="rowCodes"/>/<paramref name="rowScales"/> and <see cref="QuantizeColumns"/> into
    /// <paramref name="q"/>/<paramref name="scales"/>, bit for bit, in one pass over x: a 128-row band's chunk of 128
    /// columns holds whole row tiles. What the backward needs of dY: Dgrad's row tiles and Wgrad's column tiles.
    /// </summary>
    public static void QuantizeRowsAndColumns(ReadOnlySpan<float> x, int rows, int cols, Span<Float8E4M3> rowCodes, Span<float> rowScales, bool rowPowerOfTwoScales,
        Span<Float8E4M3> q, Span<float> scales, bool powerOfTwoScales)
    {
        CheckShape(rows, cols);
        var count = (long)rows * cols;
        CheckLength(nameof(x), x.Length, count);
        CheckLength(nameof(rowCodes), rowCodes.Length, count);
        CheckLength(nameof(rowScales), rowScales.Length, (long)rows * Tiles(cols));
        CheckLength(nameof(q), q.Length, count);
        CheckLength(nameof(scales), scales.Length, (long)Tiles(rows) * cols);
        fixed (float* px = x, prs = rowScales, ps = scales)
        fixed (Float8E4M3* prc = rowCodes, pq = q)
        {
            var work = new ColumnBands
            {
                X = px,
                RowQ = (byte*)prc,
                RowQScales = prs,
                RowPowerOfTwo = rowPowerOfTwoScales,
                Q = (byte*)pq,
                Scales = ps,
                Rows = rows,
                Cols = cols,
                Chunks = (cols + ColumnChunk - 1) / ColumnChunk,
                PowerOfTwo = powerOfTwoScales,
            };
            Run(Tiles(rows) * work.Chunks, count, ref work);
        }
    }

    /// <summary>
    /// <see cref="QuantizeColumns"/> of what 1×128-tile codes stand for (<paramref name="rowCodes"/> · <paramref name="rowScales"/>
    /// (rows, ceil(cols/128)), as <see cref="DequantizeActivations"/> gives them), bit for bit, without the f32 tensor in
    /// between: each 128-row band decodes its rows again for the codes after the max-abs. Wgrad's copy of X, cached in
    /// Fprop's row tiles, becomes its 128×1 tiles this way.
    /// </summary>
    public static void RequantizeColumns(ReadOnlySpan<Float8E4M3> rowCodes, ReadOnlySpan<float> rowScales, int rows, int cols, Span<Float8E4M3> q, Span<float> scales, bool powerOfTwoScales = false)
    {
        CheckShape(rows, cols);
        var count = (long)rows * cols;
        CheckLength(nameof(rowCodes), rowCodes.Length, count);
        CheckLength(nameof(rowScales), rowScales.Length, (long)rows * Tiles(cols));
        CheckLength(nameof(q), q.Length, count);
        CheckLength(nameof(scales), scales.Length, (long)Tiles(rows) * cols);
        fixed (Float8E4M3* prc = rowCodes, pq = q)
        fixed (float* prs = rowScales, ps = scales)
        {
            var work = new ColumnBands { SourceCodes = (byte*)prc, SourceScales = prs, Q = (byte*)pq, Scales = ps, Rows = rows, Cols = cols, Chunks = (cols + ColumnChunk - 1) / ColumnChunk, PowerOfTwo = powerOfTwoScales };
            Run(Tiles(rows) * work.Chunks, count, ref work);
        }
    }

    /// <summary>Inverse of <see cref="QuantizeColumns"/>: x[r, c] = q[r, c] · scales[r / 128, c].</summary>
    public static void DequantizeColumns(ReadOnlySpan<Float8E4M3> q, ReadOnlySpan<float> scales, int rows, int cols, Span<float> x)
    {
        CheckShape(rows, cols);
        var count = (long)rows * cols;
        CheckLength(nameof(q), q.Length, count);
        CheckLength(nameof(scales), scales.Length, (long)Tiles(rows) * cols);
        CheckLength(nameof(x), x.Length, count);
        var codes = MemoryMarshal.AsBytes(q);
        for (var r = 0; r < rows; r++)
        {
            DTypeConvert.DecodeE4M3(codes.Slice(r * cols, cols), scales.Slice(r / Block * cols, cols), x.Slice(r * cols, cols));
        }
    }

    // A dequantized output's length checked, as a span that is never empty for a nonempty tensor.
    private static Span<float> Required(Span<float> dequantized, int rows, int cols)
    {
        CheckLength(nameof(dequantized), dequantized.Length, (long)rows * cols);
        return dequantized;
    }

    // Both activation quantizers: every tile's scale from its own max-abs, or one from the whole tensor's; the dequantized
    // values too where asked (non-empty).
    private static void QuantizeRows(ReadOnlySpan<float> x, int rows, int cols, Span<Float8E4M3> q, Span<float> scales, bool powerOfTwo, bool perTensor, Span<float> dequantized)
    {
        CheckShape(rows, cols);
        var count = (long)rows * cols;
        CheckLength(nameof(x), x.Length, count);
        CheckLength(nameof(q), q.Length, count);
        CheckLength(nameof(scales), scales.Length, (long)rows * Tiles(cols));
        fixed (float* px = x, pd = dequantized)
        fixed (Float8E4M3* pq = q)
        fixed (float* ps = scales)
        {
            var work = new ActivationRows { X = px, Q = (byte*)pq, Scales = ps, Dequantized = dequantized.IsEmpty ? null : pd, Cols = cols, PowerOfTwo = powerOfTwo };
            if (perTensor)
            {
                var amax = 0f;
                for (var r = 0; r < rows; r++)
                {
                    var m = MaxAbs(px + ((long)r * cols), cols);
                    if (m > amax) { amax = m; } // a NaN row max is skipped: the NaN alone becomes a NaN code, so the error names its row
                }
                work.FixedScale = ScaleOf(amax, powerOfTwo);
            }
            RowLoop.Run(rows, cols, ref work); // several rows per item: one row is less work than claiming an item
        }
    }

    /// <summary>Inverse of <see cref="QuantizeActivations(ReadOnlySpan{float}, int, int, Span{Float8E4M3}, Span{float}, bool)"/>: x[r, c] = q[r, c] * scales[r, c / 128].</summary>
    public static void DequantizeActivations(ReadOnlySpan<Float8E4M3> q, ReadOnlySpan<float> scales, int rows, int cols, Span<float> x)
    {
        CheckShape(rows, cols);
        var count = (long)rows * cols;
        CheckLength(nameof(q), q.Length, count);
        CheckLength(nameof(scales), scales.Length, (long)rows * Tiles(cols));
        CheckLength(nameof(x), x.Length, count);
        fixed (Float8E4M3* pq = q)
        fixed (float* ps = scales)
        fixed (float* px = x)
        {
            var work = new DequantRows { Q = (byte*)pq, Scales = ps, X = px, Cols = cols, ScaleRowStride = 1 };
            RowLoop.Run(rows, cols, ref work); // several rows per item: one row is less work than claiming an item
        }
    }

    /// <summary>
    /// Quantizes a weight in 128x128 blocks. w, q: (rows, cols) row-major; scaleInv: (ceil(rows/128), ceil(cols/128)).
    /// scaleInv = max(amax, 1e-4) / 448 over the block's real elements (edge blocks act as zero-padded), q = E4M3(w / scaleInv);
    /// scaleInv is the dequant multiplier, as the official checkpoints' <c>weight_scale_inv</c>.
    /// </summary>
    public static void QuantizeWeightBlocks(ReadOnlySpan<float> w, int rows, int cols, Span<Float8E4M3> q, Span<float> scaleInv)
    {
        CheckShape(rows, cols);
        var count = (long)rows * cols;
        CheckLength(nameof(w), w.Length, count);
        CheckLength(nameof(q), q.Length, count);
        var blockCols = Tiles(cols);
        CheckLength(nameof(scaleInv), scaleInv.Length, (long)Tiles(rows) * blockCols);
        fixed (float* pw = w)
        fixed (Float8E4M3* pq = q)
        fixed (float* ps = scaleInv)
        {
            var work = new WeightBlocks { W = pw, Q = (byte*)pq, ScaleInv = ps, Rows = rows, Cols = cols, BlockCols = blockCols };
            Run(Tiles(rows), count, ref work);
        }
    }

    /// <summary>Inverse of <see cref="QuantizeWeightBlocks"/>: w[i, j] = q[i, j] * scaleInv[i / 128, j / 128] (official <c>weight_dequant</c>).</summary>
    public static void DequantizeWeightBlocks(ReadOnlySpan<Float8E4M3> q, ReadOnlySpan<float> scaleInv, int rows, int cols, Span<float> w)
    {
        CheckShape(rows, cols);
        var count = (long)rows * cols;
        CheckLength(nameof(q), q.Length, count);
        CheckLength(nameof(scaleInv), scaleInv.Length, (long)Tiles(rows) * Tiles(cols));
        CheckLength(nameof(w), w.Length, count);
        fixed (Float8E4M3* pq = q)
        fixed (float* ps = scaleInv)
        fixed (float* pw = w)
        {
            var work = new DequantRows { Q = (byte*)pq, Scales = ps, X = pw, Cols = cols, ScaleRowStride = Block };
            RowLoop.Run(rows, cols, ref work); // several rows per item: one row is less work than claiming an item
        }
    }

    /// <summary>Whether any code is an E4M3 NaN (S.1111.111): the check a loaded projection makes once so that the GEMV
    /// can skip it per call.</summary>
    public static bool HasNaNCode(ReadOnlySpan<Float8E4M3> codes) => MemoryMarshal.AsBytes(codes).IndexOfAny((byte)0x7F, (byte)0xFF) >= 0;

    /// <summary>
    /// Throws when quantized codes of a (rows, <paramref name="cols"/>) tensor hold a NaN code: what a NaN or infinite
    /// input leaves (an infinite max-abs makes its tile's scale infinite and the value itself x/∞ = NaN). One byte scan;
    /// the message names the tensor, row and 1×128 tile (column and 128×1 tile with <paramref name="columnTiles"/>).
    /// </summary>
    public static void ThrowIfNotFinite(ReadOnlySpan<Float8E4M3> q, int cols, string tensor, bool columnTiles = false)
    {
        var at = MemoryMarshal.AsBytes(q).IndexOfAny((byte)0x7F, (byte)0xFF);
        if (at < 0) { return; }
        var (row, col) = (at / Math.Max(cols, 1), at % Math.Max(cols, 1));
        var where = columnTiles
            ? $"column {col}, 128×1 tile {row / Block} (rows {row / Block * Block} .. {Math.Min(q.Length / Math.Max(cols, 1), (row / Block * Block) + Block) - 1})"
            : $"row {row}, tile {col / Block} (columns {col / Block * Block} .. {Math.Min(cols, (col / Block * Block) + Block) - 1})";
        throw new NonFiniteTensorException($"{tensor} holds a NaN or infinite value in {where}; "
            + "FP8 scaling needs finite values: the step diverged, so lower the learning rate or resume from the last good checkpoint");
    }

    /// <summary>The scale of a tile with max-abs <paramref name="amax"/>: max(amax, 1e-4) / 448, or its UE8M0 ceiling.</summary>
    public static float ScaleOf(float amax, bool powerOfTwo)
    {
        var scale = MathF.Max(amax, MinAmax) / Float8E4M3.MaxValue;
        return powerOfTwo ? CeilToPowerOfTwo(scale) : scale;
    }

    /// <summary>The smallest power of two &gt;= |s| (DeepGEMM <c>ceil_to_ue8m0</c>), for normal positive scales.</summary>
    public static float CeilToPowerOfTwo(float s)
    {
        var bits = BitConverter.SingleToUInt32Bits(s) & 0x7FFF_FFFF;
        var e = (int)(bits >> 23) + ((bits & 0x7F_FFFF) != 0 ? 1 : 0);
        return BitConverter.UInt32BitsToSingle((uint)Math.Clamp(e, 1, 254) << 23);
    }

    /// <summary>Naive reference: the same math element by element with the scalar encoder. Test oracle.</summary>
    internal static void QuantizeActivationsNaive(ReadOnlySpan<float> x, int rows, int cols, Span<Float8E4M3> q, Span<float> scales, bool powerOfTwo)
    {
        var tiles = Tiles(cols);
        for (var r = 0; r < rows; r++)
        {
            for (var t = 0; t < tiles; t++)
            {
                var c0 = t * Block;
                var c1 = Math.Min(cols, c0 + Block);
                var amax = 0f;
                for (var c = c0; c < c1; c++) { amax = MathF.Max(amax, MathF.Abs(x[(r * cols) + c])); }
                var scale = ScaleOf(amax, powerOfTwo);
                scales[(r * tiles) + t] = scale;
                for (var c = c0; c < c1; c++) { q[(r * cols) + c] = Float8E4M3.FromSingle(x[(r * cols) + c] / scale); }
            }
        }
    }

    /// <summary>Naive reference for <see cref="QuantizeWeightBlocks"/>, element by element. Test oracle.</summary>
    internal static void QuantizeWeightBlocksNaive(ReadOnlySpan<float> w, int rows, int cols, Span<Float8E4M3> q, Span<float> scaleInv)
    {
        var blockCols = Tiles(cols);
        for (var bi = 0; bi < Tiles(rows); bi++)
        {
            for (var bj = 0; bj < blockCols; bj++)
            {
                var amax = 0f;
                for (var r = bi * Block; r < Math.Min(rows, (bi + 1) * Block); r++)
                {
                    for (var c = bj * Block; c < Math.Min(cols, (bj + 1) * Block); c++) { amax = MathF.Max(amax, MathF.Abs(w[(r * cols) + c])); }
                }
                var scale = ScaleOf(amax, powerOfTwo: false);
                scaleInv[(bi * blockCols) + bj] = scale;
                for (var r = bi * Block; r < Math.Min(rows, (bi + 1) * Block); r++)
                {
                    for (var c = bj * Block; c < Math.Min(cols, (bj + 1) * Block); c++) { q[(r * cols) + c] = Float8E4M3.FromSingle(w[(r * cols) + c] / scale); }
                }
            }
        }
    }

    private static void Run<T>(int items, long elements, ref T work) where T : struct, IWorkItem
    {
        if (elements < ParallelThreshold)
        {
            for (var i = 0; i < items; i++) { work.Execute(i, 0); }
        }
        else
        {
            WorkerPool.Current.For(items, ref work);
        }
    }

    private static float MaxAbs(float* x, int n)
    {
        var i = 0;
        var amax = 0f;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var acc = Vector256<float>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                acc = Vector256.Max(acc, Vector256.Abs(Vector256.Load(x + i)));
            }
            var m = Vector128.Max(acc.GetLower(), acc.GetUpper());
            amax = MathF.Max(MathF.Max(m[0], m[1]), MathF.Max(m[2], m[3]));
        }
        else if (Vector128.IsHardwareAccelerated && n >= Vector128<float>.Count)
        {
            var acc = Vector128<float>.Zero;
            for (; i <= n - Vector128<float>.Count; i += Vector128<float>.Count)
            {
                acc = Vector128.Max(acc, Vector128.Abs(Vector128.Load(x + i)));
            }
            amax = MathF.Max(MathF.Max(acc[0], acc[1]), MathF.Max(acc[2], acc[3]));
        }
        for (; i < n; i++)
        {
            amax = MathF.Max(amax, MathF.Abs(x[i]));
        }
        return amax;
    }

    // One row of activations: every tile's scale and codes.
    private struct ActivationRows : IRowBody
    {
        public float* X;
        public byte* Q;
        public float* Scales;
        public float* Dequantized; // null: codes and scales only
        public int Cols;
        public bool PowerOfTwo;
        public float FixedScale; // > 0 (∞ for an infinite input): every tile's scale (per-tensor scaling); 0: each tile's own

        public readonly void Row(int index)
        {
            var tiles = Tiles(Cols);
            var row = (long)index * Cols;
            for (var t = 0; t < tiles; t++)
            {
                var c0 = t * Block;
                var n = Math.Min(Cols - c0, Block);
                var x = X + row + c0;
                var scale = FixedScale != 0 ? FixedScale : ScaleOf(MaxAbs(x, n), PowerOfTwo);
                Scales[((long)index * tiles) + t] = scale;
                DTypeConvert.EncodeE4M3(new ReadOnlySpan<float>(x, n), scale, saturate: false, new Span<byte>(Q + row + c0, n));
                if (Dequantized != null) { DTypeConvert.DecodeE4M3(new ReadOnlySpan<byte>(Q + row + c0, n), scale, new Span<float>(Dequantized + row + c0, n)); }
            }
        }
    }

    // Columns of one work item of the 128×1 quantizer: a band with few rows (one expert's tokens) still splits. One row
    // tile wide, so that a chunk of a row-tiled source has one scale.
    private const int ColumnChunk = Block;

    // One band of 128 rows × one chunk of columns (index = band · Chunks + chunk) in 128×1 tiles: every column's max-abs
    // over the band (vectors across columns, rows in memory order), the scales, then each row's codes. The values are X,
    // or with SourceCodes the row tiles' codes times their scales, decoded once per pass into a chunk-sized buffer.
    private struct ColumnBands : IWorkItem
    {
        public float* X;
        public byte* SourceCodes;     // non-null: the values are these 1×128-tile codes times SourceScales, not X
        public float* SourceScales;
        public byte* RowQ;            // non-null: the values' 1×128 row tiles too (codes, RowQScales), from the first pass
        public float* RowQScales;
        public bool RowPowerOfTwo;
        public byte* Q;
        public float* Scales;
        public int Rows;
        public int Cols;
        public int Chunks;
        public bool PowerOfTwo;

        [SkipLocalsInit] // the decode buffer is written before it is read, and only with SourceCodes
        public readonly void Execute(int index, int worker)
        {
            var (band, c0) = (index / Chunks, index % Chunks * ColumnChunk);
            var (r0, r1, n) = (band * Block, Math.Min(Rows, (band + 1) * Block), Math.Min(ColumnChunk, Cols - c0));
            var scales = new Span<float>(Scales + ((long)band * Cols) + c0, n);
            var decoded = stackalloc float[ColumnChunk];
            scales.Clear();
            for (var r = r0; r < r1; r++)
            {
                var values = Values(r, c0, n, decoded);
                MaxAbsInto(values, Scales + ((long)band * Cols) + c0, n);
                if (RowQ != null)
                {
                    // This row's tile c0 / 128, as ActivationRows quantizes it.
                    var rowScale = ScaleOf(MaxAbs(values, n), RowPowerOfTwo);
                    RowQScales[((long)r * Tiles(Cols)) + (c0 / Block)] = rowScale;
                    DTypeConvert.EncodeE4M3(new ReadOnlySpan<float>(values, n), rowScale, saturate: false, new Span<byte>(RowQ + ((long)r * Cols) + c0, n));
                }
            }
            foreach (ref var s in scales) { s = ScaleOf(s, PowerOfTwo); }
            for (var r = r0; r < r1; r++)
            {
                var at = ((long)r * Cols) + c0;
                DTypeConvert.EncodeE4M3(new ReadOnlySpan<float>(Values(r, c0, n, decoded), n), scales, new Span<byte>(Q + at, n));
            }
        }

        // Row r's values in columns [c0, c0 + n): X's own, or the row tile's codes decoded into buffer.
        private readonly float* Values(int r, int c0, int n, float* buffer)
        {
            var at = ((long)r * Cols) + c0;
            if (SourceCodes == null) { return X + at; }
            DTypeConvert.DecodeE4M3(new ReadOnlySpan<byte>(SourceCodes + at, n), SourceScales[((long)r * Tiles(Cols)) + (c0 / Block)], new Span<float>(buffer, n));
            return buffer;
        }
    }

    // amax[c] = max(amax[c], |x[c]|) for c < n.
    private static void MaxAbsInto(float* x, float* amax, int n)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256.Max(Vector256.Load(amax + i), Vector256.Abs(Vector256.Load(x + i))).Store(amax + i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - Vector128<float>.Count; i += Vector128<float>.Count)
            {
                Vector128.Max(Vector128.Load(amax + i), Vector128.Abs(Vector128.Load(x + i))).Store(amax + i);
            }
        }
        for (; i < n; i++) { amax[i] = MathF.Max(amax[i], MathF.Abs(x[i])); }
    }

    // One row of 128x128 blocks (index = blockRow): the max-abs of every block over its real elements, then the codes. Both
    // passes walk whole rows in memory order; a block at a time would stride by a row, and row strides that are multiples
    // of 4 KiB (7168 floats) make the 128 rows of a block collide in the same few L1 sets.
    private struct WeightBlocks : IWorkItem
    {
        public float* W;
        public byte* Q;
        public float* ScaleInv;
        public int Rows;
        public int Cols;
        public int BlockCols;

        public readonly void Execute(int index, int worker)
        {
            var r0 = index * Block;
            var r1 = Math.Min(Rows, r0 + Block);
            var scales = ScaleInv + ((long)index * BlockCols);
            for (var bj = 0; bj < BlockCols; bj++) { scales[bj] = 0f; }
            for (var r = r0; r < r1; r++)
            {
                var row = W + ((long)r * Cols);
                for (var bj = 0; bj < BlockCols; bj++)
                {
                    var c0 = bj * Block;
                    scales[bj] = MathF.Max(scales[bj], MaxAbs(row + c0, Math.Min(Cols - c0, Block)));
                }
            }
            for (var bj = 0; bj < BlockCols; bj++) { scales[bj] = ScaleOf(scales[bj], powerOfTwo: false); }
            for (var r = r0; r < r1; r++)
            {
                var at = (long)r * Cols;
                for (var bj = 0; bj < BlockCols; bj++)
                {
                    var c0 = bj * Block;
                    var n = Math.Min(Cols - c0, Block);
                    DTypeConvert.EncodeE4M3(new ReadOnlySpan<float>(W + at + c0, n), scales[bj], saturate: false, new Span<byte>(Q + at + c0, n));
                }
            }
        }
    }

    // One row of x = q * scale, where the scale row is row / ScaleRowStride (1 for activations, 128 for weight blocks).
    private struct DequantRows : IRowBody
    {
        public byte* Q;
        public float* Scales;
        public float* X;
        public int Cols;
        public int ScaleRowStride;

        public readonly void Row(int index)
        {
            var tiles = Tiles(Cols);
            var scales = Scales + ((long)(index / ScaleRowStride) * tiles);
            var row = (long)index * Cols;
            for (var t = 0; t < tiles; t++)
            {
                var c0 = t * Block;
                var n = Math.Min(Cols - c0, Block);
                DTypeConvert.DecodeE4M3(new ReadOnlySpan<byte>(Q + row + c0, n), scales[t], new Span<float>(X + row + c0, n));
            }
        }
    }

    private static void CheckShape(int rows, int cols)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
    }

    private static void CheckLength(string name, int actual, long expected)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{name} has {actual} elements, expected {expected}", name);
        }
    }
}

/// <summary>A tensor that FP8 quantization met holds NaN or ±∞.</summary>
public sealed class NonFiniteTensorException(string message) : ArithmeticException(message);
