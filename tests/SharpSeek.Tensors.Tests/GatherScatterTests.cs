// GatherScatterTests.cs: GatherRows, ScatterAddRows and Embedding forward against naive loops, their backward against
// central finite differences in double, the lookup in a BF16 table against the widened table, and index errors naming the
// index and the row count.
using SharpSeek.Tensors.Kernels;
using static SharpSeek.Tensors.Tests.FiniteDifferences;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class GatherScatterTests
{
    // A BF16 table (a checkpoint's, read in place) gives each row widened: the f32 lookup in the widened table, bit for bit.
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 127, 20)]
    [InlineData(5, 3, 0)]
    public void ForwardBf16_EqualsTheLookupInTheWidenedTable(int rows, int cols, int count)
    {
        var random = new Random(rows + cols + count);
        var table = RandomFloat(random, rows * cols).Select(BFloat16.FromSingle).ToArray();
        var widened = table.Select(b => b.ToSingle()).ToArray();
        var ids = Enumerable.Range(0, count).Select(_ => random.Next(rows)).ToArray();
        var (expected, actual) = (new float[count * cols], new float[count * cols]);
        Embedding.Forward<float>(widened, ids, cols, expected);
        Embedding.Forward(table, ids, cols, actual);
        Assert.Equal(expected, actual);
        Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Forward(table, [rows], cols, new float[cols]));
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 127, 20)]
    [InlineData(129, 300, 257)]
    [InlineData(5, 3, 0)]
    public void Forward_MatchesNaive(int rows, int cols, int count)
    {
        var random = new Random(rows + cols + count);
        var x = RandomFloat(random, rows * cols);
        var index = Enumerable.Range(0, count).Select(_ => random.Next(rows)).ToArray();
        var weights = RandomFloat(random, count);
        var gathered = new float[count * cols];
        GatherRows.Forward<float>(x, index, cols, gathered);
        var embedded = new float[count * cols];
        Embedding.Forward<float>(x, index, cols, embedded);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(x.AsSpan(index[i] * cols, cols).ToArray(), gathered.AsSpan(i * cols, cols).ToArray());
        }
        Assert.Equal(gathered, embedded);

        var y = RandomFloat(random, rows * cols);
        var reference = (float[])y.Clone();
        ScatterAddRows.Forward<float>(gathered, index, weights, cols, y);
        ScatterAddRows.ForwardNaive<float>(gathered, index, weights, cols, reference);
        AssertClose(reference, y, 1e-6, 1e-6, "scatter-add");
    }

    [Fact]
    public void Backward_MatchesFiniteDifferences()
    {
        var random = new Random(21);
        const int rows = 5, cols = 7;
        int[] index = [3, 0, 3, 4, 3, 1];
        double[] x = Random(random, rows * cols), w = Random(random, index.Length), src = Random(random, index.Length * cols);
        double[] r = Random(random, index.Length * cols), ry = Random(random, rows * cols);
        double[] g = new double[index.Length * cols], y = new double[rows * cols];

        var dx = Random(random, rows * cols); // accumulated into
        var dx0 = (double[])dx.Clone();
        GatherRows.Backward<double>(r, index, cols, dx);
        var numeric = Gradient(x, () => { GatherRows.Forward<double>(x, index, cols, g); return Dot(g, r); });
        for (var i = 0; i < dx.Length; i++) { numeric[i] += dx0[i]; }
        AssertClose(numeric, dx, 1e-9, 1e-8, "gather dx");

        dx = (double[])dx0.Clone();
        Embedding.Backward<double>(r, index, cols, dx);
        numeric = Gradient(x, () => { Embedding.Forward<double>(x, index, cols, g); return Dot(g, r); });
        for (var i = 0; i < dx.Length; i++) { numeric[i] += dx0[i]; }
        AssertClose(numeric, dx, 1e-9, 1e-8, "embedding dTable");

        double[] dSrc = new double[src.Length], dw = new double[w.Length];
        ScatterAddRows.Backward<double>(ry, src, index, w, cols, dSrc, dw);
        double Loss() { Array.Clear(y); ScatterAddRows.Forward<double>(src, index, w, cols, y); return Dot(y, ry); }
        AssertClose(Gradient(src, Loss), dSrc, 1e-9, 1e-8, "scatter dSrc");
        AssertClose(Gradient(w, Loss), dw, 1e-9, 1e-8, "scatter dWeights");
    }

    [Fact]
    public void BadIndex_NamesIndexAndRows()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Forward<float>(new float[12], [0, 4], 3, new float[6]));
        Assert.Contains("token id 4", e.Message);
        Assert.Contains("size 4", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Backward<float>(new float[3], [-1], 3, new float[12]));
        Assert.Contains("token id -1", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => ScatterAddRows.Forward<float>(new float[3], [7], [1f], 3, new float[12]));
        Assert.Contains("index 7", e.Message);
        Assert.Contains("4 rows", e.Message);
        var size = Assert.Throws<ArgumentException>(() => GatherRows.Forward<float>(new float[12], [1, 2], 3, new float[5]));
        Assert.Contains("6 elements, but has 5", size.Message);
    }
}
