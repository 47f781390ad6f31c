// SiluTests.cs: SiLU and the fused SwiGLU gate, forward against the naive references and backward against central
// finite differences in double.
using SharpSeek.Tensors.Kernels;
using static SharpSeek.Tensors.Tests.FiniteDifferences;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class SiluTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(127)]
    [InlineData(129)]
    [InlineData(70001)]
    public void Forward_MatchesNaive(int n)
    {
        var random = new Random(n);
        float[] g = RandomFloat(random, n, 10), u = RandomFloat(random, n, 2);
        float[] y = new float[n], reference = new float[n];
        Silu.Forward<float>(g, y);
        Silu.ForwardNaive<float>(g, reference);
        AssertClose(reference, y, 1e-7, 1e-6, "silu");
        SwiGlu.Forward<float>(g, u, y);
        SwiGlu.ForwardNaive<float>(g, u, reference);
        AssertClose(reference, y, 1e-7, 1e-6, "swiglu");
    }

    [Fact]
    public void Backward_MatchesFiniteDifferences()
    {
        var random = new Random(12);
        const int n = 37;
        double[] g = Random(random, n, 6), u = Random(random, n, 2), r = Random(random, n);
        double[] y = new double[n], dg = new double[n], du = new double[n];
        Silu.Backward<double>(r, g, dg);
        AssertClose(Gradient(g, () => { Silu.Forward<double>(g, y); return Dot(y, r); }), dg, 1e-9, 1e-7, "silu dx");
        SwiGlu.Backward<double>(r, g, u, dg, du);
        double Loss() { SwiGlu.Forward<double>(g, u, y); return Dot(y, r); }
        AssertClose(Gradient(g, Loss), dg, 1e-9, 1e-7, "dGate");
        AssertClose(Gradient(u, Loss), du, 1e-9, 1e-7, "dUp");
    }
}
