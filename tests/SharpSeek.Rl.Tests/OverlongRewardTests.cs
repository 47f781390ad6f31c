// OverlongRewardTests.cs: DAPO's soft overlong punishment against hand-computed values: 0 up to Lmax − Lcache, linear to
// −1 at Lmax, −1 beyond; DAPO's own setting; bad arguments.
using SharpSeek.Rl.Rewards;
using static SharpSeek.Rl.Tests.TestProblems;

namespace SharpSeek.Rl.Tests;

public sealed class OverlongRewardTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(15, 0)]
    [InlineData(16, -0.2)]
    [InlineData(18, -0.6)]
    [InlineData(20, -1)]
    [InlineData(21, -1)]
    [InlineData(1000, -1)]
    public void Score_Lmax20Lcache5(int tokens, double expected) =>
        Assert.Equal(expected, new OverlongReward(20, 5).Score(Numeric("1"), new Completion("", tokens))!.Value, 12);

    [Theory]
    [InlineData(16384, 0)]
    [InlineData(18432, -0.5)]
    [InlineData(20480, -1)]
    [InlineData(20481, -1)]
    public void Score_DapoSetting(int tokens, double expected) =>
        Assert.Equal(expected, new OverlongReward(20480, 4096).Score(Numeric("1"), new Completion("", tokens, Truncated: true)));

    [Fact]
    public void Constructor_CacheOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new OverlongReward(100, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OverlongReward(100, 101));
        Assert.Equal(-0.01, new OverlongReward(100, 100).Score(Numeric("1"), new Completion("", 1)));
    }
}
