// TopKTests.cs: per-row top-k against a full stable sort, ties to the lower index, k = 0 and k = cols, and k errors.
using SharpSeek.Tensors.Kernels;
using static SharpSeek.Tensors.Tests.FiniteDifferences;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class TopKTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 256, 8)]
    [InlineData(129, 64, 6)]
    [InlineData(3, 7, 7)]
    [InlineData(5, 9, 0)]
    public void Forward_MatchesSort(int rows, int cols, int k)
    {
        var random = new Random(rows * cols + k);
        // Few distinct values, so ties are common.
        var x = Array.ConvertAll(RandomFloat(random, rows * cols, 4), v => MathF.Round(v * 2) / 2);
        float[] values = new float[rows * k], refValues = new float[rows * k];
        int[] indices = new int[rows * k], refIndices = new int[rows * k];
        TopK.Forward<float>(x, rows, cols, k, values, indices);
        TopK.ForwardNaive<float>(x, rows, cols, k, refValues, refIndices);
        Assert.Equal(refIndices, indices);
        Assert.Equal(refValues, values);
    }

    [Fact]
    public void Ties_PreferLowerIndex()
    {
        float[] values = new float[3];
        int[] indices = new int[3];
        TopK.Forward<float>([1, 5, 2, 5, 5], 1, 5, 3, values, indices);
        Assert.Equal([1, 3, 4], indices);
    }

    [Fact]
    public void KAboveCols_NamesBothSizes()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => TopK.Forward<float>(new float[4], 1, 4, 5, new float[5], new int[5]));
        Assert.Contains("[0, 4]", e.Message);
        Assert.Contains("5", e.Message);
    }
}
