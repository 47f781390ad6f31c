// RewardSet.cs: rewards with weights, summed: the score of one completion or of a group of G completions of one
// problem. A reward with weight 0 is still computed (for logs) but cannot make a total unscorable. Not here: the
// rewards themselves, and the group baseline (GRPO). Tested by RewardSetTests.
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Rewards;

/// <summary>Weighted rule rewards: total = Σ_k w_k · r_k. When a reward with w_k ≠ 0 returns null (unscorable) the
/// total is null, and GRPO leaves the sample out of the group baseline. A reward returning NaN or infinity throws
/// <see cref="InvalidOperationException"/> naming it.</summary>
public sealed class RewardSet
{
    private readonly IReward[] _rewards;
    private readonly double[] _weights;

    /// <summary>Throws when there are no rewards, a weight is not finite, or two rewards share a name.</summary>
    public RewardSet(IReadOnlyList<(IReward Reward, double Weight)> rewards)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        if (rewards.Count == 0) { throw new ArgumentException("a reward set needs at least one reward", nameof(rewards)); }
        foreach (var (reward, weight) in rewards)
        {
            ArgumentNullException.ThrowIfNull(reward);
            if (!double.IsFinite(weight)) { throw new ArgumentException($"reward '{reward.Name}' has weight {weight}; weights must be finite", nameof(rewards)); }
        }
        var duplicate = rewards.GroupBy(r => r.Reward.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) { throw new ArgumentException($"two rewards are named '{duplicate.Key}'; names label the logs and must differ", nameof(rewards)); }
        _rewards = [.. rewards.Select(r => r.Reward)];
        _weights = [.. rewards.Select(r => r.Weight)];
    }

    public IReadOnlyList<IReward> Rewards => _rewards;

    public IReadOnlyList<double> Weights => _weights;

    /// <summary>Every reward's score of one completion and the weighted total.</summary>
    public RewardScores Score(Problem problem, Completion completion)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(completion.Text);
        var values = new double?[_rewards.Length];
        double? total = 0;
        for (var k = 0; k < _rewards.Length; k++)
        {
            var value = _rewards[k].Score(problem, completion);
            if (value is { } v && !double.IsFinite(v))
            {
                throw new InvalidOperationException($"reward '{_rewards[k].Name}' returned {v} for problem {problem.Id}; a reward must return a finite number, or null when it cannot score");
            }
            values[k] = value;
            if (_weights[k] != 0) { total += _weights[k] * value; }
        }
        return new RewardScores(values, total);
    }

    /// <summary>The scores of a group of completions of one problem, in order.</summary>
    public RewardScores[] ScoreGroup(Problem problem, IReadOnlyList<Completion> completions)
    {
        ArgumentNullException.ThrowIfNull(completions);
        var scores = new RewardScores[completions.Count];
        for (var i = 0; i < scores.Length; i++) { scores[i] = Score(problem, completions[i]); }
        return scores;
    }
}
