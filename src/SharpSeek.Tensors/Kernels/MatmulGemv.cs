// MatmulGemv.cs: the direct small-m path for y (m, n) = [y +] x (m, k) · Wᵀ with W: (n, k) row-major in f32, BF16 or
// block-scaled E4M3 — decode's shape. Each W row is streamed once and dotted with all m ≤ 4 rows of x (which stay in
// L1): two W rows × m x rows of vector accumulators, horizontal sums at the end, W asked for 8 KiB ahead (a decode
// step's experts are cold). No packing, no wasted microkernel rows. Not here: argument checks (Matmul.cs, LowPrecisionMatmul.cs), larger m (MatmulDriver.cs), the FP8 rows'
// cheap decode (MatmulGemvFp8.cs; the pair kernel here stays its fallback and oracle). Tested by MatmulGemvTests.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpSeek.Tensors.Kernels;

/// <summary>W (n, k) row-major, read as f32 values: 8, 4 or 1 at a time, times a per-128×128-block scale.</summary>
internal unsafe interface IGemvWeights
{
    /// <summary>Below this many W elements one thread beats waking the pool (~30 µs here): f32 and BF16 stream at memory
    /// speed (a 1024×1024 f32 GEMV takes ~90 µs alone); FP8's 2^18 dates from a decode at about a quarter of that rate
    /// (the lifted decode of MatmulGemvFp8 is about twice as fast).</summary>
    static abstract long ParallelThreshold { get; }

    /// <summary>Bytes per stored weight (4, 2 or 1).</summary>
    static abstract int ElementBytes { get; }

    /// <summary>The factor of block (j / 128, p / 128); 1 for unscaled formats.</summary>
    float Scale(int j, int p);

    Vector512<float> Load16(long offset, Vector512<float> scale);

    Vector256<float> Load8(long offset, Vector256<float> scale);

    Vector128<float> Load4(long offset, Vector128<float> scale);

    float Load1(long offset, float scale);

    /// <summary>Asks for the cache line holding element <paramref name="offset"/> (a hint: never faults, changes nothing).</summary>
    void Prefetch(long offset);
}

internal readonly unsafe struct F32Weights(float* w) : IGemvWeights
{
    public static long ParallelThreshold => 1L << 20;

    public static int ElementBytes => 4;

    private readonly float* _w = w;

    public float Scale(int j, int p) => 1f;

    public Vector512<float> Load16(long offset, Vector512<float> scale) => Vector512.Load(_w + offset);

    public Vector256<float> Load8(long offset, Vector256<float> scale) => Vector256.Load(_w + offset);

    public Vector128<float> Load4(long offset, Vector128<float> scale) => Vector128.Load(_w + offset);

    public float Load1(long offset, float scale) => _w[offset];

    public void Prefetch(long offset) => MatmulGemv.PrefetchLine(_w + offset);
}

/// <summary>BF16 widened exactly: the 16 bits become the top half of each f32.</summary>
internal readonly unsafe struct Bf16Weights(ushort* w) : IGemvWeights
{
    public static long ParallelThreshold => 1L << 20;

    public static int ElementBytes => 2;

    private readonly ushort* _w = w;

    public float Scale(int j, int p) => 1f;

    public Vector512<float> Load16(long offset, Vector512<float> scale)
        => (Vector512.WidenLower(Vector256.Load(_w + offset).ToVector512Unsafe()) << 16).AsSingle();

    public Vector256<float> Load8(long offset, Vector256<float> scale)
        => Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(_w + offset), 16).AsSingle();

    public Vector128<float> Load4(long offset, Vector128<float> scale)
        => (Vector128.WidenLower(Vector128.CreateScalar(Unsafe.ReadUnaligned<ulong>(_w + offset)).AsUInt16()) << 16).AsSingle();

    public float Load1(long offset, float scale) => BitConverter.UInt32BitsToSingle((uint)_w[offset] << 16);

    public void Prefetch(long offset) => MatmulGemv.PrefetchLine(_w + offset);
}

/// <summary>E4M3 codes times scaleInv[j / 128, p / 128], decoded as in <see cref="Fp8Source"/> (exact, NaN kept).</summary>
internal readonly unsafe struct Fp8Weights(byte* w, float* scaleInv, float* table, int k, bool noNaN = false) : IGemvWeights
{
    public static long ParallelThreshold => 1L << 18;

    public static int ElementBytes => 1;

    private readonly byte* _w = w;
    private readonly float* _scaleInv = scaleInv;
    private readonly float* _table = table;
    private readonly int _kBlocks = (k + Fp8Source.Block - 1) / Fp8Source.Block;

    public byte* Codes => _w;

    public float* ScaleInv => _scaleInv;

    public int KBlocks => _kBlocks;

    /// <summary>The caller vouches that no code is NaN (checked once at load): the lifted decode needs no per-row scan.</summary>
    public bool NoNaN { get; } = noNaN;

    public float Scale(int j, int p) => _scaleInv[(long)(j / Fp8Source.Block) * _kBlocks + p / Fp8Source.Block];

    public Vector512<float> Load16(long offset, Vector512<float> scale) => Fp8Source.Decode16(_w + offset, scale);

    public Vector256<float> Load8(long offset, Vector256<float> scale) => Fp8Source.Decode(_w + offset, scale);

    public Vector128<float> Load4(long offset, Vector128<float> scale)
    {
        var code = Vector128.WidenLower(Vector128.WidenLower(Vector128.CreateScalar(Unsafe.ReadUnaligned<uint>(_w + offset)).AsByte())).AsInt32();
        var magnitude = code & Vector128.Create(0x7F);
        var normal = ((magnitude << 20) + Vector128.Create(120 << 23)).AsSingle();
        var subnormal = Vector128.ConvertToSingle(magnitude) * Vector128.Create(1f / 512);
        var value = Vector128.ConditionalSelect(Vector128.LessThan(magnitude, Vector128.Create(8)).AsSingle(), subnormal, normal);
        value = (value.AsInt32() | ((code & Vector128.Create(0x80)) << 24)).AsSingle() * scale;
        return Vector128.ConditionalSelect(Vector128.Equals(magnitude, Vector128.Create(0x7F)).AsSingle(), Vector128.Create(float.NaN), value);
    }

    public float Load1(long offset, float scale) => _table[_w[offset]] * scale;

    public void Prefetch(long offset) => MatmulGemv.PrefetchLine(_w + offset);
}

/// <summary>Fp8Weights under another type, so that every row takes RowPair with Fp8Source.Decode: the oracle that
/// MatmulGemvFp8 matches bit for bit.</summary>
internal readonly unsafe struct Fp8ExactWeights(Fp8Weights w) : IGemvWeights
{
    public static long ParallelThreshold => Fp8Weights.ParallelThreshold;

    public static int ElementBytes => 1;

    private readonly Fp8Weights _w = w;

    public float Scale(int j, int p) => _w.Scale(j, p);

    public Vector512<float> Load16(long offset, Vector512<float> scale) => _w.Load16(offset, scale);

    public Vector256<float> Load8(long offset, Vector256<float> scale) => _w.Load8(offset, scale);

    public Vector128<float> Load4(long offset, Vector128<float> scale) => _w.Load4(offset, scale);

    public float Load1(long offset, float scale) => _w.Load1(offset, scale);

    public void Prefetch(long offset) => _w.Prefetch(offset);
}

internal static unsafe class MatmulGemv
{
    /// <summary>A prefetch of the line at <paramref name="p"/> into L1 where the CPU has one (x86 SSE), else nothing. A hint:
    /// it never faults (addresses past W are fine) and changes no result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void PrefetchLine(void* p)
    {
        if (Sse.IsSupported) { Sse.Prefetch0(p); }
    }

    /// <summary>The largest m that takes this path: beyond it the packed microkernel reuses each W panel enough to win.</summary>
    public const int MaxRows = 4;

    /// <summary>Inside a hot pool scope (a loop starts in under a µs) W of this many elements is already worth splitting.</summary>
    private const long HotParallelElements = 1 << 13;

    /// <summary>Rows per item at least in a hot scope, where a decode step's small W (a 96-row expert) still splits evenly.</summary>
    private const int HotMinItemRows = 8;

    /// <summary>Rows of W per work item at least (a multiple of 4, so that the row groups never depend on the split).</summary>
    private const int MinItemRows = 32;

    /// <summary>Whether the row kernels run 16 lanes wide (AVX-512): twice the decode and FMA work per instruction. Every
    /// kernel of this path (and MatmulGemvFp8) takes the same width, so a row's summation order depends on the machine only.</summary>
    internal static bool Wide => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    /// <summary>The 16 lanes summed as halves, quarters, then pairs: six instructions (Vector512.Sum takes about 27 here),
    /// which matters at k = 256, where the sums of a group cost as much as its loop. Every wide kernel sums this way.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Sum16(Vector512<float> a)
    {
        var eight = a.GetLower() + a.GetUpper();
        var four = eight.GetLower() + eight.GetUpper();
        var two = four + Vector128.Shuffle(four, Vector128.Create(2, 3, 0, 1));
        return (two + Vector128.Shuffle(two, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }

    /// <summary>
    /// How far ahead of the rows being summed the kernels ask for W, in bytes (rounded to an even number of rows, at least
    /// two). A decode step's routed experts are rarely in cache — each serves one token in E / K, and all of them with the
    /// dense path (~90 MB in f32 for the small preset) outgrow the last-level cache — and the hardware prefetcher starts
    /// over at every 4 KiB page, so a cold expert streamed at 8–9 GB/s on one thread against 19–21 for the same expert
    /// warm; asking 8 KiB ahead took the cold ones to 14–21 GB/s and the warm ones to 22–26 (the small preset's MoE
    /// layers, four random experts each, thread CPU time).
    /// </summary>
    private const int PrefetchBytes = 8192;

    /// <summary>Rows ahead (even, at least 2) that put the prefetch about PrefetchBytes beyond the rows being summed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int AheadRows<TW>(int k) where TW : struct, IGemvWeights
        => Math.Max(2, ((PrefetchBytes / Math.Max(1, k * TW.ElementBytes)) + 1) & ~1);

    /// <summary>Columns that share one scale: the 128-wide FP8 block (harmless for unscaled formats).</summary>
    private const int Block = Fp8Source.Block;

    /// <summary>y (m, n) = [y +] x (m, k) · Wᵀ for 1 ≤ m ≤ 4; each y row element is computed by one item in a fixed order.</summary>
    public static void Run<TW>(float* x, TW w, float* y, int m, int n, int k, bool accumulate) where TW : struct, IGemvWeights
    {
        switch (m)
        {
            case 1: Run<TW, One>(x, w, y, n, k, accumulate); break;
            case 2: Run<TW, Two>(x, w, y, n, k, accumulate); break;
            case 3: Run<TW, Three>(x, w, y, n, k, accumulate); break;
            case 4: Run<TW, Four>(x, w, y, n, k, accumulate); break;
            case 0: break;
            default: throw new ArgumentOutOfRangeException(nameof(m), m, $"the GEMV path takes 0 to {MaxRows} rows");
        }
    }

    private static void Run<TW, TM>(float* x, TW w, float* y, int n, int k, bool accumulate)
        where TW : struct, IGemvWeights
        where TM : struct, IRowCount
    {
        if (n == 0) { return; }
        var work = new Work<TW, TM> { X = x, W = w, Y = y, N = n, K = k, Accumulate = accumulate, ItemRows = n };
        var pool = WorkerPool.Current;
        if (pool.Threads == 1 || (long)n * k < (pool.IsHot ? HotParallelElements : TW.ParallelThreshold))
        {
            work.Execute(0, 0);
            return;
        }
        // About four items per thread so that dynamic claiming evens out the load; row pairs and groups of four stay aligned.
        var perThread = pool.IsHot ? 2 : 4;
        var rows = Math.Max(pool.IsHot ? HotMinItemRows : MinItemRows, (n + perThread * pool.Threads - 1) / (perThread * pool.Threads));
        work.ItemRows = (rows + 3) & ~3;
        pool.For((n + work.ItemRows - 1) / work.ItemRows, ref work);
    }

    /// <summary>m as a type, so that each instantiation of the row kernel keeps only the x rows it has.</summary>
    internal interface IRowCount
    {
        static abstract int Value { get; }
    }

    internal struct One : IRowCount
    {
        public static int Value => 1;
    }

    internal struct Two : IRowCount
    {
        public static int Value => 2;
    }

    internal struct Three : IRowCount
    {
        public static int Value => 3;
    }

    internal struct Four : IRowCount
    {
        public static int Value => 4;
    }

    private struct Work<TW, TM> : IWorkItem
        where TW : struct, IGemvWeights
        where TM : struct, IRowCount
    {
        public float* X;
        public TW W;
        public float* Y;
        public int N;
        public int K;
        public int ItemRows;
        public bool Accumulate;

        public readonly void Execute(int index, int worker)
        {
            var j1 = Math.Min(N, (index + 1) * ItemRows);
            var j = index * ItemRows;
            if (typeof(TW) == typeof(Fp8Weights) && MatmulGemvFp8.IsSupported)
            {
                // Groups of four rows with the cheap exact decode; a group it declines (NaN codes, huge scales) goes by pairs.
                ref readonly var fp8 = ref Unsafe.As<TW, Fp8Weights>(ref Unsafe.AsRef(in W));
                for (; j < j1; j += MatmulGemvFp8.GroupRows)
                {
                    if (MatmulGemvFp8.TryRows<TM>(X, fp8, Y, N, K, j, Accumulate)) { continue; }
                    RowPair<TW, TM>(X, W, Y, N, K, j, Math.Min(j + 1, N - 1), Accumulate);
                    if (j + 2 < j1) { RowPair<TW, TM>(X, W, Y, N, K, j + 2, Math.Min(j + 3, N - 1), Accumulate); }
                }
                return;
            }
            for (; j < j1; j += 2) { RowPair<TW, TM>(X, W, Y, N, K, j, Math.Min(j + 1, N - 1), Accumulate); }
        }
    }

    /// <summary>
    /// Rows j0 and j1 of W (j1 = j0 for an odd last row) against the m = TM.Value rows of x (the vector loops skip the
    /// others; the scalar tail reads row m-1 in their place and nothing of them is stored). Every dot product: vector partial sums over the whole row, one horizontal sum, then the scalar tail.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowPair<TW, TM>(float* x, TW w, float* y, int n, int k, int j0, int j1, bool accumulate)
        where TW : struct, IGemvWeights
        where TM : struct, IRowCount
    {
        var m = TM.Value;
        var x0 = x;
        var x1 = x + (long)Math.Min(1, m - 1) * k;
        var x2 = x + (long)Math.Min(2, m - 1) * k;
        var x3 = x + (long)Math.Min(3, m - 1) * k;
        var w0 = (long)j0 * k;
        var w1 = (long)j1 * k;
        var ahead = AheadRows<TW>(k) * (long)k;
        float s00, s01, s02, s03, s10, s11, s12, s13;
        int tail;
        if (Wide)
        {
            tail = k & ~15;
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
            for (var p0 = 0; p0 < tail; p0 += Block)
            {
                var c0 = Vector512.Create(w.Scale(j0, p0));
                var c1 = Vector512.Create(w.Scale(j1, p0));
                var pEnd = Math.Min(tail, p0 + Block);
                for (var p = p0; p < pEnd; p += 16)
                {
                    w.Prefetch(w0 + ahead + p);
                    w.Prefetch(w1 + ahead + p);
                    var v0 = w.Load16(w0 + p, c0);
                    var v1 = w.Load16(w1 + p, c1);
                    var u = Vector512.Load(x0 + p);
                    a00 = Vector512.FusedMultiplyAdd(v0, u, a00);
                    a10 = Vector512.FusedMultiplyAdd(v1, u, a10);
                    if (TM.Value > 1)
                    {
                        u = Vector512.Load(x1 + p);
                        a01 = Vector512.FusedMultiplyAdd(v0, u, a01);
                        a11 = Vector512.FusedMultiplyAdd(v1, u, a11);
                    }
                    if (TM.Value > 2)
                    {
                        u = Vector512.Load(x2 + p);
                        a02 = Vector512.FusedMultiplyAdd(v0, u, a02);
                        a12 = Vector512.FusedMultiplyAdd(v1, u, a12);
                    }
                    if (TM.Value > 3)
                    {
                        u = Vector512.Load(x3 + p);
                        a03 = Vector512.FusedMultiplyAdd(v0, u, a03);
                        a13 = Vector512.FusedMultiplyAdd(v1, u, a13);
                    }
                }
            }
            (s00, s10) = (Sum16(a00), Sum16(a10));
            (s01, s11) = TM.Value > 1 ? (Sum16(a01), Sum16(a11)) : (0f, 0f);
            (s02, s12) = TM.Value > 2 ? (Sum16(a02), Sum16(a12)) : (0f, 0f);
            (s03, s13) = TM.Value > 3 ? (Sum16(a03), Sum16(a13)) : (0f, 0f);
        }
        else if (Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported)
        {
            tail = k & ~7;
            Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
            for (var p0 = 0; p0 < tail; p0 += Block)
            {
                var c0 = Vector256.Create(w.Scale(j0, p0));
                var c1 = Vector256.Create(w.Scale(j1, p0));
                var pEnd = Math.Min(tail, p0 + Block);
                for (var p = p0; p < pEnd; p += 8)
                {
                    w.Prefetch(w0 + ahead + p);
                    w.Prefetch(w1 + ahead + p);
                    var v0 = w.Load8(w0 + p, c0);
                    var v1 = w.Load8(w1 + p, c1);
                    var u = Vector256.Load(x0 + p);
                    a00 = Vector256.FusedMultiplyAdd(v0, u, a00);
                    a10 = Vector256.FusedMultiplyAdd(v1, u, a10);
                    if (TM.Value > 1)
                    {
                        u = Vector256.Load(x1 + p);
                        a01 = Vector256.FusedMultiplyAdd(v0, u, a01);
                        a11 = Vector256.FusedMultiplyAdd(v1, u, a11);
                    }
                    if (TM.Value > 2)
                    {
                        u = Vector256.Load(x2 + p);
                        a02 = Vector256.FusedMultiplyAdd(v0, u, a02);
                        a12 = Vector256.FusedMultiplyAdd(v1, u, a12);
                    }
                    if (TM.Value > 3)
                    {
                        u = Vector256.Load(x3 + p);
                        a03 = Vector256.FusedMultiplyAdd(v0, u, a03);
                        a13 = Vector256.FusedMultiplyAdd(v1, u, a13);
                    }
                }
            }
            (s00, s01, s02, s03) = (Vector256.Sum(a00), Vector256.Sum(a01), Vector256.Sum(a02), Vector256.Sum(a03));
            (s10, s11, s12, s13) = (Vector256.Sum(a10), Vector256.Sum(a11), Vector256.Sum(a12), Vector256.Sum(a13));
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            tail = k & ~3;
            Vector128<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector128<float> a10 = default, a11 = default, a12 = default, a13 = default;
            for (var p0 = 0; p0 < tail; p0 += Block)
            {
                var c0 = Vector128.Create(w.Scale(j0, p0));
                var c1 = Vector128.Create(w.Scale(j1, p0));
                var pEnd = Math.Min(tail, p0 + Block);
                for (var p = p0; p < pEnd; p += 4)
                {
                    var v0 = w.Load4(w0 + p, c0);
                    var v1 = w.Load4(w1 + p, c1);
                    var u = Vector128.Load(x0 + p);
                    a00 = Vector128.FusedMultiplyAdd(v0, u, a00);
                    a10 = Vector128.FusedMultiplyAdd(v1, u, a10);
                    if (TM.Value > 1)
                    {
                        u = Vector128.Load(x1 + p);
                        a01 = Vector128.FusedMultiplyAdd(v0, u, a01);
                        a11 = Vector128.FusedMultiplyAdd(v1, u, a11);
                    }
                    if (TM.Value > 2)
                    {
                        u = Vector128.Load(x2 + p);
                        a02 = Vector128.FusedMultiplyAdd(v0, u, a02);
                        a12 = Vector128.FusedMultiplyAdd(v1, u, a12);
                    }
                    if (TM.Value > 3)
                    {
                        u = Vector128.Load(x3 + p);
                        a03 = Vector128.FusedMultiplyAdd(v0, u, a03);
                        a13 = Vector128.FusedMultiplyAdd(v1, u, a13);
                    }
                }
            }
            (s00, s01, s02, s03) = (Vector128.Sum(a00), Vector128.Sum(a01), Vector128.Sum(a02), Vector128.Sum(a03));
            (s10, s11, s12, s13) = (Vector128.Sum(a10), Vector128.Sum(a11), Vector128.Sum(a12), Vector128.Sum(a13));
        }
        else
        {
            tail = 0;
            (s00, s01, s02, s03, s10, s11, s12, s13) = (0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
        }
        Finish(x0, x1, x2, x3, w, y, n, k, m, tail, j0, j1, s00, s01, s02, s03, s10, s11, s12, s13, accumulate);
    }

    /// <summary>Rows ja and jb from their vector sums: the scalar tail from column <paramref name="tail"/> (the whole row
    /// without vectors), each column with its block's scale, then the stores of the m rows there are. Shared by every
    /// row kernel of this path, so their results agree bit for bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Finish<TW>(float* x0, float* x1, float* x2, float* x3, in TW w, float* y, int n, int k, int m,
        int tail, int ja, int jb, float s00, float s01, float s02, float s03, float s10, float s11, float s12, float s13, bool accumulate)
        where TW : struct, IGemvWeights
    {
        var wa = (long)ja * k;
        var wb = (long)jb * k;
        for (var p = tail; p < k; p++)
        {
            var v0 = w.Load1(wa + p, w.Scale(ja, p));
            var v1 = w.Load1(wb + p, w.Scale(jb, p));
            s00 += v0 * x0[p];
            s10 += v1 * x0[p];
            s01 += v0 * x1[p];
            s11 += v1 * x1[p];
            s02 += v0 * x2[p];
            s12 += v1 * x2[p];
            s03 += v0 * x3[p];
            s13 += v1 * x3[p];
        }
        Store(y, n, 0, ja, jb, s00, s10, accumulate);
        if (m > 1) { Store(y, n, 1, ja, jb, s01, s11, accumulate); }
        if (m > 2) { Store(y, n, 2, ja, jb, s02, s12, accumulate); }
        if (m > 3) { Store(y, n, 3, ja, jb, s03, s13, accumulate); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store(float* y, int n, int i, int j0, int j1, float s0, float s1, bool accumulate)
    {
        var row = y + (long)i * n;
        row[j0] = accumulate ? row[j0] + s0 : s0;
        if (j1 != j0) { row[j1] = accumulate ? row[j1] + s1 : s1; }
    }
}
