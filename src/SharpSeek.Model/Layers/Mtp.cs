// Mtp.cs: one multi-token-prediction module (DeepSeek-V3 technical report §2.2): x[i] = eh_proj([enorm(Emb(t_{i+k})), hnorm(h_prev[i])]) (embedding
// first, as the released weights and vllm-project/vllm:vllm/model_executor/models/deepseek_mtp.py), a full decoder block, shared_head.norm, then the shared output head. The embedding
// and head are the main model's. Not here: the MTP loss weight λ (training). Tested by TransformerTests and
// SpeculativeDecoderTests (the cached draft step).
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public sealed class Mtp
{
    public required RmsNorm EmbeddingNorm { get; init; }

    public required RmsNorm HiddenNorm { get; init; }

    /// <summary>eh_proj (D, 2D).</summary>
    public required Linear EhProj { get; init; }

    public required Block Block { get; init; }

    /// <summary>shared_head.norm (D).</summary>
    public required RmsNorm HeadNorm { get; init; }

    /// <summary>
    /// embedded: (B, T', D) embeddings of the tokens one step ahead; previous: (B, T', D) the hidden state they follow;
    /// positions: I32 (B·T'). Returns the block output (B, T', D), which feeds the next depth, and the normed output.
    /// With a cache (a no-gradient draft step) the block attends over the MTP cache layer and eh_proj reads its view.
    /// </summary>
    public (Var Hidden, Var Normed) Forward(Tape tape, Var embedded, Var previous, RopeTables rope, Tensor positions, IAttentionCache? cache = null) =>
        Forward(tape, embedded, previous, rope, positions, cache, default, out _);

    /// <summary>The same, returning the block's routing and replaying <paramref name="replay"/> (<see cref="Layers.Block.Forward(Tape, Var, RopeTables, Tensor, IAttentionCache?, in MoeRouting, out MoeRouting)"/>).</summary>
    public (Var Hidden, Var Normed) Forward(Tape tape, Var embedded, Var previous, RopeTables rope, Tensor positions, IAttentionCache? cache, in MoeRouting replay, out MoeRouting routing)
    {
        var joined = ConcatOp.Apply(tape, [EmbeddingNorm.Forward(tape, embedded), HiddenNorm.Forward(tape, previous)], -1); // (B, T', 2D)
        var hidden = Block.Forward(tape, cache is null ? EhProj.Forward(tape, joined) : EhProj.Infer(tape, joined), rope, positions, cache, replay, out routing);
        return (hidden, HeadNorm.Forward(tape, hidden));
    }
}
