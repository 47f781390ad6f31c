// MatmulThreadingTests.cs: Matmul results are bitwise the same with 1, 2 and 3 threads. Swaps WorkerPool.Current, so it
// runs in a collection that never overlaps other tests.
using SharpSeek.Tensors.Kernels;
using static SharpSeek.Tensors.Tests.MatmulTests;

namespace SharpSeek.Tensors.Tests;

[CollectionDefinition(nameof(MatmulThreadingTests), DisableParallelization = true)]
public sealed class MatmulThreadingCollection;

[Trait("Category", "Kernels")]
[Collection(nameof(MatmulThreadingTests))]
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
}
