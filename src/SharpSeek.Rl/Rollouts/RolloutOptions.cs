// RolloutOptions.cs: how GRPO samples its groups: new tokens at most, temperature and nucleus, where a completion stops.
// Not here: the sampling itself (RolloutSampler). Tested by GrpoRunTests and EvalCommandTests.
namespace SharpSeek.Rl.Rollouts;

/// <summary>Sampling settings of the rollouts (temperature 1, no truncation: the policy's own distribution).</summary>
public sealed record RolloutOptions
{
    public int MaxNewTokens { get; init; } = 128;

    /// <summary>Sampling temperature (0: greedy, for evaluation); GRPO takes its log-probs at the same temperature.</summary>
    public double Temperature { get; init; } = 1.0;

    public double TopP { get; init; } = 1.0;

    /// <summary>Generation ends after the first occurrence (kept in the completion: the format reward reads it); the model's
    /// end-of-sequence token always ends it.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = ["</answer>"];

    /// <summary>Also keep the n most likely tokens at each position with their log-probs, at the sampling temperature
    /// (0: none; distillation's soft targets).</summary>
    public int TopLogProbs { get; init; }

    public void Validate()
    {
        if (MaxNewTokens < 1) { throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "a rollout needs at least 1 new token"); }
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) { throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "the temperature must be a finite number ≥ 0 (0: greedy)"); }
        if (!(TopP is > 0 and <= 1)) { throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "top-p must be in (0, 1]"); }
        if (TopLogProbs is < 0 or > Inference.Engine.GenerationRequest.MaxTopLogProbs)
        {
            throw new ArgumentOutOfRangeException(nameof(TopLogProbs), TopLogProbs, $"top log-probs must be in [0, {Inference.Engine.GenerationRequest.MaxTopLogProbs}]");
        }
    }
}
