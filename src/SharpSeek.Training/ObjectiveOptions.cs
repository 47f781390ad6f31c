// ObjectiveOptions.cs: the weights of the training objective's terms (DeepSeek-V3 technical report §2.1.2, §2.2; values in §4.2). Not here: the computation
// (Objective). Tested by ObjectiveTests.
namespace SharpSeek.Training;

/// <summary>Loss weights. Defaults are the paper's (λ 0.3, α 1e-4, γ 1e-3).</summary>
public sealed record ObjectiveOptions
{
    /// <summary>λ: the MTP loss enters as (λ/D)·Σ_k CE_k.</summary>
    public double MtpWeight { get; init; } = 0.3;

    /// <summary>α of the complementary sequence-wise balance loss (AuxLossFree only).</summary>
    public double SequenceBalanceAlpha { get; init; } = 1e-4;

    /// <summary>γ of the bias rule (read by the trainer, which calls BiasUpdate.Apply after each step).</summary>
    public double BiasUpdateSpeed { get; init; } = 1e-3;

    /// <summary>α of the V2 expert-level auxiliary loss (V2AuxLoss only).</summary>
    public double V2AuxAlpha { get; init; } = 1e-3;

    public BalanceMode Balance { get; init; } = BalanceMode.AuxLossFree;

    /// <summary>When false the MTP modules add no loss (and no balance loss).</summary>
    public bool UseMtp { get; init; } = true;

    /// <summary>A target equal to this is left out of every mean.</summary>
    public int IgnoreIndex { get; init; } = Data.TokenShard.IgnoredTarget;
}
