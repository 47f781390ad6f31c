// MatmulThreadingTests.cs: Matmul results (blocked and fused small-m / small-n paths) are bitwise the same with 1, 2
// and 3 threads, and the fused paths allocate nothing on any thread after warm-up. Swaps WorkerPool.Current and reads
// the workers' process-wide allocation counter, so it runs in a collection that never overlaps other tests.
using SharpSeek.Tensors.Kernels;
using static SharpSeek.Tensors.Tests.MatmulTests;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
[Collection(SerialCollection.Name)]
public sealed class MatmulThreadingTests
{
    [Theory]
    [InlineData(300, 257, 520)]
    [InlineData(64, 1000, 300)]
    public void Gemm_ResultIsBitwiseIndependentOfThreadCount(int m, int n, int k)
    {
        var rng = new Random(7);
        var a = RandomFloats(rng, m * k);
        var b = RandomFloats(rng, k * n);
        var ad = RandomDoubles(rng, m * k);
        var bd = RandomDoubles(rng, k * n);
        float[] Run(int threads, out double[] d)
        {
            var c = new float[m * n];
            d = new double[m * n];
            var saved = WorkerPool.Current.Threads;
            WorkerPool.UseThreads(threads);
            try
            {
                Matmul.Gemm<float>(a, b, c, m, n, k, transposeB: true);
                Matmul.Gemm<double>(ad, bd, d, m, n, k, transposeA: false);
            }
            finally
            {
                WorkerPool.UseThreads(saved);
            }
            return c;
        }
        var one = Run(1, out var oneD);
        var two = Run(2, out var twoD);
        var three = Run(3, out var threeD);
        Assert.Equal(one, two);
        Assert.Equal(one, three);
        Assert.Equal(oneD, twoD);
        Assert.Equal(oneD, threeD);
    }

    [Theory]
    [InlineData(5, 1500, 700)]
    [InlineData(100, 530, 520)]
    [InlineData(1500, 5, 700)]
    [InlineData(530, 100, 520)]
    public void Gemm_FusedPaths_AreBitwiseIndependentOfThreadCount(int m, int n, int k)
    {
        // The small-m (m ≤ MC) and small-n (n ≤ 16 NR) paths, every transpose, with and without accumulate, plus BF16 weights.
        var rng = new Random(11);
        var a = RandomFloats(rng, m * k);
        var b = RandomFloats(rng, k * n);
        var c0 = RandomFloats(rng, m * n);
        var w = new BFloat16[n * k];
        for (var i = 0; i < w.Length; i++) { w[i] = new BFloat16((ushort)(BitConverter.SingleToUInt32Bits(b[i]) >> 16)); }
        float[][] Run(int threads)
        {
            var results = new List<float[]>();
            var saved = WorkerPool.Current.Threads;
            WorkerPool.UseThreads(threads);
            try
            {
                foreach (var v in MatmulTests.Variants)
                {
                    var c = (float[])c0.Clone();
                    Matmul.Gemm<float>(a, b, c, m, n, k, (bool)v[0], (bool)v[1], (bool)v[2]);
                    results.Add(c);
                }
                var y = (float[])c0.Clone();
                Matmul.GemmBf16Weights(a, w, y, m, n, k, accumulate: true);
                results.Add(y);
            }
            finally
            {
                WorkerPool.UseThreads(saved);
            }
            return [.. results];
        }
        var one = Run(1);
        var two = Run(2);
        var three = Run(3);
        for (var i = 0; i < one.Length; i++)
        {
            Assert.Equal(one[i], two[i]);
            Assert.Equal(one[i], three[i]);
        }
    }

    // The workers' allocation counter is process-wide: measured here, in the serial collection, so that no other test's
    // GEMM can warm a worker's buffers in the middle of it.
    [Theory]
    [InlineData(64, 700, 600)]
    [InlineData(700, 64, 600)]
    public void Gemm_FusedPaths_AllocateNothingAfterWarmUp(int m, int n, int k)
    {
        var rng = new Random(5);
        var a = RandomFloats(rng, m * k);
        var b = RandomFloats(rng, k * n);
        var c = new float[m * n];
        var pool = WorkerPool.Current;
        Matmul.Gemm<float>(a, b, c, m, n, k, transposeB: true);
        var before = GC.GetAllocatedBytesForCurrentThread() + pool.WorkerAllocatedBytes;
        for (var i = 0; i < 5; i++) { Matmul.Gemm<float>(a, b, c, m, n, k, transposeB: true, accumulate: true); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() + pool.WorkerAllocatedBytes - before);
    }
}
