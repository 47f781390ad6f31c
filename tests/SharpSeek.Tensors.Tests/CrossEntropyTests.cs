// CrossEntropyTests.cs: fused cross-entropy forward against the naive reference (with ignored rows), backward against
// central finite differences of the mean loss, stability on ±1e4 logits, and target/size errors.
using SharpSeek.Tensors.Kernels;
using static SharpSeek.Tensors.Tests.FiniteDifferences;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class CrossEntropyTests
{
    private const int Ignore = -100;

    private static int[] Targets(Random random, int rows, int vocab)
    {
        var t = new int[rows];
        for (var i = 0; i < rows; i++) { t[i] = i % 5 == 3 ? Ignore : random.Next(vocab); }
        return t;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 127)]
    [InlineData(129, 128)]
    [InlineData(4, 5000)]
    [InlineData(0, 9)]
    public void Forward_MatchesNaive(int rows, int vocab)
    {
        var random = new Random(rows + vocab);
        var logits = RandomFloat(random, rows * vocab, 8);
        var targets = Targets(random, rows, vocab);
        float[] losses = new float[rows], stats = new float[2 * rows], reference = new float[rows];
        var mean = CrossEntropy.Forward<float>(logits, targets, vocab, Ignore, losses, stats);
        var expected = CrossEntropy.ForwardNaive<float>(logits, targets, vocab, Ignore, reference);
        AssertClose(reference, losses, 2e-6, 2e-6, "losses");
        Assert.True(Math.Abs(mean - expected) <= 2e-6 * (1 + Math.Abs(expected)), $"mean {mean} vs {expected}");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(6, 9)]
    [InlineData(4, 31)]
    public void Backward_MatchesFiniteDifferences(int rows, int vocab)
    {
        var random = new Random(11 * rows + vocab);
        var logits = Random(random, rows * vocab, 3);
        var targets = Targets(random, rows, vocab);
        double[] losses = new double[rows], stats = new double[2 * rows], dLogits = new double[logits.Length];
        const double dLoss = 1.7;
        CrossEntropy.Forward<double>(logits, targets, vocab, Ignore, losses, stats);
        CrossEntropy.Backward(dLoss, logits, targets, stats, vocab, Ignore, dLogits);
        var numeric = Gradient(logits, () => dLoss * CrossEntropy.Forward<double>(logits, targets, vocab, Ignore, losses, stats));
        AssertClose(numeric, dLogits, 1e-8, 1e-6, "dlogits");
    }

    [Fact]
    public void AllIgnored_GivesZeroLossAndGradient()
    {
        var logits = RandomFloat(new Random(5), 2 * 3, 1);
        float[] losses = new float[2], stats = new float[4], d = [9, 9, 9, 9, 9, 9];
        Assert.Equal(0f, CrossEntropy.Forward<float>(logits, [Ignore, Ignore], 3, Ignore, losses, stats));
        CrossEntropy.Backward(1f, logits, [Ignore, Ignore], stats, 3, Ignore, d);
        Assert.All(d, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void IsStable_OnHugeLogits()
    {
        float[] logits = [1e4f, -1e4f, 1e4f - 1, -1e4f, 1e4f, 0];
        int[] targets = [2, 1];
        float[] losses = new float[2], stats = new float[4], reference = new float[2], d = new float[6];
        var mean = CrossEntropy.Forward<float>(logits, targets, 3, Ignore, losses, stats);
        CrossEntropy.ForwardNaive<float>(logits, targets, 3, Ignore, reference);
        AssertClose(reference, losses, 1e-5, 1e-6, "losses ±1e4");
        Assert.True(float.IsFinite(mean));
        CrossEntropy.Backward(1f, logits, targets, stats, 3, Ignore, d);
        Assert.All(d, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(0f, d.Sum(), 5);
    }

    [Fact]
    public void BadTarget_NamesTargetAndVocab()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            CrossEntropy.Forward<float>(new float[6], [1, 3], 3, Ignore, new float[2], new float[4]));
        Assert.Contains("target 3", e.Message);
        Assert.Contains("[0, 3)", e.Message);
        var size = Assert.Throws<ArgumentException>(() => CrossEntropy.Forward<float>(new float[6], [1, 2], 3, Ignore, new float[3], new float[4]));
        Assert.Contains("2 elements, but has 3", size.Message);
    }
}
