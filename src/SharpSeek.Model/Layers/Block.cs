// Block.cs: one pre-norm decoder layer (DeepSeek-V3 technical report §2.1; the same shape in Llama and Qwen2):
// h += attention(input_layernorm(h)); h += FFN(post_attention_layernorm(h)). The attention is MLA or GQA (IAttention),
// the FFN a dense SwiGLU (DeepSeek's first first_k_dense_replace layers, every dense-family layer) or a MoE. The MTP
// modules reuse it. With a KV cache (a no-gradient inference step) the attention runs over the cache and the FFN over its
// Linear views (Infer). Tested by TransformerTests, DenseFamilyTests and ModelRunnerTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public sealed class Block
{
    /// <summary>The checkpoint layer index (MTP modules count on from num_hidden_layers).</summary>
    public required int Index { get; init; }

    public required RmsNorm InputNorm { get; init; }

    /// <summary>MLA (DeepSeek) or grouped-query attention (the dense families).</summary>
    public required IAttention Attention { get; init; }

    public required RmsNorm PostAttentionNorm { get; init; }

    /// <summary>The dense SwiGLU (layers before first_k_dense_replace), else null.</summary>
    public Mlp? Mlp { get; init; }

    /// <summary>The MoE (the other layers), else null.</summary>
    public Moe? Moe { get; init; }

    /// <summary>h: (B, T, D) → (B, T, D); positions: I32 (B·T); an optional KV cache for a no-gradient decode step.</summary>
    public Var Forward(Tape tape, Var h, RopeTables rope, Tensor positions, IAttentionCache? cache = null)
    {
        h = AddOp.Apply(tape, h, Attention.Forward(tape, InputNorm.Forward(tape, h), rope, positions, cache));
        var normed = PostAttentionNorm.Forward(tape, h);
        if (cache is not null) { return AddOp.Apply(tape, h, Moe is not null ? Moe.Infer(tape, normed) : Mlp!.Infer(tape, normed)); } // a cached step: the views
        return AddOp.Apply(tape, h, Moe is not null ? Moe.Forward(tape, normed) : Mlp!.Forward(tape, normed));
    }
}
