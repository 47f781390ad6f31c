// GroupAdvantages.cs: GRPO's baseline: each sample's advantage is its reward against the other samples of the same
// prompt (DeepSeekMath arXiv 2402.03300 §4.1.2; DeepSeek-R1 arXiv 2501.12948 §2.2.1, Eq. 3), optionally without the std
// (Dr. GRPO arXiv 2503.20783 §3.2). An unscorable sample (null reward) is left out of its group's mean and std and gets
// advantage 0, as huggingface/trl (grpo_trainer.py, nanmean/nanstd) does. Not here: the rewards (Rewards/), the loss
// (Grpo). Tested by GroupAdvantagesTests.
namespace SharpSeek.Rl.Grpo;

/// <summary>What <see cref="GroupAdvantages.Compute"/> found, for the step's log.</summary>
public readonly record struct GroupSummary(int Groups, int ZeroStdGroups, int SkippedGroups, int UnscorableSamples)
{
    /// <summary>Groups whose scorable rewards are all equal (no learning signal), over all groups.</summary>
    public double ZeroStdShare => Groups == 0 ? 0 : (double)ZeroStdGroups / Groups;
}

/// <summary>Group-relative advantages.</summary>
public static class GroupAdvantages
{
    /// <summary>
    /// Fills <paramref name="advantages"/> from <paramref name="rewards"/>, laid out group by group (sample j of prompt i at
    /// i·G + j). A group with fewer than two scorable samples has no baseline: its advantages are 0 and it counts as
    /// skipped. A group whose scorable rewards are all equal gets exactly 0 (and counts as zero-std).
    /// </summary>
    public static GroupSummary Compute(ReadOnlySpan<double?> rewards, int groupSize, GrpoOptions options, Span<double> advantages)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (groupSize < 2) { throw new ArgumentOutOfRangeException(nameof(groupSize), groupSize, $"a group needs at least 2 samples to have a baseline; got G = {groupSize}"); }
        if (rewards.Length % groupSize != 0)
        {
            throw new ArgumentException($"{rewards.Length} rewards do not split into groups of {groupSize}; every prompt needs exactly G samples", nameof(rewards));
        }
        if (advantages.Length != rewards.Length) { throw new ArgumentException($"advantages hold {advantages.Length} entries for {rewards.Length} rewards", nameof(advantages)); }
        int groups = rewards.Length / groupSize, zeroStd = 0, skipped = 0, unscorable = 0;
        for (var g = 0; g < groups; g++)
        {
            var r = rewards.Slice(g * groupSize, groupSize);
            var a = advantages.Slice(g * groupSize, groupSize);
            a.Clear();
            int n = 0;
            double sum = 0;
            bool allEqual = true;
            double? first = null;
            foreach (var x in r)
            {
                if (x is not { } v) { unscorable++; continue; }
                if (!double.IsFinite(v)) { throw new ArgumentException($"reward {v} in group {g} is not finite; rewards must be numbers or unscorable (null)", nameof(rewards)); }
                n++;
                sum += v;
                first ??= v;
                allEqual &= v == first;
            }
            if (n < 2) { skipped++; continue; }
            if (allEqual) { zeroStd++; continue; }
            var mean = sum / n;
            double squares = 0;
            foreach (var x in r) { if (x is { } v) { squares += (v - mean) * (v - mean); } }
            var std = Math.Sqrt(squares / (options.Std == StdKind.Sample ? n - 1 : n));
            var divide = options.Scale == AdvantageScale.Group ? std + options.StdEpsilon : 1.0;
            for (var j = 0; j < groupSize; j++)
            {
                if (r[j] is { } v) { a[j] = (v - mean) / divide; }
            }
        }
        return new GroupSummary(groups, zeroStd, skipped, unscorable);
    }
}
