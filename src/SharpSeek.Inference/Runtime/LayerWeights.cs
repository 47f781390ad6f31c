// LayerWeights.cs: the tape-free weights of one decoder layer (MLA, dense SwiGLU or MoE) and of one MTP module, as the
// runtime reads them: projections in the chosen format, norms and router in F32. Built by InferenceWeights.
// Tested by InferenceWeightsTests and ModelRunnerTests.
namespace SharpSeek.Inference.Runtime;

/// <summary>One RMSNorm: y = x·rsqrt(mean(x²) + eps)·w.</summary>
public sealed record NormWeights(float[] Weight, float Eps);

/// <summary>SwiGLU: down(silu(gate(x)) ⊙ up(x)).</summary>
public sealed record SwiGluWeights(Projection Gate, Projection Up, Projection Down);

/// <summary>The router (gate (E, D), correction bias (E) or null) and the experts of one MoE layer.</summary>
public sealed record MoeWeights(float[] GateWeight, float[]? CorrectionBias, SwiGluWeights[] Experts, SwiGluWeights? Shared);

/// <summary>
/// MLA: q_a_proj/q_a_layernorm/q_b_proj or q_proj, kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj.
/// <see cref="KvBDense"/> is kv_b_proj widened to f32, (H·(d_n + d_v), c): the absorbed path slices it per head
/// (W_UK: rows h·(d_n + d_v) .. + d_n, W_UV: the d_v rows after), slices that FP8 blocks of 128 rows do not align with.
/// </summary>
public sealed record AttentionWeights(
    Projection? QA, NormWeights? QNorm, Projection? QB, Projection? Q, Projection KvA, NormWeights KvNorm, Projection KvB, float[] KvBDense, Projection O);

/// <summary>A pre-norm decoder layer; exactly one of <see cref="Mlp"/> and <see cref="Moe"/> is set.</summary>
public sealed record LayerWeights(int Index, NormWeights InputNorm, AttentionWeights Attention, NormWeights PostAttentionNorm, SwiGluWeights? Mlp, MoeWeights? Moe);

/// <summary>An MTP module: enorm, hnorm, eh_proj (D, 2D), its decoder layer and shared_head.norm (embedding and head are the main ones).</summary>
public sealed record MtpWeights(NormWeights EmbeddingNorm, NormWeights HiddenNorm, Projection EhProj, LayerWeights Layer, NormWeights HeadNorm);
