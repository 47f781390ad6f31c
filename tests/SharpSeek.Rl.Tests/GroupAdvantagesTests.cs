// GroupAdvantagesTests.cs: group baselines against hand-computed values: sample and population std, Dr. GRPO's r − mean,
// unscorable samples left out, degenerate and skipped groups, bad input.
using SharpSeek.Rl.Grpo;

namespace SharpSeek.Rl.Tests;

public sealed class GroupAdvantagesTests
{
    [Fact]
    public void SampleStd_IsBesselCorrected()
    {
        // group {1, 0, 0, 1}: mean 0.5, Σ(r − m)² = 1, sample std = sqrt(1/3), population std = 0.5
        double?[] rewards = [1, 0, 0, 1];
        var a = new double[4];
        var summary = GroupAdvantages.Compute(rewards, 4, new GrpoOptions { StdEpsilon = 0 }, a);
        var std = Math.Sqrt(1.0 / 3);
        AssertClose([0.5 / std, -0.5 / std, -0.5 / std, 0.5 / std], a);
        Assert.Equal(new GroupSummary(1, 0, 0, 0), summary);

        GroupAdvantages.Compute(rewards, 4, new GrpoOptions { Std = StdKind.Population, StdEpsilon = 0 }, a);
        AssertClose([1.0, -1, -1, 1], a);
    }

    [Fact]
    public void Epsilon_IsAddedToTheStd()
    {
        var a = new double[2];
        GroupAdvantages.Compute([3.0, 1.0], 2, new GrpoOptions { Std = StdKind.Population, StdEpsilon = 0.5 }, a);
        AssertClose([1 / 1.5, -1 / 1.5], a); // mean 2, population std 1
    }

    [Fact]
    public void DrGrpo_SubtractsTheMeanOnly()
    {
        var a = new double[3];
        GroupAdvantages.Compute([2.0, 0.5, 0.5], 3, new GrpoOptions { Scale = AdvantageScale.None }, a);
        AssertClose([1.0, -0.5, -0.5], a);
    }

    [Fact]
    public void UnscorableSamples_AreLeftOutOfTheBaseline()
    {
        // second group: {1, null, 0}: mean over scorable 0.5, population std 0.5; the unscorable sample gets 0
        double?[] rewards = [1, 1, 1, 1, null, 0];
        var a = new double[6];
        var summary = GroupAdvantages.Compute(rewards, 3, new GrpoOptions { Std = StdKind.Population, StdEpsilon = 0 }, a);
        AssertClose([0.0, 0, 0, 1, 0, -1], a);
        Assert.Equal(new GroupSummary(2, ZeroStdGroups: 1, SkippedGroups: 0, UnscorableSamples: 1), summary);
        Assert.Equal(0.5, summary.ZeroStdShare);
    }

    [Fact]
    public void EqualRewards_GiveExactlyZero_AndAGroupWithoutTwoScorableSamplesIsSkipped()
    {
        double?[] rewards = [0.1, 0.1, 0.1, null, null, 0.7];
        var a = new double[6];
        Array.Fill(a, double.NaN);
        var summary = GroupAdvantages.Compute(rewards, 3, new GrpoOptions(), a);
        Assert.All(a, v => Assert.Equal(0.0, v));
        Assert.Equal(new GroupSummary(2, ZeroStdGroups: 1, SkippedGroups: 1, UnscorableSamples: 2), summary);
    }

    [Fact]
    public void BadInput_IsNamed()
    {
        var a = new double[4];
        Assert.Contains("at least 2", Assert.Throws<ArgumentOutOfRangeException>(() => GroupAdvantages.Compute([1.0, 0.0], 1, new GrpoOptions(), a.AsSpan(0, 2))).Message);
        Assert.Contains("do not split into groups of 3", Assert.Throws<ArgumentException>(() => GroupAdvantages.Compute([1.0, 0.0, 1.0, 0.0], 3, new GrpoOptions(), a)).Message);
        Assert.Contains("not finite", Assert.Throws<ArgumentException>(() => GroupAdvantages.Compute([1.0, double.NaN], 2, new GrpoOptions(), a.AsSpan(0, 2))).Message);
    }

    private static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) { Assert.Equal(expected[i], actual[i], 12); }
    }
}
