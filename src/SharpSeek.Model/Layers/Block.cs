// Block.cs: one pre-norm decoder layer (DeepSeek-V3 technical report §2.1; the same shape in Llama and Qwen2):
// h += attention(input_layernorm(h)); h += FFN(post_attention_layernorm(h)). The attention is MLA or GQA (IAttention),
// the FFN a dense SwiGLU (DeepSeek's first first_k_dense_replace layers, every dense-family layer) or a MoE. The MTP
// modules reuse it. With a KV cache (a no-gradient inference step) the attention runs over the cache and the FFN over its
// Linear views (Infer). Tested by TransformerTests, DenseFamilyTests and ModelRunnerTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
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

    /// <summary>h: (B, T, D) → (B, T, D); positions: I32 (B·T); an optional KV cache for a no-gradient decode step,
    /// which updates h's tensor in place and returns h.</summary>
    public Var Forward(Tape tape, Var h, RopeTables rope, Tensor positions, IAttentionCache? cache = null)
    {
        if (cache is not null) { return Cached(tape, h, rope, positions, cache); }
        h = AddOp.Apply(tape, h, Attention.Forward(tape, InputNorm.Forward(tape, h), rope, positions, cache));
        var normed = PostAttentionNorm.Forward(tape, h);
        return AddOp.Apply(tape, h, Moe is not null ? Moe.Forward(tape, normed) : Mlp!.Forward(tape, normed));
    }

    // The same layer in a cached step (gradients off): the FFN through its views (Infer), the norms by the kernel and the
    // residuals added into h's tensor in place, without the ops' bookkeeping (a decode step makes hundreds of such calls).
    private Var Cached(Tape tape, Var h, RopeTables rope, Tensor positions, IAttentionCache cache)
    {
        var x = tape.Value(h);
        var normed = tape.Arena.Allocate(DType.F32, x.Shape);                                    // (..., D), both norms' output
        var xs = x.AsSpan<float>();
        var ns = normed.AsSpan<float>();
        var rstd = tape.Arena.Allocate(DType.F32, new Shape(x.Shape.Rows)).AsSpan<float>();
        var n = tape.Constant(normed);
        InputNorm.Apply(xs, ns, rstd);
        Elementwise.Add<float>(xs, tape.Value(Attention.Forward(tape, n, rope, positions, cache)).AsSpan<float>(), xs);
        PostAttentionNorm.Apply(xs, ns, rstd);
        Elementwise.Add<float>(xs, tape.Value(Moe is not null ? Moe.Infer(tape, n) : Mlp!.Infer(tape, n)).AsSpan<float>(), xs);
        return h;
    }
}
