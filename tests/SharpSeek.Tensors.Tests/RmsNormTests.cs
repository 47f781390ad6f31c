// RmsNormTests.cs: RMSNorm forward against the naive reference on odd shapes, backward (dx and the accumulated dWeight)
// against central finite differences in double, and size errors.
using SharpSeek.Tensors.Kernels;
using static SharpSeek.Tensors.Tests.FiniteDifferences;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class RmsNormTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 127)]
    [InlineData(129, 128)]
    [InlineData(3, 129)]
    [InlineData(64, 1000)]
    [InlineData(0, 4)]
    public void Forward_MatchesNaive(int rows, int cols)
    {
        var random = new Random(rows + 3 * cols);
        var x = RandomFloat(random, rows * cols, 2);
        var w = RandomFloat(random, cols, 1.5);
        float[] y = new float[x.Length], rstd = new float[rows], yRef = new float[x.Length], rstdRef = new float[rows];
        RmsNorm.Forward<float>(x, w, 1e-6f, y, rstd);
        RmsNorm.ForwardNaive<float>(x, w, 1e-6f, yRef, rstdRef);
        AssertClose(rstdRef, rstd, 0, 2e-6, "rstd");
        AssertClose(yRef, y, 1e-6, 3e-6, "y");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(2, 37)]
    public void Backward_MatchesFiniteDifferences(int rows, int cols)
    {
        var random = new Random(5 * rows + cols);
        var x = Random(random, rows * cols, 2);
        var w = Random(random, cols, 1.5);
        var r = Random(random, rows * cols);
        double[] y = new double[x.Length], rstd = new double[rows], dx = new double[x.Length];
        var dw = Random(random, cols); // accumulated into
        var dw0 = (double[])dw.Clone();
        RmsNorm.Forward<double>(x, w, 1e-6, y, rstd);
        RmsNorm.Backward<double>(r, x, w, rstd, dx, dw);
        double Loss() { RmsNorm.Forward<double>(x, w, 1e-6, y, rstd); return Dot(y, r); }
        AssertClose(Gradient(x, Loss), dx, 1e-8, 1e-6, "dx");
        var numeric = Gradient(w, Loss);
        for (var j = 0; j < cols; j++) { numeric[j] += dw0[j]; }
        AssertClose(numeric, dw, 1e-8, 1e-6, "dWeight");
    }

    [Fact]
    public void WrongSize_NamesExpectedAndActual()
    {
        var e = Assert.Throws<ArgumentException>(() => RmsNorm.Forward<float>(new float[10], new float[4], 1e-6f, new float[12], new float[3]));
        Assert.Contains("12 elements, but has 10", e.Message);
    }
}
