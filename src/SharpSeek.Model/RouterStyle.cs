// RouterStyle.cs: which MoE router a config asks for. Not here: the router itself (Layers/Gate.cs). Tested by ModelConfigTests.
namespace SharpSeek.Model;

/// <summary>The two routing and balancing schemes a config can select, derived from <c>topk_method</c>.</summary>
public enum RouterStyle
{
    /// <summary>DeepSeek-V3: <c>topk_method: noaux_tc</c>, sigmoid scores, selection by score + <c>e_score_correction_bias</c>
    /// (aux-loss-free balancing, bias updated outside the gradient), group score = sum of the top-2 scores per group.</summary>
    DeepSeekV3,

    /// <summary>DeepSeek-V2: <c>topk_method: greedy</c> or <c>group_limited_greedy</c>, softmax scores, no correction bias,
    /// expert-level auxiliary balance loss weighted by <c>aux_loss_alpha</c>; group score = max score per group.</summary>
    DeepSeekV2,
}
