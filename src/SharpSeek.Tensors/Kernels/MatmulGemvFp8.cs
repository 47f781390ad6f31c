// MatmulGemvFp8.cs: the FP8 rows of the GEMV path with a three-instruction exact decode. A sign-extended E4M3 code
// shifted left 20 and masked with 0x87F00000 puts S at f32 bit 31 and EEEE.MMM at bits 26..20, which as an f32 is
// exactly e4m3 · 2^-120 for every normal and subnormal code (subnormal codes become f32 subnormals). One multiply by the
// block's scaleInv · 2^120 (exact while finite) then gives round(e4m3 · scaleInv), the same single rounding as
// Fp8Source.Decode followed by its multiply, and the FMAs run in RowPair's order, so every result is bitwise RowPair's.
// Rows with a NaN code (S.1111.111, which this decode would read as 480 · 2^-120) or a scale whose lift overflows
// return false and take RowPair. The four rows' codes are asked for ahead as RowPair asks (MatmulGemv.AheadRows). Not here: the thread split and the other formats (MatmulGemv.cs). Tested by
// MatmulGemvTests.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpSeek.Tensors.Kernels;

internal static unsafe class MatmulGemvFp8
{
    /// <summary>Rows of W per call: four independent FMA chains per x row hide the FMA latency at m = 1.</summary>
    public const int GroupRows = 4;

    private const int Block = Fp8Source.Block;

    /// <summary>2^120 (e4m3 · 2^-120 times scale · 2^120 is e4m3 · scale), a constant to the JIT: a static readonly
    /// field would cost the fully optimized kernels a class-initialization check, and the spills around it.</summary>
    private static float Lift => BitConverter.Int32BitsToSingle((127 + 120) << 23);

    public static bool IsSupported => Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Eight codes as e4m3 · 2^-120 (exact; NaN codes read as ±480 · 2^-120), times <paramref name="lifted"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Decode(byte* p, Vector256<float> lifted)
        => (Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32((sbyte*)p), 20) & Vector256.Create(unchecked((int)0x87F00000))).AsSingle() * lifted;

    /// <summary><see cref="Decode"/> for 16 codes (the AVX-512 rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Decode16(byte* p, Vector512<float> lifted)
        => (Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Vector128.Load((sbyte*)p)), 20) & Vector512.Create(unchecked((int)0x87F00000))).AsSingle() * lifted;

    /// <summary>
    /// Whether rows j0 .. j0 + 3 (one 128-row block: groups start at multiples of 4) can take the lifted decode: every
    /// scale of their block row times 2^120 finite (then the lift is exact: a subnormal scale becomes normal, a normal
    /// one only moves its exponent) and no NaN code in the rows, unless the caller vouched for that.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Liftable(in Fp8Weights w, int j0, int j1, int j2, int j3, int k)
    {
        var scales = w.ScaleInv + (long)(j0 / Block) * w.KBlocks;
        var finite = true;
        for (var b = 0; b < w.KBlocks; b++) { finite &= float.IsFinite(scales[b] * Lift); }
        return finite && (w.NoNaN || (!HasNaN(w.Codes + (long)j0 * k, k) && !HasNaN(w.Codes + (long)j1 * k, k)
            && !HasNaN(w.Codes + (long)j2 * k, k) && !HasNaN(w.Codes + (long)j3 * k, k)));
    }

    /// <summary>Whether the k codes at <paramref name="row"/> hold a NaN (S.1111.111).</summary>
    private static bool HasNaN(byte* row, int k)
    {
        if (k < 32)
        {
            var nan = false;
            for (var p = 0; p < k; p++) { nan |= (row[p] & 0x7F) == 0x7F; }
            return nan;
        }
        // max over (code | 0x80) is 0xFF exactly when some code is S.1111.111; the last load overlaps the one before.
        var top = Vector256.Create((byte)0x80);
        var max = Vector256<byte>.Zero;
        for (var p = 0; p < k - 32; p += 32) { max = Vector256.Max(max, Vector256.Load(row + p) | top); }
        max = Vector256.Max(max, Vector256.Load(row + k - 32) | top);
        return Vector256.EqualsAny(max, Vector256.Create((byte)0xFF));
    }

    /// <summary>
    /// Rows j0 .. j0 + 3 of W (clamped to n - 1; only rows below n are stored) against the m = TM.Value rows of x, in
    /// RowPair's order per row. Returns false, having stored nothing, when a row is not <see cref="Liftable"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryRows<TM>(float* x, in Fp8Weights w, float* y, int n, int k, int j0, bool accumulate)
        where TM : struct, MatmulGemv.IRowCount
    {
        var j1 = Math.Min(j0 + 1, n - 1);
        var j2 = Math.Min(j0 + 2, n - 1);
        var j3 = Math.Min(j0 + 3, n - 1);
        if (!Liftable(w, j0, j1, j2, j3, k)) { return false; }
        var m = TM.Value;
        var x0 = x;
        var x1 = x + (long)Math.Min(1, m - 1) * k;
        var x2 = x + (long)Math.Min(2, m - 1) * k;
        var x3 = x + (long)Math.Min(3, m - 1) * k;
        var w0 = w.Codes + (long)j0 * k;
        var w1 = w.Codes + (long)j1 * k;
        var w2 = w.Codes + (long)j2 * k;
        var w3 = w.Codes + (long)j3 * k;
        var ahead = MatmulGemv.AheadRows<Fp8Weights>(k) * (long)k;                           // the prefetch distance (MatmulGemv)
        if (MatmulGemv.Wide)
        {
            Wide<TM>(x0, x1, x2, x3, w, y, n, k, j0, j1, j2, j3, w0, w1, w2, w3, ahead, accumulate);
            return true;
        }
        var tail = k & ~7;
        // a{r}{i}: W row j_r against x row i.
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector256<float> a30 = default, a31 = default, a32 = default, a33 = default;
        for (var p0 = 0; p0 < tail; p0 += Block)
        {
            var c = Vector256.Create(w.Scale(j0, p0) * Lift);                                   // the four rows' block is one
            var pEnd = Math.Min(tail, p0 + Block);
            for (var p = p0; p < pEnd; p += 8)
            {
                if ((p & 63) == 0)
                {
                    MatmulGemv.PrefetchLine(w0 + ahead + p);
                    MatmulGemv.PrefetchLine(w1 + ahead + p);
                    MatmulGemv.PrefetchLine(w2 + ahead + p);
                    MatmulGemv.PrefetchLine(w3 + ahead + p);
                }
                var v0 = Decode(w0 + p, c);
                var v1 = Decode(w1 + p, c);
                var v2 = Decode(w2 + p, c);
                var v3 = Decode(w3 + p, c);
                var u = Vector256.Load(x0 + p);
                a00 = Vector256.FusedMultiplyAdd(v0, u, a00);
                a10 = Vector256.FusedMultiplyAdd(v1, u, a10);
                a20 = Vector256.FusedMultiplyAdd(v2, u, a20);
                a30 = Vector256.FusedMultiplyAdd(v3, u, a30);
                if (TM.Value > 1)
                {
                    u = Vector256.Load(x1 + p);
                    a01 = Vector256.FusedMultiplyAdd(v0, u, a01);
                    a11 = Vector256.FusedMultiplyAdd(v1, u, a11);
                    a21 = Vector256.FusedMultiplyAdd(v2, u, a21);
                    a31 = Vector256.FusedMultiplyAdd(v3, u, a31);
                }
                if (TM.Value > 2)
                {
                    u = Vector256.Load(x2 + p);
                    a02 = Vector256.FusedMultiplyAdd(v0, u, a02);
                    a12 = Vector256.FusedMultiplyAdd(v1, u, a12);
                    a22 = Vector256.FusedMultiplyAdd(v2, u, a22);
                    a32 = Vector256.FusedMultiplyAdd(v3, u, a32);
                }
                if (TM.Value > 3)
                {
                    u = Vector256.Load(x3 + p);
                    a03 = Vector256.FusedMultiplyAdd(v0, u, a03);
                    a13 = Vector256.FusedMultiplyAdd(v1, u, a13);
                    a23 = Vector256.FusedMultiplyAdd(v2, u, a23);
                    a33 = Vector256.FusedMultiplyAdd(v3, u, a33);
                }
            }
        }
        MatmulGemv.Finish(x0, x1, x2, x3, w, y, n, k, m, tail, j0, j1, Vector256.Sum(a00), Vector256.Sum(a01), Vector256.Sum(a02), Vector256.Sum(a03),
            Vector256.Sum(a10), Vector256.Sum(a11), Vector256.Sum(a12), Vector256.Sum(a13), accumulate);
        if (j0 + 2 < n)
        {
            MatmulGemv.Finish(x0, x1, x2, x3, w, y, n, k, m, tail, j2, j3, Vector256.Sum(a20), Vector256.Sum(a21), Vector256.Sum(a22), Vector256.Sum(a23),
                Vector256.Sum(a30), Vector256.Sum(a31), Vector256.Sum(a32), Vector256.Sum(a33), accumulate);
        }
        return true;
    }

    /// <summary>TryRows's body 16 lanes wide, in RowPair's wide order (AVX-512: 32 registers hold all 16 accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Wide<TM>(float* x0, float* x1, float* x2, float* x3, in Fp8Weights w, float* y, int n, int k, int j0, int j1,
        int j2, int j3, byte* w0, byte* w1, byte* w2, byte* w3, long ahead, bool accumulate)
        where TM : struct, MatmulGemv.IRowCount
    {
        var tail = k & ~15;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        for (var p0 = 0; p0 < tail; p0 += Block)
        {
            var c = Vector512.Create(w.Scale(j0, p0) * Lift);                                   // the four rows' block is one
            var pEnd = Math.Min(tail, p0 + Block);
            for (var p = p0; p < pEnd; p += 16)
            {
                if ((p & 63) == 0)
                {
                    MatmulGemv.PrefetchLine(w0 + ahead + p);
                    MatmulGemv.PrefetchLine(w1 + ahead + p);
                    MatmulGemv.PrefetchLine(w2 + ahead + p);
                    MatmulGemv.PrefetchLine(w3 + ahead + p);
                }
                var v0 = Decode16(w0 + p, c);
                var v1 = Decode16(w1 + p, c);
                var v2 = Decode16(w2 + p, c);
                var v3 = Decode16(w3 + p, c);
                var u = Vector512.Load(x0 + p);
                a00 = Vector512.FusedMultiplyAdd(v0, u, a00);
                a10 = Vector512.FusedMultiplyAdd(v1, u, a10);
                a20 = Vector512.FusedMultiplyAdd(v2, u, a20);
                a30 = Vector512.FusedMultiplyAdd(v3, u, a30);
                if (TM.Value > 1)
                {
                    u = Vector512.Load(x1 + p);
                    a01 = Vector512.FusedMultiplyAdd(v0, u, a01);
                    a11 = Vector512.FusedMultiplyAdd(v1, u, a11);
                    a21 = Vector512.FusedMultiplyAdd(v2, u, a21);
                    a31 = Vector512.FusedMultiplyAdd(v3, u, a31);
                }
                if (TM.Value > 2)
                {
                    u = Vector512.Load(x2 + p);
                    a02 = Vector512.FusedMultiplyAdd(v0, u, a02);
                    a12 = Vector512.FusedMultiplyAdd(v1, u, a12);
                    a22 = Vector512.FusedMultiplyAdd(v2, u, a22);
                    a32 = Vector512.FusedMultiplyAdd(v3, u, a32);
                }
                if (TM.Value > 3)
                {
                    u = Vector512.Load(x3 + p);
                    a03 = Vector512.FusedMultiplyAdd(v0, u, a03);
                    a13 = Vector512.FusedMultiplyAdd(v1, u, a13);
                    a23 = Vector512.FusedMultiplyAdd(v2, u, a23);
                    a33 = Vector512.FusedMultiplyAdd(v3, u, a33);
                }
            }
        }
        var m = TM.Value;
        // Only the sums of x rows that exist (TM.Value is a constant: the others fold away).
        static float S(Vector512<float> a, int i) => i < TM.Value ? MatmulGemv.Sum16(a) : 0f;
        MatmulGemv.Finish(x0, x1, x2, x3, w, y, n, k, m, tail, j0, j1, S(a00, 0), S(a01, 1), S(a02, 2), S(a03, 3), S(a10, 0), S(a11, 1), S(a12, 2), S(a13, 3), accumulate);
        if (j0 + 2 < n)
        {
            MatmulGemv.Finish(x0, x1, x2, x3, w, y, n, k, m, tail, j2, j3, S(a20, 0), S(a21, 1), S(a22, 2), S(a23, 3), S(a30, 0), S(a31, 1), S(a32, 2), S(a33, 3), accumulate);
        }
    }
}
