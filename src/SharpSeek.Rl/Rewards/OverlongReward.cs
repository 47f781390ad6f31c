// OverlongReward.cs: DAPO's soft overlong punishment (Yu et al., arXiv 2503.14476 Eq. 13) on the completion's token
// count L: 0 while L ≤ Lmax − Lcache, then falling linearly to −1 at L = Lmax, and −1 beyond. Added to the accuracy
// reward (weight 1 in DAPO, which used Lmax 20480, Lcache 4096). Not here: masking truncated samples (GRPO's choice).
// Tested by OverlongRewardTests.
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Rewards;

/// <summary>R(L) = 0 for L ≤ Lmax − Lcache; ((Lmax − Lcache) − L) / Lcache for Lmax − Lcache &lt; L ≤ Lmax; −1 for
/// L &gt; Lmax. Never null.</summary>
public sealed class OverlongReward : IReward
{
    /// <summary><paramref name="maxLength"/> is Lmax, <paramref name="cache"/> is Lcache: 0 &lt; Lcache ≤ Lmax.</summary>
    public OverlongReward(int maxLength, int cache)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cache);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cache, maxLength);
        MaxLength = maxLength;
        Cache = cache;
    }

    public int MaxLength { get; }

    public int Cache { get; }

    public string Name => "overlong";

    public double? Score(Problem problem, Completion completion)
    {
        var free = MaxLength - Cache;
        var length = completion.Tokens;
        return length <= free ? 0 : length <= MaxLength ? (double)(free - length) / Cache : -1;
    }
}
