// Block.cs: one pre-norm decoder layer (DeepSeek-V3 technical report §2.1; the same shape in Llama and Qwen2):
// h += attention(input_layernorm(h)); h += FFN(post_attention_layernorm(h)). The attention is MLA or GQA (IAttention),
// the FFN a dense SwiGLU (DeepSeek's first first_k_dense_replace layers, every dense-family layer) or a MoE
// (IFeedForward). Under FP8 training (Recompute) the attention sublayer and a dense feed-forward are regions recomputed
// in backward (RecomputeOp). The MTP modules reuse it. With a KV cache (a no-gradient inference step) the attention runs over
// the cache and the FFN over its Linear views (Infer). Tested by TransformerTests, DenseFamilyTests and ModelRunnerTests.
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

    /// <summary>The dense SwiGLU (layers before first_k_dense_replace, every dense-family layer) or the MoE.</summary>
    public required IFeedForward FeedForward { get; init; }

    /// <summary>The feed-forward when it is the dense SwiGLU, else null.</summary>
    public Mlp? Mlp => FeedForward as Mlp;

    /// <summary>The feed-forward when it is the MoE, else null.</summary>
    public Moe? Moe => FeedForward as Moe;

    /// <summary>h: (B, T, D) → (B, T, D); positions: I32 (B·T); an optional KV cache for a no-gradient decode step. The
    /// routing of a MoE block is discarded.</summary>
    public Var Forward(Tape tape, Var h, RopeTables rope, Tensor positions, IAttentionCache? cache = null) =>
        Forward(tape, h, rope, positions, cache, default, out _);

    /// <summary>The same, returning the feed-forward's routing and replaying <paramref name="replay"/> (see <see cref="IFeedForward"/>).</summary>
    public Var Forward(Tape tape, Var h, RopeTables rope, Tensor positions, IAttentionCache? cache, in MoeRouting replay, out MoeRouting routing)
    {
        if (cache is not null) { routing = default; return Cached(tape, h, rope, positions, cache); } // an inference step keeps no routing
        h = AddOp.Apply(tape, h, Recompute ? RecomputedAttention(tape, h, rope, positions) : Attention.Forward(tape, InputNorm.Forward(tape, h), rope, positions, cache));
        if (Recompute && Mlp is { } mlp)
        {
            routing = default;
            return AddOp.Apply(tape, h, RecomputedMlp(tape, h, mlp));
        }
        return AddOp.Apply(tape, h, FeedForward.Forward(tape, PostAttentionNorm.Forward(tape, h), replay, out routing));
    }

    /// <summary>Under FP8 training (ModelWeights.UsePrecision): the attention sublayer (its norm, projections, RoPE and
    /// attention) and a dense feed-forward with its norm are recomputed in backward from the block's residual stream,
    /// which the tape keeps anyway (RecomputeOp; the MoE recomputes its experts itself).</summary>
    public bool Recompute { get; set; }

    // The regions' closures live here, so that the plain path allocates nothing.
    private Var RecomputedAttention(Tape tape, Var h, RopeTables rope, Tensor positions) =>
        RecomputeOp.Apply(tape, h, new Var(-1), tape.Value(h).Shape, (t, x, _) => Attention.Forward(t, InputNorm.Forward(t, x), rope, positions, null));

    private Var RecomputedMlp(Tape tape, Var h, Mlp mlp) =>
        RecomputeOp.Apply(tape, h, new Var(-1), tape.Value(h).Shape, (t, x, _) => mlp.Forward(t, PostAttentionNorm.Forward(t, x)));

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
