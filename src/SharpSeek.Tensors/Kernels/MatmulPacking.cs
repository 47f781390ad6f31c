// MatmulPacking.cs: packs op(A) into MR-row panels and op(B) into NR-column panels for the microkernel, handling the
// transposes and widening BF16 / dequantizing block-scaled FP8 weights on the way. Not here: the blocking loops
// (MatmulDriver.cs). Tested by MatmulTests.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpSeek.Tensors.Kernels;

/// <summary>A source of op(B) (k rows, n columns) that can write one zero-padded KC×NR panel.</summary>
internal unsafe interface IPanelSource<T> where T : unmanaged
{
    /// <summary>dst[kk*NR + j] = op(B)[pc + kk, j0 + j] for kk &lt; kc, j &lt; nr; zero for nr ≤ j &lt; NR.</summary>
    void Pack(int pc, int kc, int j0, int nr, T* dst);
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
            if (nr < width) { new Span<T>(dst, kc * width).Clear(); }
            for (var j = 0; j < nr; j++)
            {
                var src = _b + (long)(j0 + j) * _k + pc;
                var d = dst + j;
                for (var kk = 0; kk < kc; kk++) { d[kk * width] = src[kk]; }
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

    public void Pack(int pc, int kc, int j0, int nr, float* dst)
    {
        const int Width = 16;
        if (nr < Width) { new Span<float>(dst, kc * Width).Clear(); }
        for (var j = 0; j < nr; j++)
        {
            var src = _w + (long)(j0 + j) * _k + pc;
            var d = (uint*)dst + j;
            for (var kk = 0; kk < kc; kk++) { d[kk * Width] = (uint)src[kk] << 16; }
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

    public void Pack(int pc, int kc, int j0, int nr, float* dst)
    {
        const int Width = 16;
        if (nr < Width) { new Span<float>(dst, kc * Width).Clear(); }
        for (var j = 0; j < nr; j++)
        {
            var row = j0 + j;
            var src = _w + (long)row * _k;
            var scales = _scaleInv + (long)(row / Block) * _kBlocks;
            var d = dst + j;
            // Walk kk in runs that share one 128-wide scale block.
            var kk = 0;
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
        if (mr < Mr) { new Span<T>(dst, kc * Mr).Clear(); }
        for (var i = 0; i < mr; i++)
        {
            var src = a + (long)(i0 + i) * k + pc;
            var d = dst + i;
            for (var kk = 0; kk < kc; kk++) { d[kk * Mr] = src[kk]; }
        }
    }
}
