// PolicySequence.cs: one sampled sequence as the GRPO update sees it: prompt and completion ids, the rollout policy's
// log-prob of each completion token, its advantage, and (β > 0) the reference policy's log-probs. Not here: sampling
// (Rollouts), the update (GrpoUpdate). Tested by GrpoUpdateTests.
namespace SharpSeek.Rl.Grpo;

/// <summary>A prompt, the completion sampled for it and what the objective needs per completion token.</summary>
public sealed record PolicySequence
{
    public required int[] Prompt { get; init; }

    /// <summary>The sampled tokens (an end-of-sequence token included when the model emitted it).</summary>
    public required int[] Completion { get; init; }

    /// <summary>log π_old of each completion token, as the rollout computed it (same length as <see cref="Completion"/>).</summary>
    public required double[] OldLogProbs { get; init; }

    public double Advantage { get; init; }

    /// <summary>log π_ref of each completion token; filled by <see cref="GrpoUpdate.ScoreReference"/> when β &gt; 0.</summary>
    public double[]? ReferenceLogProbs { get; set; }

    /// <summary>Positions the model reads: the prompt and every completion token but the last.</summary>
    public int InputLength => Prompt.Length + Completion.Length - 1;
}
