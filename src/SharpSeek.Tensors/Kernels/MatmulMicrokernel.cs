// MatmulMicrokernel.cs: the MR×NR register-blocked GEMM microkernels over packed panels (Vector256+FMA, Vector128, scalar).
// Not here: packing (MatmulPacking.cs) and blocking/threading (MatmulDriver.cs). Tested by MatmulTests.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpSeek.Tensors.Kernels;

/// <summary>
/// C[0..MR, 0..NR] (row stride ldc) = or += Σ_k Ap[k*MR + i] · Bp[k*NR + j] over packed panels.
/// MR = 6 rows; NR = 2 Vector256 of T (16 floats, 8 doubles), the same layout for every path.
/// Each accumulator sums k in increasing order, so a tile's result does not depend on which tile or thread computes it.
/// </summary>
internal static unsafe class MatmulMicrokernel
{
    public const int MR = 6;

    /// <summary>Panel width in elements of T: 16 for float, 8 for double.</summary>
    public static int NR<T>() where T : unmanaged => 2 * Vector256<T>.Count;

    /// <summary>The 256-bit FMA path is used when the hardware has both (on x86: AVX2 + FMA).</summary>
    public static bool UseVector256 => Vector256.IsHardwareAccelerated && Fma.IsSupported;

    public static void Run<T>(T* a, T* b, int kc, T* c, nint ldc, bool add) where T : unmanaged
    {
        if (UseVector256)
        {
            Kernel256(a, b, kc, c, ldc, add);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            // Two 6×(NR/2) halves keep 12 accumulators in registers on 16-register targets.
            var half = Vector256<T>.Count;
            Kernel128(a, b, kc, c, ldc, add);
            Kernel128(a, b + half, kc, c + half, ldc, add);
        }
        else
        {
            KernelScalar(a, b, kc, c, ldc, add);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Fma256<T>(Vector256<T> x, Vector256<T> y, Vector256<T> acc) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return Vector256.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
        }
        return Vector256.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<T> Fma128<T>(Vector128<T> x, Vector128<T> y, Vector128<T> acc) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return Vector128.MultiplyAddEstimate(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
        }
        return Vector128.MultiplyAddEstimate(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256<T>(T* a, T* b, int kc, T* c, nint ldc, bool add) where T : unmanaged
    {
        var w = Vector256<T>.Count;
        var nr = 2 * w;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (var k = 0; k < kc; k++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + w);
            var ai = Vector256.Create(a[0]);
            c00 = Fma256(ai, b0, c00);
            c01 = Fma256(ai, b1, c01);
            ai = Vector256.Create(a[1]);
            c10 = Fma256(ai, b0, c10);
            c11 = Fma256(ai, b1, c11);
            ai = Vector256.Create(a[2]);
            c20 = Fma256(ai, b0, c20);
            c21 = Fma256(ai, b1, c21);
            ai = Vector256.Create(a[3]);
            c30 = Fma256(ai, b0, c30);
            c31 = Fma256(ai, b1, c31);
            ai = Vector256.Create(a[4]);
            c40 = Fma256(ai, b0, c40);
            c41 = Fma256(ai, b1, c41);
            ai = Vector256.Create(a[5]);
            c50 = Fma256(ai, b0, c50);
            c51 = Fma256(ai, b1, c51);
            a += MR;
            b += nr;
        }
        Store256(c, w, c00, c01, add);
        Store256(c + ldc, w, c10, c11, add);
        Store256(c + 2 * ldc, w, c20, c21, add);
        Store256(c + 3 * ldc, w, c30, c31, add);
        Store256(c + 4 * ldc, w, c40, c41, add);
        Store256(c + 5 * ldc, w, c50, c51, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256<T>(T* row, int w, Vector256<T> lo, Vector256<T> hi, bool add) where T : unmanaged
    {
        if (add)
        {
            lo = Vector256.Load(row) + lo;
            hi = Vector256.Load(row + w) + hi;
        }
        lo.Store(row);
        hi.Store(row + w);
    }

    /// <summary>A 6 × (2 Vector128) tile; B rows are NR apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel128<T>(T* a, T* b, int kc, T* c, nint ldc, bool add) where T : unmanaged
    {
        var w = Vector128<T>.Count;
        var nr = NR<T>();
        Vector128<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector128<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (var k = 0; k < kc; k++)
        {
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + w);
            var ai = Vector128.Create(a[0]);
            c00 = Fma128(ai, b0, c00);
            c01 = Fma128(ai, b1, c01);
            ai = Vector128.Create(a[1]);
            c10 = Fma128(ai, b0, c10);
            c11 = Fma128(ai, b1, c11);
            ai = Vector128.Create(a[2]);
            c20 = Fma128(ai, b0, c20);
            c21 = Fma128(ai, b1, c21);
            ai = Vector128.Create(a[3]);
            c30 = Fma128(ai, b0, c30);
            c31 = Fma128(ai, b1, c31);
            ai = Vector128.Create(a[4]);
            c40 = Fma128(ai, b0, c40);
            c41 = Fma128(ai, b1, c41);
            ai = Vector128.Create(a[5]);
            c50 = Fma128(ai, b0, c50);
            c51 = Fma128(ai, b1, c51);
            a += MR;
            b += nr;
        }
        Store128(c, w, c00, c01, add);
        Store128(c + ldc, w, c10, c11, add);
        Store128(c + 2 * ldc, w, c20, c21, add);
        Store128(c + 3 * ldc, w, c30, c31, add);
        Store128(c + 4 * ldc, w, c40, c41, add);
        Store128(c + 5 * ldc, w, c50, c51, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store128<T>(T* row, int w, Vector128<T> lo, Vector128<T> hi, bool add) where T : unmanaged
    {
        if (add)
        {
            lo = Vector128.Load(row) + lo;
            hi = Vector128.Load(row + w) + hi;
        }
        lo.Store(row);
        hi.Store(row + w);
    }

    private static void KernelScalar<T>(T* a, T* b, int kc, T* c, nint ldc, bool add) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            KernelScalarF((float*)a, (float*)b, kc, (float*)c, ldc, add);
        }
        else
        {
            KernelScalarD((double*)a, (double*)b, kc, (double*)c, ldc, add);
        }
    }

    private static void KernelScalarF(float* a, float* b, int kc, float* c, nint ldc, bool add)
    {
        const int Nr = 16;
        var acc = stackalloc float[MR * Nr];
        new Span<float>(acc, MR * Nr).Clear();
        for (var k = 0; k < kc; k++, a += MR, b += Nr)
        {
            for (var i = 0; i < MR; i++)
            {
                var ai = a[i];
                for (var j = 0; j < Nr; j++) { acc[i * Nr + j] += ai * b[j]; }
            }
        }
        for (var i = 0; i < MR; i++)
        {
            for (var j = 0; j < Nr; j++) { c[i * ldc + j] = add ? c[i * ldc + j] + acc[i * Nr + j] : acc[i * Nr + j]; }
        }
    }

    private static void KernelScalarD(double* a, double* b, int kc, double* c, nint ldc, bool add)
    {
        const int Nr = 8;
        var acc = stackalloc double[MR * Nr];
        new Span<double>(acc, MR * Nr).Clear();
        for (var k = 0; k < kc; k++, a += MR, b += Nr)
        {
            for (var i = 0; i < MR; i++)
            {
                var ai = a[i];
                for (var j = 0; j < Nr; j++) { acc[i * Nr + j] += ai * b[j]; }
            }
        }
        for (var i = 0; i < MR; i++)
        {
            for (var j = 0; j < Nr; j++) { c[i * ldc + j] = add ? c[i * ldc + j] + acc[i * Nr + j] : acc[i * Nr + j]; }
        }
    }
}
