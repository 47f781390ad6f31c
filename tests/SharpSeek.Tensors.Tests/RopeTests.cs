// RopeTests.cs: interleaved-pair and rotate-half RoPE forward against the naive reference and HF's rotate_half formula, the start-offset overload against explicit
// positions, backward against central finite differences, the plain-RoPE tables, and position/size errors.
using SharpSeek.Tensors.Kernels;
using static SharpSeek.Tensors.Tests.FiniteDifferences;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class RopeTests
{
    private static (double[] Cos, double[] Sin) Tables(int headDim, int maxPos)
    {
        var invFreq = new double[headDim / 2];
        Rope.InverseFrequencies<double>(headDim, 10000.0, invFreq);
        double[] cos = new double[maxPos * headDim / 2], sin = new double[cos.Length];
        Rope.Tables<double>(invFreq, maxPos, cos, sin);
        return (cos, sin);
    }

    [Theory]
    [InlineData(1, 1, 2)]
    [InlineData(7, 3, 64)]
    [InlineData(129, 2, 16)]
    [InlineData(0, 4, 8)]
    public void Forward_MatchesNaive(int tokens, int heads, int headDim)
    {
        var random = new Random(tokens + heads + headDim);
        var (cosD, sinD) = Tables(headDim, 300);
        float[] cos = Array.ConvertAll(cosD, v => (float)v), sin = Array.ConvertAll(sinD, v => (float)v);
        var x = RandomFloat(random, tokens * heads * headDim, 2);
        var positions = Enumerable.Range(0, tokens).Select(_ => random.Next(300)).ToArray();
        float[] y = new float[x.Length], reference = new float[x.Length];
        Rope.Forward<float>(x, cos, sin, positions, heads, headDim, y);
        Rope.ForwardNaive<float>(x, cos, sin, positions, heads, headDim, reference);
        AssertClose(reference, y, 1e-6, 1e-6, "rope");
    }

    [Theory]
    [InlineData(1, 1, 2)]
    [InlineData(7, 3, 64)]
    [InlineData(5, 2, 6)]
    public void Half_MatchesRotateHalf(int tokens, int heads, int headDim)
    {
        // HF: q·cos + rotate_half(q)·sin with cos/sin (d) = the d/2 table entries twice and rotate_half(q) = [−q2, q1]
        var random = new Random(tokens * 31 + headDim);
        var (cos, sin) = Tables(headDim, 50);
        var x = Random(random, tokens * heads * headDim);
        var positions = Enumerable.Range(0, tokens).Select(_ => random.Next(50)).ToArray();
        double[] y = new double[x.Length], naive = new double[x.Length], want = new double[x.Length];
        int half = headDim / 2;
        for (var t = 0; t < tokens; t++)
        {
            for (var h = 0; h < heads; h++)
            {
                var o = (t * heads + h) * headDim;
                for (var j = 0; j < headDim; j++)
                {
                    var i = j % half;
                    var rotated = j < half ? -x[o + j + half] : x[o + j - half];
                    want[o + j] = x[o + j] * cos[positions[t] * half + i] + rotated * sin[positions[t] * half + i];
                }
            }
        }
        Rope.Forward<double>(x, cos, sin, positions, heads, 0, headDim, y, RopeLayout.Half);
        Rope.ForwardNaive<double>(x, cos, sin, positions, heads, headDim, naive, RopeLayout.Half);
        AssertClose(want, y, 1e-14, 1e-14, "rope half");
        AssertClose(want, naive, 1e-14, 1e-14, "rope half naive");
    }

    [Fact]
    public void Half_BackwardMatchesFiniteDifferences()
    {
        var random = new Random(11);
        var (cos, sin) = Tables(8, 20);
        int[] positions = [3, 0, 19];
        var x = Random(random, 3 * 2 * 8);
        var r = Random(random, x.Length);
        double[] y = new double[x.Length], dx = new double[x.Length];
        Rope.Backward<double>(r, cos, sin, positions, 2, 0, 8, dx, RopeLayout.Half);
        var numeric = Gradient(x, () => { Rope.Forward<double>(x, cos, sin, positions, 2, 0, 8, y, RopeLayout.Half); return Dot(y, r); });
        AssertClose(numeric, dx, 1e-9, 1e-7, "rope half dx");
    }

    [Fact]
    public void StartOffset_MatchesExplicitPositions()
    {
        var (cos, sin) = Tables(8, 64);
        var x = Random(new Random(3), 5 * 2 * 8);
        double[] a = new double[x.Length], b = new double[x.Length];
        Rope.Forward<double>(x, cos, sin, 17, 2, 8, a);
        Rope.Forward<double>(x, cos, sin, [17, 18, 19, 20, 21], 2, 8, b);
        Assert.Equal(b, a);
    }

    [Fact]
    public void Tables_FollowTheInterleavedConvention()
    {
        var (cos, sin) = Tables(4, 3);
        // θ_0 = 1, θ_1 = 10000^(−1/2) = 0.01; position 2: y[0] = x0·cos(2) − x1·sin(2), y[1] = x0·sin(2) + x1·cos(2)
        Assert.Equal(Math.Cos(2 * 0.01), cos[2 * 2 + 1], 15);
        double[] x = [1, 2, 3, 4], y = new double[4];
        Rope.Forward<double>(x, cos, sin, [2], 1, 4, y);
        Assert.Equal(1 * Math.Cos(2) - 2 * Math.Sin(2), y[0], 14);
        Assert.Equal(1 * Math.Sin(2) + 2 * Math.Cos(2), y[1], 14);
    }

    [Fact]
    public void Backward_MatchesFiniteDifferences()
    {
        var random = new Random(9);
        var (cos, sin) = Tables(6, 20);
        int[] positions = [3, 0, 19];
        var x = Random(random, 3 * 2 * 6);
        var r = Random(random, x.Length);
        double[] y = new double[x.Length], dx = new double[x.Length];
        Rope.Backward<double>(r, cos, sin, positions, 2, 6, dx);
        var numeric = Gradient(x, () => { Rope.Forward<double>(x, cos, sin, positions, 2, 6, y); return Dot(y, r); });
        AssertClose(numeric, dx, 1e-9, 1e-7, "rope dx");
    }

    [Fact]
    public void BadPositionOrSize_Throws()
    {
        var (cos, sin) = Tables(4, 8);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Rope.Forward<double>(new double[8], cos, sin, [1, 8], 1, 4, new double[8]));
        Assert.Contains("position 8", e.Message);
        Assert.Contains("[0, 8)", e.Message);
        var size = Assert.Throws<ArgumentException>(() => Rope.Forward<double>(new double[8], cos, sin, [1, 2], 1, 4, new double[7]));
        Assert.Contains("8 elements, but has 7", size.Message);
        Assert.Throws<ArgumentException>(() => Rope.Forward<double>(new double[6], cos, sin, [1], 1, 3, new double[6]));
    }
}
