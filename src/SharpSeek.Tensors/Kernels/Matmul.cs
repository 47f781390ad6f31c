// Matmul.cs: dense row-major GEMM for f32/f64 (plain, strided-batched) and its naive double-accumulating reference.
// Not here: the blocked engine (MatmulDriver.cs), low-precision weights (LowPrecisionMatmul.cs). Tested by MatmulTests.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpSeek.Tensors.Kernels;

/// <summary>
/// General matrix multiply on row-major spans: c = op(a)·op(b), or c += op(a)·op(b) with <c>accumulate</c>.
/// a: (m, k), or (k, m) when <c>transposeA</c>; b: (k, n), or (n, k) when <c>transposeB</c>; c: (m, n).
/// The result for a given shape is bitwise the same for any thread count.
/// </summary>
public static unsafe partial class Matmul
{
    /// <summary>Problems with at most this many multiply-adds go straight to <see cref="Naive{T}"/>: packing would dominate.</summary>
    private const long TinyProblem = 4096;

    /// <summary>c (m, n) = [c +] op(a) · op(b) for T = float or double.</summary>
    public static void Gemm<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k,
        bool transposeA = false, bool transposeB = false, bool accumulate = false) where T : unmanaged
    {
        CheckType<T>();
        CheckShape(a.Length, b.Length, c.Length, m, n, k);
        GemmCore(a, b, c, m, n, k, transposeA, transposeB, accumulate);
    }

    /// <summary>
    /// For every p in [0, batch): c[p·strideC ..] (m, n) = [c +] op(a[p·strideA ..]) · op(b[p·strideB ..])
    /// (cublasSgemmStridedBatched). A stride of 0 shares that operand across the batch; C slices must not overlap.
    /// </summary>
    public static void GemmBatched<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k,
        int batch, int strideA, int strideB, int strideC,
        bool transposeA = false, bool transposeB = false, bool accumulate = false) where T : unmanaged
    {
        CheckType<T>();
        CheckBatch(a.Length, b.Length, c.Length, m, n, k, batch, strideA, strideB, strideC);
        if (batch == 0) { return; }
        if (batch > 1 && (long)m * n * k < (1L << 20))
        {
            // Small problems: one batch entry per work item, each run single-threaded (nested loops run inline).
            fixed (T* pa = a, pb = b, pc = c)
            {
                var work = new BatchWork<T>
                {
                    A = pa,
                    B = pb,
                    C = pc,
                    M = m,
                    N = n,
                    K = k,
                    StrideA = strideA,
                    StrideB = strideB,
                    StrideC = strideC,
                    TransposeA = transposeA,
                    TransposeB = transposeB,
                    Accumulate = accumulate,
                };
                WorkerPool.Current.For(batch, ref work);
            }
            return;
        }
        for (var p = 0; p < batch; p++)
        {
            GemmCore(a.Slice(p * strideA, m * k), b.Slice(p * strideB, k * n), c.Slice(p * strideC, m * n),
                m, n, k, transposeA, transposeB, accumulate);
        }
    }

    /// <summary>The reference: c[i, j] = [c[i, j] +] Σ_p op(a)[i, p] · op(b)[p, j], summed in double, same signature as Gemm.</summary>
    public static void Naive<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k,
        bool transposeA = false, bool transposeB = false, bool accumulate = false) where T : unmanaged
    {
        CheckType<T>();
        CheckShape(a.Length, b.Length, c.Length, m, n, k);
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var sum = accumulate ? ToDouble(c[i * n + j]) : 0.0;
                for (var p = 0; p < k; p++)
                {
                    var x = transposeA ? a[p * m + i] : a[i * k + p];
                    var y = transposeB ? b[j * k + p] : b[p * n + j];
                    sum += ToDouble(x) * ToDouble(y);
                }
                c[i * n + j] = FromDouble<T>(sum);
            }
        }
    }

    /// <summary>Whether <see cref="Gemm{T}"/> over f32 runs this shape through the packed engine (MatmulDriver), not the
    /// few-row GEMV or the naive loop: where it does, the packed FP8 forms (<see cref="GemmFp8Weights"/> with m &gt; 4,
    /// GemmFp8, GemmFp8Columns) sum in the same order.</summary>
    public static bool Packs(int m, int n, int k, bool transposeA, bool transposeB) => !Streams(m, transposeA, transposeB) && (long)m * n * k > TinyProblem;

    // Decode's shape, y = x·Wᵀ with few rows: f32 GEMMs that stream W once (MatmulGemv.cs).
    private static bool Streams(int m, bool transposeA, bool transposeB) => transposeB && m <= MatmulGemv.MaxRows && (m == 1 || !transposeA);

    private static void GemmCore<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k,
        bool transposeA, bool transposeB, bool accumulate) where T : unmanaged
    {
        if (typeof(T) == typeof(float) && Streams(m, transposeA, transposeB))
        {
            // stream W once (MatmulGemv.cs)
            fixed (T* pa = a, pb = b, pc = c)
            {
                MatmulGemv.Run((float*)pa, new F32Weights((float*)pb), (float*)pc, m, n, k, accumulate);
            }
            return;
        }
        if ((long)m * n * k <= TinyProblem)
        {
            Naive(a, b, c, m, n, k, transposeA, transposeB, accumulate);
            return;
        }
        fixed (T* pa = a, pb = b, pc = c)
        {
            MatmulDriver.Run(pa, transposeA, new DenseSource<T>(pb, n, k, transposeB), pc, m, n, k, accumulate);
        }
    }

    private struct BatchWork<T> : IWorkItem where T : unmanaged
    {
        public T* A;
        public T* B;
        public T* C;
        public int M;
        public int N;
        public int K;
        public int StrideA;
        public int StrideB;
        public int StrideC;
        public bool TransposeA;
        public bool TransposeB;
        public bool Accumulate;

        public readonly void Execute(int index, int worker)
        {
            GemmCore(new ReadOnlySpan<T>(A + (long)index * StrideA, M * K), new ReadOnlySpan<T>(B + (long)index * StrideB, K * N),
                new Span<T>(C + (long)index * StrideC, M * N), M, N, K, TransposeA, TransposeB, Accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double ToDouble<T>(T x) where T : unmanaged
        => typeof(T) == typeof(float) ? Unsafe.As<T, float>(ref x) : Unsafe.As<T, double>(ref x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T FromDouble<T>(double x) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var f = (float)x;
            return Unsafe.As<float, T>(ref f);
        }
        return Unsafe.As<double, T>(ref x);
    }

    private static void CheckType<T>()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"Matmul supports float and double, not {typeof(T).Name}");
        }
    }

    private static void CheckDims(int m, int n, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
    }

    private static void CheckShape(int aLength, int bLength, int cLength, int m, int n, int k)
    {
        CheckDims(m, n, k);
        CheckLength("a", aLength, (long)m * k, m, k);
        CheckLength("b", bLength, (long)k * n, k, n);
        CheckLength("c", cLength, (long)m * n, m, n);
    }

    private static void CheckLength(string name, int actual, long expected, int rows, int cols)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{name} has {actual} elements; its shape ({rows}, {cols}) needs {expected}", name);
        }
    }

    private static void CheckBatch(int aLength, int bLength, int cLength, int m, int n, int k,
        int batch, int strideA, int strideB, int strideC)
    {
        CheckDims(m, n, k);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(strideA);
        ArgumentOutOfRangeException.ThrowIfNegative(strideB);
        ArgumentOutOfRangeException.ThrowIfNegative(strideC);
        if (batch > 1 && strideC < (long)m * n)
        {
            throw new ArgumentException($"strideC {strideC} is less than m·n = {(long)m * n}: the C slices would overlap", nameof(strideC));
        }
        if (batch == 0) { return; }
        CheckBatchLength("a", aLength, (long)(batch - 1) * strideA + (long)m * k, batch);
        CheckBatchLength("b", bLength, (long)(batch - 1) * strideB + (long)k * n, batch);
        CheckBatchLength("c", cLength, (long)(batch - 1) * strideC + (long)m * n, batch);
    }

    private static void CheckBatchLength(string name, int actual, long needed, int batch)
    {
        if (actual < needed)
        {
            throw new ArgumentException($"{name} has {actual} elements; {batch} strided batch entries need at least {needed}", name);
        }
    }

    /// <summary>Views a span of one unmanaged type as another of the same size (BFloat16 → ushort, Float8E4M3 → byte).</summary>
    private static ReadOnlySpan<TTo> Bits<TFrom, TTo>(ReadOnlySpan<TFrom> span) where TFrom : struct where TTo : struct
        => MemoryMarshal.Cast<TFrom, TTo>(span);
}
