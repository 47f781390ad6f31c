// MatmulPacking.cs: packs op(A) into MR-row panels and op(B) into NR-column panels for the microkernel, handling the
// transposes and widening BF16 / dequantizing block-scaled FP8 weights on the way, and decoding FP8 training operands
// (1×128 row tiles, 128×1 column tiles) the same way. Not here: the blocking loops
// (MatmulDriver.cs). Tested by MatmulTests and Fp8GemmTests (the FP8 training operands).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpSeek.Tensors.Kernels;

/// <summary>A source of op(B) (k rows, n columns) that can write one zero-padded KC×NR panel.</summary>
internal unsafe interface IPanelSource<T> where T : unmanaged
{
    /// <summary>dst[kk*NR + j] = op(B)[pc + kk, j0 + j] for kk &lt; kc, j &lt; nr; zero for nr ≤ j &lt; NR.</summary>
    void Pack(int pc, int kc, int j0, int nr, T* dst);
}

/// <summary>A source of op(A) (m rows, k columns) that can write one zero-padded MR×kc panel.</summary>
internal unsafe interface IRowPanelSource<T> where T : unmanaged
{
    /// <summary>dst[kk*MR + i] = op(A)[i0 + i, pc + kk] for i &lt; mr, kk &lt; kc; zero for mr ≤ i &lt; MR.</summary>
    void Pack(int i0, int mr, int pc, int kc, T* dst);
}

/// <summary>Dense row-major A: (m, k), or (k, m) when transposed.</summary>
internal readonly unsafe struct DenseRows<T>(T* a, int m, int k, bool transpose) : IRowPanelSource<T> where T : unmanaged
{
    private readonly T* _a = a;
    private readonly int _m = m;
    private readonly int _k = k;
    private readonly bool _transpose = transpose;

    public void Pack(int i0, int mr, int pc, int kc, T* dst) => MatmulPacking.PackA(_a, _m, _k, _transpose, i0, mr, pc, kc, dst);
}

/// <summary>
/// E4M3 activations as FP8 training quantizes them (Fp8Quant): codes q (m, k) with a scale per row per 1×128 tile,
/// scales (m, ceil(k/128)); op(A)[i, kk] = decode(q[i, kk]) · scales[i, kk/128], decoded while packed.
/// </summary>
internal readonly unsafe struct Fp8RowTiles(byte* q, float* scales, int k) : IRowPanelSource<float>
{
    private readonly byte* _q = q;
    private readonly float* _scales = scales;
    private readonly int _k = k;
    private readonly int _tiles = (k + Fp8Source.Block - 1) / Fp8Source.Block;

    public void Pack(int i0, int mr, int pc, int kc, float* dst)
    {
        const int Mr = MatmulMicrokernel.MR;
        var done = 0;
        if (mr == Mr && Transpose8.IsSupported)
        {
            // 6 decoded rows + 2 zero rows transposed, as PackA does; an aligned 8-run of k stays in one 128-wide tile
            // (pc is a multiple of KC).
            var src = _q + (long)i0 * _k + pc;
            var scales = _scales + (long)i0 * _tiles;
            var zero = Vector256<float>.Zero;
            for (; done + 8 < kc; done += 8)
            {
                var p = src + done;
                var t = (pc + done) / Fp8Source.Block;
                Transpose8.Store(Fp8Source.Decode(p, Vector256.Create(scales[t])), Fp8Source.Decode(p + _k, Vector256.Create(scales[_tiles + t])),
                    Fp8Source.Decode(p + 2 * _k, Vector256.Create(scales[2 * _tiles + t])), Fp8Source.Decode(p + 3 * _k, Vector256.Create(scales[3 * _tiles + t])),
                    Fp8Source.Decode(p + 4 * _k, Vector256.Create(scales[4 * _tiles + t])), Fp8Source.Decode(p + 5 * _k, Vector256.Create(scales[5 * _tiles + t])),
                    zero, zero, dst + done * Mr, Mr);
            }
        }
        if (mr < Mr) { new Span<float>(dst, kc * Mr).Clear(); }
        var table = Float8E4M3.DecodeTable;
        for (var i = 0; i < mr; i++)
        {
            var row = _q + (long)(i0 + i) * _k;
            var scales = _scales + (long)(i0 + i) * _tiles;
            for (var kk = done; kk < kc; kk++) { dst[kk * Mr + i] = table[row[pc + kk]] * scales[(pc + kk) / Fp8Source.Block]; }
        }
    }
}

/// <summary>
/// op(A) = Qᵀ for E4M3 codes q (k, m) quantized in 128×1 tiles down the columns (Fp8Quant.QuantizeColumns), scales
/// (ceil(k/128), m): op(A)[i, kk] = decode(q[kk, i]) · scales[kk/128, i]; Wgrad's dYᵀ, read in place.
/// </summary>
internal readonly unsafe struct Fp8ColumnTilesTransposed(byte* q, float* scales, int m) : IRowPanelSource<float>
{
    private readonly byte* _q = q;
    private readonly float* _scales = scales;
    private readonly int _m = m;

    public void Pack(int i0, int mr, int pc, int kc, float* dst)
    {
        for (var kk = 0; kk < kc; kk++)
        {
            var row = pc + kk;
            MatmulPacking.DecodeRun(_q + (long)row * _m + i0, _scales + (long)(row / Fp8Source.Block) * _m + i0, mr, dst + kk * MatmulMicrokernel.MR, MatmulMicrokernel.MR);
        }
    }
}

/// <summary>
/// op(B) = Q for E4M3 codes q (k, n) quantized in 128×1 tiles down the columns, scales (ceil(k/128), n):
/// op(B)[kk, j] = decode(q[kk, j]) · scales[kk/128, j]; Wgrad's X, read in place.
/// </summary>
internal readonly unsafe struct Fp8ColumnTiles(byte* q, float* scales, int n) : IPanelSource<float>
{
    private readonly byte* _q = q;
    private readonly float* _scales = scales;
    private readonly int _n = n;

    public void Pack(int pc, int kc, int j0, int nr, float* dst)
    {
        const int Width = 16;
        for (var kk = 0; kk < kc; kk++)
        {
            var row = pc + kk;
            var src = _q + (long)row * _n + j0;
            var scales = _scales + (long)(row / Fp8Source.Block) * _n + j0;
            var d = dst + kk * Width;
            if (nr == Width && Avx2.IsSupported)
            {
                Fp8Source.Decode(src, Vector256.Load(scales)).Store(d);
                Fp8Source.Decode(src + 8, Vector256.Load(scales + 8)).Store(d + 8);
                continue;
            }
            MatmulPacking.DecodeRun(src, scales, nr, d, Width);
        }
    }
}

/// <summary>Dense row-major B: (k, n), or (n, k) when transposed.</summary>
internal readonly unsafe struct DenseSource<T>(T* b, int n, int k, bool transpose) : IPanelSource<T> where T : unmanaged
{
    private readonly T* _b = b;
    private readonly int _n = n;
    private readonly int _k = k;
    private readonly bool _transpose = transpose;

    public void Pack(int pc, int kc, int j0, int nr, T* dst)
    {
        var width = MatmulMicrokernel.NR<T>();
        if (_transpose)
        {
            // op(B)[kk, j] = b[j, kk]: each source row is one destination column.
            var done = 0;
            if (typeof(T) == typeof(float) && nr == width && Transpose8.IsSupported)
            {
                done = kc & ~7;
                for (var h = 0; h < 2; h++)
                {
                    var src = (float*)_b + (long)(j0 + 8 * h) * _k + pc;
                    for (var kk = 0; kk < done; kk += 8)
                    {
                        Transpose8.Store(
                            Transpose8.Rows(src + kk, _k, out var r1, out var r2, out var r3, out var r4, out var r5, out var r6, out var r7),
                            r1, r2, r3, r4, r5, r6, r7, (float*)dst + kk * width + 8 * h, width);
                    }
                }
            }
            if (nr < width) { new Span<T>(dst, kc * width).Clear(); }
            for (var j = 0; j < nr; j++)
            {
                var src = _b + (long)(j0 + j) * _k + pc;
                var d = dst + j;
                for (var kk = done; kk < kc; kk++) { d[kk * width] = src[kk]; }
            }
            return;
        }
        for (var kk = 0; kk < kc; kk++)
        {
            var src = _b + (long)(pc + kk) * _n + j0;
            var d = dst + kk * width;
            if (nr == width)
            {
                Vector256.Load(src).Store(d);
                Vector256.Load(src + Vector256<T>.Count).Store(d + Vector256<T>.Count);
            }
            else
            {
                for (var j = 0; j < nr; j++) { d[j] = src[j]; }
                for (var j = nr; j < width; j++) { d[j] = default; }
            }
        }
    }
}

/// <summary>BF16 weights w: (n, k) in the Linear layout, op(B) = wᵀ, widened exactly to f32.</summary>
internal readonly unsafe struct Bf16Source(ushort* w, int k) : IPanelSource<float>
{
    private readonly ushort* _w = w;
    private readonly int _k = k;

    /// <summary>Eight BF16 values widened exactly: the 16 bits become the top half of each f32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Widen(ushort* p) => Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(p), 16).AsSingle();

    public void Pack(int pc, int kc, int j0, int nr, float* dst)
    {
        const int Width = 16;
        var done = 0;
        if (nr == Width && Transpose8.IsSupported)
        {
            done = kc & ~7;
            for (var h = 0; h < 2; h++)
            {
                var src = _w + (long)(j0 + 8 * h) * _k + pc;
                for (var kk = 0; kk < done; kk += 8)
                {
                    var p = src + kk;
                    Transpose8.Store(Widen(p), Widen(p + _k), Widen(p + 2 * _k), Widen(p + 3 * _k), Widen(p + 4 * _k),
                        Widen(p + 5 * _k), Widen(p + 6 * _k), Widen(p + 7 * _k), dst + kk * Width + 8 * h, Width);
                }
            }
        }
        if (nr < Width) { new Span<float>(dst, kc * Width).Clear(); }
        for (var j = 0; j < nr; j++)
        {
            var src = _w + (long)(j0 + j) * _k + pc;
            var d = (uint*)dst + j;
            for (var kk = done; kk < kc; kk++) { d[kk * Width] = (uint)src[kk] << 16; }
        }
    }
}

/// <summary>
/// E4M3 weights w: (n, k) with scaleInv: (ceil(n/128), ceil(k/128)); op(B)[kk, j] = decode(w[j, kk]) · scaleInv[j/128, kk/128].
/// </summary>
internal readonly unsafe struct Fp8Source(byte* w, float* scaleInv, float* table, int k) : IPanelSource<float>
{
    public const int Block = 128;

    private readonly byte* _w = w;
    private readonly float* _scaleInv = scaleInv;
    private readonly float* _table = table;
    private readonly int _k = k;
    private readonly int _kBlocks = (k + Block - 1) / Block;

    /// <summary>
    /// Eight E4M3 codes times <paramref name="scale"/>, decoded without the table and without touching f32 subnormals:
    /// a normal code (E ≥ 1) placed as f32 bits S.0000EEEE.MMM0… plus 120 in the exponent is 2^(E-7)·(1.M) exactly; a
    /// subnormal code is M·2^-9; S.1111.111 is NaN, as in the table.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Decode(byte* p, Vector256<float> scale)
    {
        var code = Avx2.ConvertToVector256Int32(p);
        var magnitude = code & Vector256.Create(0x7F);
        var normal = ((magnitude << 20) + Vector256.Create(120 << 23)).AsSingle();
        var subnormal = Vector256.ConvertToSingle(magnitude) * Vector256.Create(1f / 512);
        var value = Vector256.ConditionalSelect(Vector256.LessThan(magnitude, Vector256.Create(8)).AsSingle(), subnormal, normal);
        value = (value.AsInt32() | ((code & Vector256.Create(0x80)) << 24)).AsSingle() * scale;
        var nan = Vector256.Equals(magnitude, Vector256.Create(0x7F)).AsSingle();
        return Vector256.ConditionalSelect(nan, Vector256.Create(float.NaN), value);
    }

    /// <summary><see cref="Decode"/> for 16 codes, op for op (so each lane is bitwise the same), for the AVX-512 GEMV rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Decode16(byte* p, Vector512<float> scale)
    {
        var code = Avx512F.ConvertToVector512Int32(Vector128.Load(p));
        var magnitude = code & Vector512.Create(0x7F);
        var normal = ((magnitude << 20) + Vector512.Create(120 << 23)).AsSingle();
        var subnormal = Vector512.ConvertToSingle(magnitude) * Vector512.Create(1f / 512);
        var value = Vector512.ConditionalSelect(Vector512.LessThan(magnitude, Vector512.Create(8)).AsSingle(), subnormal, normal);
        value = (value.AsInt32() | ((code & Vector512.Create(0x80)) << 24)).AsSingle() * scale;
        var nan = Vector512.Equals(magnitude, Vector512.Create(0x7F)).AsSingle();
        return Vector512.ConditionalSelect(nan, Vector512.Create(float.NaN), value);
    }

    public void Pack(int pc, int kc, int j0, int nr, float* dst)
    {
        const int Width = 16;
        var done = 0;
        if (nr == Width && Transpose8.IsSupported && j0 % Block + Width <= Block)
        {
            // All 16 rows share one scale row; an aligned 8-run of k never crosses a 128 boundary (pc is a multiple of KC).
            done = kc & ~7;
            var scales = _scaleInv + (long)(j0 / Block) * _kBlocks;
            for (var h = 0; h < 2; h++)
            {
                var src = _w + (long)(j0 + 8 * h) * _k + pc;
                for (var kk = 0; kk < done; kk += 8)
                {
                    var p = src + kk;
                    var s = Vector256.Create(scales[(pc + kk) / Block]);
                    Transpose8.Store(Decode(p, s), Decode(p + _k, s), Decode(p + 2 * _k, s), Decode(p + 3 * _k, s), Decode(p + 4 * _k, s),
                        Decode(p + 5 * _k, s), Decode(p + 6 * _k, s), Decode(p + 7 * _k, s), dst + kk * Width + 8 * h, Width);
                }
            }
        }
        if (nr < Width) { new Span<float>(dst, kc * Width).Clear(); }
        for (var j = 0; j < nr; j++)
        {
            var row = j0 + j;
            var src = _w + (long)row * _k;
            var scales = _scaleInv + (long)(row / Block) * _kBlocks;
            var d = dst + j;
            // Walk kk in runs that share one 128-wide scale block.
            var kk = done;
            while (kk < kc)
            {
                var col = pc + kk;
                var end = Math.Min(kc, (col / Block + 1) * Block - pc);
                var s = scales[col / Block];
                for (; kk < end; kk++) { d[kk * Width] = _table[src[pc + kk]] * s; }
            }
        }
    }
}

internal static unsafe class MatmulPacking
{
    /// <summary>dst[i] = decode(codes[i]) · scales[i] for i &lt; count (DTypeConvert's E4M3 decoder), zero for
    /// count ≤ i &lt; width: one zero-padded run of a panel of codes in 128×1 tiles.</summary>
    public static void DecodeRun(byte* codes, float* scales, int count, float* dst, int width)
    {
        DTypeConvert.DecodeE4M3(new ReadOnlySpan<byte>(codes, count), new ReadOnlySpan<float>(scales, count), new Span<float>(dst, count));
        new Span<float>(dst + count, width - count).Clear();
    }

    /// <summary>dst[kk*MR + i] = op(A)[i0 + i, pc + kk] for i &lt; mr, zero for mr ≤ i &lt; MR; A is (m, k), or (k, m) when transposed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA<T>(T* a, int m, int k, bool transpose, int i0, int mr, int pc, int kc, T* dst) where T : unmanaged
    {
        const int Mr = MatmulMicrokernel.MR;
        if (transpose)
        {
            // op(A)[i, kk] = a[kk, i]: MR consecutive source elements per kk.
            for (var kk = 0; kk < kc; kk++)
            {
                var src = a + (long)(pc + kk) * m + i0;
                var d = dst + kk * Mr;
                for (var i = 0; i < mr; i++) { d[i] = src[i]; }
                for (var i = mr; i < Mr; i++) { d[i] = default; }
            }
            return;
        }
        var done = 0;
        if (typeof(T) == typeof(float) && mr == Mr && Transpose8.IsSupported)
        {
            // 6 rows + 2 zero rows transposed; each 8-wide column store spills 2 floats into the next column's slot,
            // which the next store overwrites, so stop while at least one column is left for the scalar tail.
            var src = (float*)a + (long)i0 * k + pc;
            var zero = Vector256<float>.Zero;
            for (; done + 8 < kc; done += 8)
            {
                var p = src + done;
                Transpose8.Store(Avx.LoadVector256(p), Avx.LoadVector256(p + k), Avx.LoadVector256(p + 2 * k),
                    Avx.LoadVector256(p + 3 * k), Avx.LoadVector256(p + 4 * k), Avx.LoadVector256(p + 5 * k), zero, zero,
                    (float*)dst + done * Mr, Mr);
            }
        }
        if (mr < Mr) { new Span<T>(dst, kc * Mr).Clear(); }
        for (var i = 0; i < mr; i++)
        {
            var src = a + (long)(i0 + i) * k + pc;
            var d = dst + i;
            for (var kk = done; kk < kc; kk++) { d[kk * Mr] = src[kk]; }
        }
    }
}

/// <summary>8×8 f32 transposes with AVX shuffles, for packing row-major sources into column panels.</summary>
internal static unsafe class Transpose8
{
    public static bool IsSupported => Avx2.IsSupported;

    /// <summary>Loads eight rows of eight floats, <paramref name="stride"/> elements apart (r0 returned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Rows(float* p, nint stride, out Vector256<float> r1, out Vector256<float> r2,
        out Vector256<float> r3, out Vector256<float> r4, out Vector256<float> r5, out Vector256<float> r6, out Vector256<float> r7)
    {
        r1 = Avx.LoadVector256(p + stride);
        r2 = Avx.LoadVector256(p + 2 * stride);
        r3 = Avx.LoadVector256(p + 3 * stride);
        r4 = Avx.LoadVector256(p + 4 * stride);
        r5 = Avx.LoadVector256(p + 5 * stride);
        r6 = Avx.LoadVector256(p + 6 * stride);
        r7 = Avx.LoadVector256(p + 7 * stride);
        return Avx.LoadVector256(p);
    }

    /// <summary>Writes column c of the 8×8 block (r0..r7) as eight floats at dst + c·stride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, float* dst, nint stride)
    {
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + stride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * stride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * stride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * stride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * stride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * stride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * stride, Avx.Permute2x128(u3, u7, 0x31));
    }
}
