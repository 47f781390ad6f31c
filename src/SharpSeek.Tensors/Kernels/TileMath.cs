// TileMath.cs: register-blocked tile products, softmax row passes and a vectorized exp for the fused attention kernels.
// float takes Vector256 paths (FMA where the hardware has it); double and the no-SIMD fallback take the scalar loops.
// Not here: tiling and the online-softmax bookkeeping (Attention.cs). Tested by AttentionTests.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpSeek.Tensors.Kernels;

internal static unsafe class TileMath
{
    /// <summary>
    /// C (m×n, row stride ldc) = A·B, or C += A·B when <paramref name="accumulate"/>, where A[i, p] = a[i·aRow + p·aK]
    /// and B[p, j] = b[p·ldb + j]. A's strides let one kernel read A or Aᵀ; B must be contiguous along j.
    /// </summary>
    public static void Gemm<T>(T* a, nint aRow, nint aK, T* b, nint ldb, int m, int n, int k, bool accumulate, T* c, nint ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var done = 0;
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            done = GemmVector256((float*)a, aRow, aK, (float*)b, ldb, m, n, k, accumulate, (float*)c, ldc);
        }
        // The 8-wide blocks also take what the 16-wide ones leave (small heads: d_v = 8, d_qk = 12), before the scalar tail.
        if (typeof(T) == typeof(float) && Vector128.IsHardwareAccelerated && n - done >= 8)
        {
            done += GemmVector128((float*)a, aRow, aK, (float*)(b + done), ldb, m, n - done, k, accumulate, (float*)(c + done), ldc);
        }
        GemmScalar(a, aRow, aK, b + done, ldb, m, n - done, k, accumulate, c + done, ldc);
    }

    // Columns in blocks of 16 (outer, so a 16-wide slice of B stays in L1), rows in blocks of 4; returns the columns done.
    private static int GemmVector256(float* a, nint aRow, nint aK, float* b, nint ldb, int m, int n, int k, bool accumulate, float* c, nint ldc)
    {
        var n16 = n & ~15;
        var m4 = m & ~3;
        for (var j = 0; j < n16; j += 16)
        {
            var i = 0;
            for (; i < m4; i += 4)
            {
                Block4x16(a + i * aRow, aRow, aK, b + j, ldb, k, accumulate, c + i * ldc + j, ldc);
            }
            for (; i < m; i++)
            {
                Block1x16(a + i * aRow, aK, b + j, ldb, k, accumulate, c + i * ldc + j);
            }
        }
        return n16;
    }

    // 4 rows × 16 columns of accumulators (8 ymm): each step broadcasts 4 A values and loads 2 B vectors for 8 FMAs.
    private static void Block4x16(float* a, nint aRow, nint aK, float* b, nint ldb, int k, bool accumulate, float* c, nint ldc)
    {
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31;
        if (accumulate)
        {
            c00 = Vector256.Load(c); c01 = Vector256.Load(c + 8);
            c10 = Vector256.Load(c + ldc); c11 = Vector256.Load(c + ldc + 8);
            c20 = Vector256.Load(c + 2 * ldc); c21 = Vector256.Load(c + 2 * ldc + 8);
            c30 = Vector256.Load(c + 3 * ldc); c31 = Vector256.Load(c + 3 * ldc + 8);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector256<float>.Zero;
        }
        // one A pointer with row offsets in registers: the loop advances two pointers instead of five
        nint r1 = aRow, r2 = 2 * aRow, r3 = 3 * aRow;
        for (var p = 0; p < k; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]);
            c00 = Vector256.MultiplyAddEstimate(x, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(x, b1, c01);
            x = Vector256.Create(a[r1]);
            c10 = Vector256.MultiplyAddEstimate(x, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(x, b1, c11);
            x = Vector256.Create(a[r2]);
            c20 = Vector256.MultiplyAddEstimate(x, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(x, b1, c21);
            x = Vector256.Create(a[r3]);
            c30 = Vector256.MultiplyAddEstimate(x, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(x, b1, c31);
            a += aK;
            b += ldb;
        }
        c00.Store(c); c01.Store(c + 8);
        c10.Store(c + ldc); c11.Store(c + ldc + 8);
        c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 8);
        c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 8);
    }

    private static void Block1x16(float* a, nint aK, float* b, nint ldb, int k, bool accumulate, float* c)
    {
        var c0 = accumulate ? Vector256.Load(c) : Vector256<float>.Zero;
        var c1 = accumulate ? Vector256.Load(c + 8) : Vector256<float>.Zero;
        for (var p = 0; p < k; p++)
        {
            var x = Vector256.Create(*a);
            c0 = Vector256.MultiplyAddEstimate(x, Vector256.Load(b), c0);
            c1 = Vector256.MultiplyAddEstimate(x, Vector256.Load(b + 8), c1);
            a += aK;
            b += ldb;
        }
        c0.Store(c);
        c1.Store(c + 8);
    }

    // The 128-bit path (NEON, or x86 without AVX): rows in blocks of 4, columns in blocks of 8.
    private static int GemmVector128(float* a, nint aRow, nint aK, float* b, nint ldb, int m, int n, int k, bool accumulate, float* c, nint ldc)
    {
        var n8 = n & ~7;
        for (var j = 0; j < n8; j += 8)
        {
            for (var i = 0; i < m; i += 4)
            {
                var rows = Math.Min(4, m - i);
                Block4x8(a + (i * aRow), rows > 1 ? aRow : 0, rows > 2 ? 2 * aRow : 0, rows > 3 ? 3 * aRow : 0, aK, b + j, ldb, k, accumulate,
                    c + (i * ldc) + j, rows > 1 ? ldc : -1, rows > 2 ? 2 * ldc : -1, rows > 3 ? 3 * ldc : -1);
            }
        }
        return n8;
    }

    // Row offsets r1..r3 into A and c1..c3 into C (−1: that row is past the end and is computed but not stored).
    private static void Block4x8(float* a, nint r1, nint r2, nint r3, nint aK, float* b, nint ldb, int k, bool accumulate, float* c, nint c1, nint c2, nint c3)
    {
        Vector128<float> c00, c01, c10, c11, c20, c21, c30, c31;
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector128<float>.Zero;
        for (var p = 0; p < k; p++)
        {
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + 4);
            var x = Vector128.Create(a[0]);
            c00 = Vector128.MultiplyAddEstimate(x, b0, c00);
            c01 = Vector128.MultiplyAddEstimate(x, b1, c01);
            x = Vector128.Create(a[r1]);
            c10 = Vector128.MultiplyAddEstimate(x, b0, c10);
            c11 = Vector128.MultiplyAddEstimate(x, b1, c11);
            x = Vector128.Create(a[r2]);
            c20 = Vector128.MultiplyAddEstimate(x, b0, c20);
            c21 = Vector128.MultiplyAddEstimate(x, b1, c21);
            x = Vector128.Create(a[r3]);
            c30 = Vector128.MultiplyAddEstimate(x, b0, c30);
            c31 = Vector128.MultiplyAddEstimate(x, b1, c31);
            a += aK;
            b += ldb;
        }
        Store8(c, c00, c01, accumulate);
        if (c1 >= 0) { Store8(c + c1, c10, c11, accumulate); }
        if (c2 >= 0) { Store8(c + c2, c20, c21, accumulate); }
        if (c3 >= 0) { Store8(c + c3, c30, c31, accumulate); }
    }

    private static void Store8(float* c, Vector128<float> lo, Vector128<float> hi, bool accumulate)
    {
        if (accumulate)
        {
            lo += Vector128.Load(c);
            hi += Vector128.Load(c + 4);
        }
        lo.Store(c);
        hi.Store(c + 4);
    }

    private static void GemmScalar<T>(T* a, nint aRow, nint aK, T* b, nint ldb, int m, int n, int k, bool accumulate, T* c, nint ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var i = 0; i < m; i++)
        {
            var ai = a + i * aRow;
            var ci = c + i * ldc;
            for (var j = 0; j < n; j++)
            {
                var sum = accumulate ? ci[j] : T.Zero;
                var bj = b + j;
                for (var p = 0; p < k; p++)
                {
                    sum += ai[p * aK] * bj[p * ldb];
                }
                ci[j] = sum;
            }
        }
    }

    /// <summary>s[j] = scale·s[j] + mask[j] (mask may be null) for j &lt; n; returns max_j s[j] (−∞ when n = 0).</summary>
    public static T ScaleMaskMax<T>(T* s, T* mask, int n, T scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var j = 0;
        var max = T.NegativeInfinity;
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated && n >= 8)
        {
            var fs = (float*)s;
            var fm = (float*)mask;
            var vs = Vector256.Create(Unsafe.As<T, float>(ref scale));
            var vmax = Vector256.Create(float.NegativeInfinity);
            for (; j <= n - 8; j += 8)
            {
                var x = Vector256.Load(fs + j) * vs;
                if (fm != null) { x += Vector256.Load(fm + j); }
                x.Store(fs + j);
                vmax = Vector256.Max(vmax, x);
            }
            var m = HorizontalMax(vmax);
            max = Unsafe.As<float, T>(ref m);
        }
        for (; j < n; j++)
        {
            var x = s[j] * scale;
            if (mask != null) { x += mask[j]; }
            s[j] = x;
            max = T.Max(max, x);
        }
        return max;
    }

    /// <summary>s[j] = exp(s[j] − shift) for j &lt; n; returns Σ_j s[j].</summary>
    public static T ExpShiftSum<T>(T* s, int n, T shift) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var j = 0;
        var sum = T.Zero;
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated && n >= 8)
        {
            var fs = (float*)s;
            var vshift = Vector256.Create(Unsafe.As<T, float>(ref shift));
            var vsum = Vector256<float>.Zero;
            for (; j <= n - 8; j += 8)
            {
                var e = Exp(Vector256.Load(fs + j) - vshift);
                e.Store(fs + j);
                vsum += e;
            }
            var total = Vector256.Sum(vsum);
            sum = Unsafe.As<float, T>(ref total);
        }
        for (; j < n; j++)
        {
            var e = T.Exp(s[j] - shift);
            s[j] = e;
            sum += e;
        }
        return sum;
    }

    /// <summary>
    /// Backward row pass. forward: p = exp(scale·s + mask − lse) ⇒ ds = p·(dp − d)·scale.
    /// Writes p into <paramref name="s"/> and ds into <paramref name="dp"/> for j &lt; n.
    /// </summary>
    public static void SoftmaxGradRow<T>(T* s, T* mask, int n, T scale, T lse, T d, T* dp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var j = 0;
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated && n >= 8)
        {
            var fs = (float*)s;
            var fm = (float*)mask;
            var fdp = (float*)dp;
            var vscale = Vector256.Create(Unsafe.As<T, float>(ref scale));
            var vlse = Vector256.Create(Unsafe.As<T, float>(ref lse));
            var vd = Vector256.Create(Unsafe.As<T, float>(ref d));
            for (; j <= n - 8; j += 8)
            {
                var x = Vector256.MultiplyAddEstimate(Vector256.Load(fs + j), vscale, -vlse);
                if (fm != null) { x += Vector256.Load(fm + j); }
                var p = Exp(x);
                p.Store(fs + j);
                ((Vector256.Load(fdp + j) - vd) * p * vscale).Store(fdp + j);
            }
        }
        for (; j < n; j++)
        {
            var x = s[j] * scale - lse;
            if (mask != null) { x += mask[j]; }
            var p = T.Exp(x);
            s[j] = p;
            dp[j] = (dp[j] - d) * p * scale;
        }
    }

    /// <summary>x[j] *= alpha for j &lt; n.</summary>
    public static void Scale<T>(T* x, int n, T alpha) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var j = 0;
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            var fx = (float*)x;
            var va = Vector256.Create(Unsafe.As<T, float>(ref alpha));
            for (; j <= n - 8; j += 8)
            {
                (Vector256.Load(fx + j) * va).Store(fx + j);
            }
        }
        for (; j < n; j++)
        {
            x[j] *= alpha;
        }
    }

    private static float HorizontalMax(Vector256<float> v)
    {
        var m = float.NegativeInfinity;
        for (var i = 0; i < Vector256<float>.Count; i++)
        {
            m = MathF.Max(m, v.GetElement(i));
        }
        return m;
    }

    private const float ExpHigh = 88.3762626647949f; // largest x with exp(x) finite after rounding n
    private const float ExpLow = -87.3365447505531f; // below this exp(x) is subnormal; we return 0
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f; // ln 2 = Ln2Hi + Ln2Lo, Ln2Hi exact in 9 bits so n·Ln2Hi is exact
    private const float Ln2Lo = -2.12194440e-4f;

    /// <summary>
    /// exp(x) for each lane, within 2 ulp of the correctly rounded result for x in [−87.3, 88.3]; 0 below −87.3
    /// (subnormal results flush to zero, −∞ gives 0), +∞ is not produced (x is clamped at 88.37).
    /// </summary>
    public static Vector256<float> Exp(Vector256<float> x)
    {
        // exp(x) = 2^n · e^r with n = round(x·log2 e), r = x − n·ln 2 ∈ [−ln2/2, ln2/2];
        // e^r = 1 + r + r²·P(r), P a degree-5 minimax fit (Cephes expf coefficients).
        var underflow = Vector256.LessThan(x, Vector256.Create(ExpLow));
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(ExpLow)), Vector256.Create(ExpHigh));
        var n = Vector256.Round(x * Vector256.Create(Log2E));
        var r = Vector256.MultiplyAddEstimate(n, Vector256.Create(-Ln2Hi), x);
        r = Vector256.MultiplyAddEstimate(n, Vector256.Create(-Ln2Lo), r);
        var p = Vector256.Create(1.9875691500E-4f);
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(1.3981999507E-3f));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(8.3334519073E-3f));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(4.1665795894E-2f));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(1.6666665459E-1f));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(5.0000001201E-1f));
        p = Vector256.MultiplyAddEstimate(p, r * r, r) + Vector256<float>.One;
        var pow2 = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
        return Vector256.ConditionalSelect(underflow.AsSingle(), Vector256<float>.Zero, p * pow2);
    }
}
