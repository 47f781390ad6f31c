// IReward.cs: what a reward is: a name and a score for one completion of one problem, a finite number or null for
// "unscorable" (GRPO leaves such a sample out of its group's baseline; it is never silently 0 or 1). Not here: weighting
// and summing (RewardSet.cs). Tested by RewardSetTests.
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Rewards;

/// <summary>A rule reward. <see cref="Score"/> must be a pure function of its arguments (GRPO may call it from several
/// threads) and return a finite number, or null when this problem cannot be scored (a gold answer that does not parse).
/// NaN or infinity is an error, reported with the reward's <see cref="Name"/>.</summary>
public interface IReward
{
    /// <summary>A short name for logs and per-reward curves ("accuracy", "format").</summary>
    string Name { get; }

    double? Score(Problem problem, Completion completion);
}
