// RlRecord.cs: one line of rl_metrics.jsonl per GRPO step: rewards per function, accuracy and format rate, the share of
// groups with no reward spread, completion lengths, KL, clip fractions, entropy, gradient norm, the rollout/trainer
// log-prob mismatch, throughput and where the time went. The loss is logged but is no progress signal: with μ = 1 the
// ratio is 1 and the advantages of a group sum to 0 (huggingface/trl issue 2703). Not here: writing it (GrpoRun).
// Tested by GrpoRunTests.
using System.Text.Json.Serialization;

namespace SharpSeek.Rl.Runs;

/// <summary>A GRPO step's metrics.</summary>
public sealed record RlRecord
{
    [JsonPropertyName("step")] public long Step { get; init; }
    [JsonPropertyName("reward_mean")] public double RewardMean { get; init; }
    [JsonPropertyName("reward_std")] public double RewardStd { get; init; }
    /// <summary>Mean and std of each reward function over the scorable samples, by name.</summary>
    [JsonPropertyName("rewards")] public Dictionary<string, double[]> Rewards { get; init; } = [];
    [JsonPropertyName("accuracy")] public double Accuracy { get; init; }
    [JsonPropertyName("format_rate")] public double FormatRate { get; init; }
    /// <summary>Share of the sampled groups whose rewards are all equal (with dynamic sampling, before they are dropped).</summary>
    [JsonPropertyName("zero_std_groups")] public double ZeroStdGroups { get; init; }
    /// <summary>Groups dynamic sampling dropped this step.</summary>
    [JsonPropertyName("dropped_groups")] public int DroppedGroups { get; init; }
    [JsonPropertyName("skipped_groups")] public int SkippedGroups { get; init; }
    [JsonPropertyName("unscorable")] public int Unscorable { get; init; }
    [JsonPropertyName("length_mean")] public double LengthMean { get; init; }
    [JsonPropertyName("length_min")] public int LengthMin { get; init; }
    [JsonPropertyName("length_max")] public int LengthMax { get; init; }
    /// <summary>Share of completions that hit max_new_tokens.</summary>
    [JsonPropertyName("truncated")] public double Truncated { get; init; }
    [JsonPropertyName("loss")] public double Loss { get; init; }
    [JsonPropertyName("kl")] public double Kl { get; init; }
    [JsonPropertyName("clip_low")] public double ClipLow { get; init; }
    [JsonPropertyName("clip_high")] public double ClipHigh { get; init; }
    [JsonPropertyName("max_ratio")] public double MaxRatio { get; init; }
    [JsonPropertyName("entropy")] public double Entropy { get; init; }
    [JsonPropertyName("grad_norm")] public double GradNorm { get; init; }
    /// <summary>Largest |log π_trainer − log π_rollout| over the first update's tokens (same weights: rounding only).</summary>
    [JsonPropertyName("logprob_mismatch")] public double LogProbMismatch { get; init; }
    [JsonPropertyName("lr")] public double Lr { get; init; }
    [JsonPropertyName("rollout_tokens_per_s")] public double RolloutTokensPerSecond { get; init; }
    [JsonPropertyName("train_tokens_per_s")] public double TrainTokensPerSecond { get; init; }
    [JsonPropertyName("rollout_s")] public double RolloutSeconds { get; init; }
    [JsonPropertyName("reward_s")] public double RewardSeconds { get; init; }
    [JsonPropertyName("train_s")] public double TrainSeconds { get; init; }
    [JsonPropertyName("skipped_update")] public bool SkippedUpdate { get; init; }
    [JsonPropertyName("elapsed_s")] public double ElapsedSeconds { get; init; }
}
