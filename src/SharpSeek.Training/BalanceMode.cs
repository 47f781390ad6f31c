// BalanceMode.cs: which load-balancing scheme the objective uses. Not here: the losses (BalanceLoss), the bias rule
// (BiasUpdate). Tested by ObjectiveTests.
namespace SharpSeek.Training;

/// <summary>How routed-expert load is balanced during training.</summary>
public enum BalanceMode
{
    /// <summary>DeepSeek-V3: the correction bias moves after every step (BiasUpdate), plus the complementary
    /// sequence-wise balance loss with a tiny α (eq. 17–20).</summary>
    AuxLossFree,

    /// <summary>DeepSeek-V2: the expert-level auxiliary loss over the whole batch, no bias.</summary>
    V2AuxLoss,

    /// <summary>No balance loss (the reference's training loss).</summary>
    None,
}
