// Transformer.cs: the forward on the tape, top to bottom like gpt2_forward (DeepSeek-V3 technical report §2.1, §2.2): embedding, the
// decoder blocks (MLA or GQA), the final norm and the head (tied to the embedding when the config says so), then the MTP modules. Training, `sharpseek forward` and the runtime tests' uncached reference use it; the inference
// runtime (SharpSeek.Inference/Runtime) runs the same layer objects over its KV cache with gradients off. Not here:
// the losses, the KV cache (a forward at startPos > 0 rotates by the absolute positions but attends only to its own
// tokens). A forward returns what the objective reads (ForwardResult: logits, MTP logits, each MoE layer's routing) and
// leaves no state in the layers; into a reused result it allocates nothing on the GC heap after warm-up. Tested by
// TransformerTests, GoldenReferenceTests and DeepSeekTrainingStepAllocationTests.
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model;

/// <summary>The model: weights plus the RoPE tables for positions 0 .. MaxPositions − 1.</summary>
public sealed class Transformer : IDisposable
{
    private readonly Arena _constants = new("rope");

    public Transformer(ModelWeights weights, int? maxPositions = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        weights.EnsureMasters("the forward on the tape (training, `sharpseek forward`)");
        Weights = weights;
        Rope = new RopeTables(weights.Config, maxPositions ?? weights.Config.MaxPositionEmbeddings, weights.DType, _constants);
    }

    public ModelWeights Weights { get; }

    public RopeTables Rope { get; }

    public ModelConfig Config => Weights.Config;

    /// <summary>
    /// tokens: I32 (B, T) at positions startPos .. startPos + T − 1. Returns the logits (B, T, V) and, when the config has
    /// an MTP module and T ≥ 2, the depth-1 MTP logits (B, T − 1, V): row i predicts token i + 2. The routing is discarded.
    /// </summary>
    public (Var Logits, Var? MtpLogits) Forward(Tape tape, Tensor tokens, int startPos = 0)
    {
        var result = Forward(tape, tokens, new ForwardResult(), startPos);
        return (result.Logits, result.MtpLogits.Length > 0 ? result.MtpLogits[0] : null);
    }

    /// <summary>
    /// The same, written into <paramref name="result"/> (which it returns): the logits, the logits of every MTP depth k
    /// (B, T − k, V) for k ≤ min(MTP modules, T − 1), and the routing of every MoE layer. With <paramref name="replay"/>
    /// (an earlier forward's result over tokens of the same shape, its tape not yet reset), each MoE layer sends the
    /// tokens to the experts it chose there. With <paramref name="mtp"/> false the MTP modules do not run (a caller that
    /// reads the main head only: evaluation, a policy's log-probs). Reusing <paramref name="result"/>, a forward
    /// allocates nothing.
    /// </summary>
    public ForwardResult Forward(Tape tape, Tensor tokens, ForwardResult result, int startPos = 0, ForwardResult? replay = null, bool mtp = true)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (ReferenceEquals(result, replay)) { throw new ArgumentException("replay must be an earlier result, not the one this forward writes", nameof(replay)); }
        if (tokens.DType != DType.I32 || tokens.Rank != 2)
        {
            throw new ArgumentException($"tokens must be I32 (B, T); got {tokens.DType} {tokens.Shape}", nameof(tokens));
        }
        int b = (int)tokens.Size(0), t = (int)tokens.Size(1);
        if (startPos < 0 || startPos + t > Rope.MaxPositions)
        {
            throw new ArgumentOutOfRangeException(nameof(startPos), $"positions {startPos} .. {startPos + t - 1} exceed the {Rope.MaxPositions} rope positions");
        }
        CheckTokens(tokens.AsSpan<int>(), Config.VocabSize);
        var w = Weights;
        var depths = mtp ? Math.Max(0, Math.Min(w.Mtp.Count, t - 1)) : 0;
        result.Start(tape, Config, b, t, depths, w.Layers.Count + depths);

        var embedded = EmbeddingOp.Apply(tape, w.Embedding.Bind(tape), tokens);  // (B, T, D)
        var positions = Positions(tape, b, t, startPos);
        var h = embedded;
        for (var i = 0; i < w.Layers.Count; i++) // no enumerator: a step allocates nothing
        {
            var block = w.Layers[i];
            h = block.Forward(tape, h, Rope, positions, null, Replayed(replay, block), out var routing);
            result.AddRouting(routing);
        }
        var normed = w.FinalNorm.Forward(tape, h);                                // (B, T, D)
        result.Logits = w.Head.Forward(tape, normed);                            // (B, T, V)

        // MTP depth k: x[i] from the embedding of token i + k and the previous depth's state at i, i < T − k.
        var previous = normed;
        for (var k = 1; k <= depths; k++)
        {
            var rows = t - k;
            var ahead = NarrowOp.Apply(tape, embedded, 1, k, rows);              // (B, T − k, D)
            var state = NarrowOp.Apply(tape, previous, 1, 0, rows);               // (B, T − k, D)
            var module = w.Mtp[k - 1];
            var (hidden, headIn) = module.Forward(tape, ahead, state, Rope, Positions(tape, b, rows, startPos), null, Replayed(replay, module.Block), out var routing);
            result.AddRouting(routing);
            result.AddMtp(w.Head.Forward(tape, headIn));                            // (B, T − k, V)
            previous = hidden;
        }
        return result;
    }

    public void Dispose() => _constants.Dispose();

    // The routing a MoE block replays: replay's for its layer, or none.
    private static MoeRouting Replayed(ForwardResult? replay, Block block) =>
        replay is not null && block.Moe is not null ? replay.RoutingOf(block.Index) : default;

    private static Tensor Positions(Tape tape, int b, int t, int startPos)
    {
        var positions = tape.Arena.Allocate(DType.I32, new Shape((long)b * t));
        var p = positions.AsSpan<int>();
        for (var i = 0; i < p.Length; i++) { p[i] = startPos + i % t; }
        return positions;
    }

    private static void CheckTokens(ReadOnlySpan<int> ids, int vocab)
    {
        for (var i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)vocab) { throw new ArgumentOutOfRangeException(nameof(ids), $"token {i} is {ids[i]}, outside the vocabulary [0, {vocab})"); }
        }
    }
}
