// EvaluationTests.cs: the unbiased pass@k estimator against the binomial formula and its edge cases.
using SharpSeek.Rl.Eval;

namespace SharpSeek.Rl.Tests;

public sealed class EvaluationTests
{
    private static double Binomial(int n, int k)
    {
        double r = 1;
        for (var i = 1; i <= k; i++) { r = r * (n - k + i) / i; }
        return r;
    }

    [Theory]
    [InlineData(10, 3, 1)]
    [InlineData(10, 3, 5)]
    [InlineData(16, 1, 8)]
    [InlineData(64, 20, 32)]
    public void PassAtK_IsOneMinusTheChanceThatKSamplesAllMiss(int n, int c, int k) =>
        Assert.Equal(1 - (Binomial(n - c, k) / Binomial(n, k)), PassAtK.Estimate(n, c, k), 12);

    [Fact]
    public void PassAtK_EdgeCases()
    {
        Assert.Equal(0.3, PassAtK.Estimate(10, 3, 1), 12); // pass@1 is c / n
        Assert.Equal(1.0, PassAtK.Estimate(4, 2, 3));      // fewer misses than k: some sample must hit
        Assert.Equal(0.0, PassAtK.Estimate(4, 0, 4));
        Assert.Equal(1.0, PassAtK.Estimate(4, 1, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(4, 5, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(4, 1, 5));
    }
}
