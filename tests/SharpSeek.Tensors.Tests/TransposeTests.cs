// TransposeTests.cs: the tiled transpose equals the element-by-element definition for shapes that are not multiples of
// its tile, for 1-, 2- and 4-byte elements, on one thread and on two (the pool), and refuses spans of the wrong length.
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
[Collection(SerialCollection.Name)]
public sealed class TransposeTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 70)]
    [InlineData(33, 31)]
    [InlineData(600, 257)]
    public void EqualsTheDefinition(int rows, int cols)
    {
        var rng = new Random(rows * 1000 + cols);
        var f = Enumerable.Range(0, rows * cols).Select(_ => (float)rng.NextDouble()).ToArray();
        var b = Enumerable.Range(0, rows * cols).Select(_ => (byte)rng.Next(256)).ToArray();
        var h = Enumerable.Range(0, rows * cols).Select(_ => (short)rng.Next()).ToArray();
        var saved = WorkerPool.Current.Threads;
        try
        {
            foreach (var threads in new[] { 1, 2 })
            {
                WorkerPool.UseThreads(threads);
                Check(f, rows, cols);
                Check(b, rows, cols);
                Check(h, rows, cols);
            }
        }
        finally
        {
            WorkerPool.UseThreads(saved);
        }
    }

    [Fact]
    public void WrongLengths_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => Transpose.Matrix<float>(new float[6], 2, 3, new float[5]));
        Assert.Throws<ArgumentException>(() => Transpose.Matrix<float>(new float[5], 2, 3, new float[6]));
    }

    private static void Check<T>(T[] src, int rows, int cols) where T : unmanaged
    {
        var dst = new T[src.Length];
        Transpose.Matrix<T>(src, rows, cols, dst);
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++) { Assert.Equal(src[(r * cols) + c], dst[(c * rows) + r]); }
        }
    }
}
