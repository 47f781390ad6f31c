// ParameterComponent.cs: the buckets of the parameter breakdown. Not here: the counting (ParameterShapes.cs). Tested by ParameterShapesTests.
namespace SharpSeek.Model;

/// <summary>Which part of the model a tensor belongs to, for the per-component parameter breakdown.</summary>
public enum ParameterComponent
{
    /// <summary><c>embed_tokens</c> (also the MTP copy).</summary>
    Embedding,

    /// <summary>MLA projections and the two latent norms (q_a_layernorm, kv_a_layernorm).</summary>
    Attention,

    /// <summary>SwiGLU MLP of the first first_k_dense_replace layers.</summary>
    DenseMlp,

    RoutedExperts,

    SharedExperts,

    /// <summary>The gate centroids <c>mlp.gate.weight</c> and the F32 <c>e_score_correction_bias</c>.</summary>
    Router,

    /// <summary>input_layernorm, post_attention_layernorm, model.norm and the MTP enorm/hnorm/shared_head.norm.</summary>
    Norms,

    /// <summary><c>lm_head</c> (also the MTP copy <c>shared_head.head</c>).</summary>
    Head,

    /// <summary>The MTP projection <c>eh_proj</c> [d, 2d].</summary>
    MtpProjection,
}
