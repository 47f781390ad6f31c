// ThreadCountTests.cs: the kernels that reduce or scatter (RMSNorm dWeight, scatter-add, embedding backward, cross-entropy
// mean, softmax, elementwise maps) give bitwise equal results with 1 and 2 worker threads. Runs alone: it swaps WorkerPool.Current.
using SharpSeek.Tensors.Kernels;
using static SharpSeek.Tensors.Tests.FiniteDifferences;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
[Collection(SerialCollection.Name)]
public sealed class ThreadCountTests
{
    private static float[][] RunAll()
    {
        var random = new Random(99);
        const int rows = 300, cols = 700, vocab = 2000;
        var x = RandomFloat(random, rows * cols, 3);
        var w = RandomFloat(random, cols);
        var dy = RandomFloat(random, rows * cols);
        float[] y = new float[x.Length], rstd = new float[rows], dx = new float[x.Length], dw = new float[cols];
        RmsNorm.Forward<float>(x, w, 1e-6f, y, rstd);
        RmsNorm.Backward<float>(dy, x, w, rstd, dx, dw);

        var index = Enumerable.Range(0, 900).Select(_ => random.Next(rows)).ToArray();
        var weights = RandomFloat(random, index.Length);
        var src = RandomFloat(random, index.Length * cols);
        var scattered = new float[rows * cols];
        ScatterAddRows.Forward<float>(src, index, weights, cols, scattered);
        var dTable = new float[rows * cols];
        Embedding.Backward<float>(src, index, cols, dTable);

        var logits = RandomFloat(random, 40 * vocab, 5);
        var targets = Enumerable.Range(0, 40).Select(_ => random.Next(vocab)).ToArray();
        float[] losses = new float[40], stats = new float[80], dLogits = new float[logits.Length];
        var mean = CrossEntropy.Forward<float>(logits, targets, vocab, -100, losses, stats);
        CrossEntropy.Backward(1f, logits, targets, stats, vocab, -100, dLogits);

        var sm = new float[x.Length];
        Softmax.Forward<float>(x, rows, cols, sm);
        var silu = new float[x.Length];
        SwiGlu.Forward<float>(x, dy, silu);
        return [y, rstd, dx, dw, scattered, dTable, losses, [mean], dLogits, sm, silu];
    }

    [Fact]
    public void Results_AreBitwiseEqual_With1And2Threads()
    {
        var before = WorkerPool.Current.Threads;
        try
        {
            WorkerPool.UseThreads(1);
            var one = RunAll();
            WorkerPool.UseThreads(2);
            var two = RunAll();
            for (var i = 0; i < one.Length; i++) { Assert.Equal(one[i], two[i]); }
        }
        finally
        {
            WorkerPool.UseThreads(before);
        }
    }
}
