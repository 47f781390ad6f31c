// LrScheduleTests.cs: the schedules' shapes: linear warm-up from 0, the peak, cosine down to peak·minRatio, and the
// warm-up-stable-decay plateau; bad arguments are rejected.
namespace SharpSeek.Training.Tests;

public sealed class LrScheduleTests
{
    [Fact]
    public void WarmupCosine_RisesLinearly_ThenFollowsTheCosineToTheMinimum()
    {
        var s = LrSchedule.WarmupCosine(3e-4, warmup: 10, total: 110, minRatio: 0.1);
        Assert.Equal(0, s.At(0));
        Assert.Equal(3e-4 * 3 / 10, s.At(3), 1e-18);
        Assert.Equal(3e-4, s.At(10), 1e-18);
        Assert.Equal(3e-4 * (0.1 + (0.9 * 0.5)), s.At(60), 1e-15);                           // halfway: the cosine's midpoint
        Assert.Equal(3e-4 * (0.1 + (0.9 * 0.5 * (1 + Math.Cos(Math.PI * 0.25)))), s.At(35), 1e-15);
        Assert.Equal(3e-5, s.At(110), 1e-18);
        Assert.Equal(3e-5, s.At(1000), 1e-18);
        for (var t = 10; t < 110; t++) { Assert.True(s.At(t + 1) < s.At(t), $"not decreasing at {t}"); }
    }

    [Fact]
    public void WarmupStableDecay_HoldsThePeak_UntilTheLastFraction()
    {
        var s = LrSchedule.WarmupStableDecay(1e-3, warmup: 7, total: 103, decayFraction: 0.25, minRatio: 0.05);
        Assert.Equal(103 - 26, s.DecayStart);
        Assert.Equal(1e-3 / 7, s.At(1), 1e-18);
        for (var t = 7; t <= s.DecayStart; t++) { Assert.Equal(1e-3, s.At(t)); }
        Assert.True(s.At(s.DecayStart + 1) < 1e-3);
        Assert.Equal(5e-5, s.At(103), 1e-18);
        Assert.Equal(1e-3 * (0.05 + (0.95 * 0.5)), s.At(s.DecayStart + 13), 1e-15);
    }

    [Fact]
    public void NoWarmup_StartsAtThePeak()
    {
        Assert.Equal(2e-4, LrSchedule.WarmupCosine(2e-4, 0, 50).At(0));
    }

    [Fact]
    public void BadArguments_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LrSchedule.WarmupCosine(0, 1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => LrSchedule.WarmupCosine(1e-3, 20, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => LrSchedule.WarmupCosine(1e-3, 1, 10, minRatio: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => LrSchedule.WarmupStableDecay(1e-3, 1, 10, decayFraction: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LrSchedule.WarmupCosine(1e-3, 1, 10).At(-1));
    }
}
