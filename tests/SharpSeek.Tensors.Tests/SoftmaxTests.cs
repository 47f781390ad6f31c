// SoftmaxTests.cs: Softmax and LogSoftmax forward against the naive references on odd shapes, backward against central
// finite differences in double, stability on logits of ±1e4, and size errors.
using SharpSeek.Tensors.Kernels;
using static SharpSeek.Tensors.Tests.FiniteDifferences;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class SoftmaxTests
{
    public static TheoryData<int, int> Shapes => new() { { 1, 1 }, { 1, 7 }, { 7, 127 }, { 3, 128 }, { 129, 129 }, { 2, 1000 }, { 0, 5 }, { 200, 300 } };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_MatchesNaive(int rows, int cols)
    {
        var x = RandomFloat(new Random(rows * 1000 + cols), rows * cols, 6);
        float[] y = new float[x.Length], reference = new float[x.Length];
        Softmax.Forward<float>(x, rows, cols, y);
        Softmax.ForwardNaive<float>(x, rows, cols, reference);
        AssertClose(reference, y, 1e-7, 2e-6, "softmax");
        LogSoftmax.Forward<float>(x, rows, cols, y);
        LogSoftmax.ForwardNaive<float>(x, rows, cols, reference);
        AssertClose(reference, y, 2e-6, 2e-6, "logsoftmax");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(2, 33)]
    public void Backward_MatchesFiniteDifferences(int rows, int cols)
    {
        var random = new Random(7 + cols);
        var x = Random(random, rows * cols, 3);
        var r = Random(random, rows * cols);
        var y = new double[x.Length];
        var dx = new double[x.Length];
        Softmax.Forward<double>(x, rows, cols, y);
        Softmax.Backward<double>(r, y, rows, cols, dx);
        var numeric = Gradient(x, () => { Softmax.Forward<double>(x, rows, cols, y); return Dot(y, r); });
        AssertClose(numeric, dx, 1e-8, 1e-6, "softmax dx");
        LogSoftmax.Forward<double>(x, rows, cols, y);
        LogSoftmax.Backward<double>(r, y, rows, cols, dx);
        numeric = Gradient(x, () => { LogSoftmax.Forward<double>(x, rows, cols, y); return Dot(y, r); });
        AssertClose(numeric, dx, 1e-8, 1e-6, "logsoftmax dx");
    }

    [Fact]
    public void Forward_IsStable_OnHugeLogits()
    {
        var x = new float[] { 1e4f, -1e4f, 1e4f - 1, 0, -1e4f, 1e4f, 3, 1e4f - 2 };
        var y = new float[x.Length];
        var reference = new float[x.Length];
        Softmax.Forward<float>(x, 2, 4, y);
        Softmax.ForwardNaive<float>(x, 2, 4, reference);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        AssertClose(reference, y, 1e-7, 1e-6, "softmax ±1e4");
        LogSoftmax.Forward<float>(x, 2, 4, y);
        LogSoftmax.ForwardNaive<float>(x, 2, 4, reference);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        AssertClose(reference, y, 1e-6, 1e-6, "logsoftmax ±1e4");
    }

    [Fact]
    public void WrongSize_NamesExpectedAndActual()
    {
        var e = Assert.Throws<ArgumentException>(() => Softmax.Forward<float>(new float[12], 3, 4, new float[11]));
        Assert.Contains("12", e.Message);
        Assert.Contains("11", e.Message);
        e = Assert.Throws<ArgumentException>(() => LogSoftmax.Backward<double>(new double[12], new double[13], 3, 4, new double[12]));
        Assert.Contains("13", e.Message);
    }
}
