// Gqa.cs: grouped-query attention as Hugging Face's Qwen2 and Llama run it (`huggingface/transformers:src/transformers/
// models/llama/modeling_llama.py`, LlamaAttention; qwen2 the same with q/k/v bias): q, k, v projections (bias where the
// family has it), rotate-half RoPE on q and k over the whole head, every group of H/H_kv query heads sharing one k/v head
// (repeat_kv: query head h reads kv head h / (H/H_kv)), causal softmax attention with scale head_dim^−0.5, o_proj.
// MHA (H_kv = H) and MQA (H_kv = 1) are its edge cases. With an IAttentionCache (gradients off) the projections run on
// their Linear views (F32 in place, BF16 or FP8) and feed the runtime's cache, which attends each row over its own
// sequence. Not here: the cache itself (the inference runtime). Tested by DenseFamilyTests, DenseReferenceTests and
// DenseRunnerTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public sealed class Gqa : IAttention
{
    public required ModelConfig Config { get; init; }

    /// <summary>The checkpoint layer index: which cache layer this attention reads and writes.</summary>
    public required int Layer { get; init; }

    /// <summary>q_proj (H·d, D).</summary>
    public required Linear Q { get; init; }

    /// <summary>k_proj (H_kv·d, D).</summary>
    public required Linear K { get; init; }

    /// <summary>v_proj (H_kv·d, D).</summary>
    public required Linear V { get; init; }

    /// <summary>o_proj (D, H·d).</summary>
    public required Linear O { get; init; }

    public Var Forward(Tape tape, Var x, RopeTables rope, Tensor positions, IAttentionCache? cache = null)
    {
        var c = Config;
        var xv = tape.Value(x);
        long b = xv.Size(0), t = xv.Size(1);
        int h = c.NumAttentionHeads, hkv = c.NumKeyValueHeads, d = c.AttentionHeadDim;

        Var Project(Linear linear) => cache is null ? linear.Forward(tape, x) : linear.Infer(tape, x);   // a cached step reads the views
        var q = ReshapeOp.Apply(tape, Project(Q), b, t, h, d);                                         // (B, T, H, d)
        var k = ReshapeOp.Apply(tape, Project(K), b, t, hkv, d);                                       // (B, T, H_kv, d)
        var v = ReshapeOp.Apply(tape, Project(V), b, t, hkv, d);                                       // (B, T, H_kv, d)
        q = RopeOp.Apply(tape, q, rope.Cos, rope.Sin, positions, layout: RopeLayout.Half);
        k = RopeOp.Apply(tape, k, rope.Cos, rope.Sin, positions, layout: RopeLayout.Half);
        if (cache is not null) { return O.Infer(tape, ReshapeOp.Apply(tape, Cached(tape, cache, q, k, v, b * t, h, hkv, d), b, t, (long)h * d)); }
        k = RepeatKv(tape, k, b, t, hkv, h / hkv, d);                                                 // (B, T, H, d)
        v = RepeatKv(tape, v, b, t, hkv, h / hkv, d);
        var o = AttentionOp.Apply(tape, q, k, v, 1.0 / Math.Sqrt(d));                                 // (B, T, H, d)
        return O.Forward(tape, ReshapeOp.Apply(tape, o, b, t, (long)h * d));                         // (B, T, D)
    }

    // The cache stores k, v and attends; the output is a constant to the tape (a cached step computes no gradients).
    private Var Cached(Tape tape, IAttentionCache cache, Var q, Var k, Var v, long rows, int h, int hkv, int d)
    {
        if (tape.GradEnabled) { throw new InvalidOperationException("a forward over a KV cache computes no gradients; set tape.GradEnabled = false"); }
        var o = tape.Arena.Allocate(DType.F32, new Shape(rows, h, d));                                 // (R, H, d)
        cache.Attend(Layer, tape.Value(q).AsSpan<float>(), tape.Value(k).AsSpan<float>(), tape.Value(v).AsSpan<float>(), h, hkv, d,
            (float)(1.0 / Math.Sqrt(d)), o.AsSpan<float>());
        return tape.Constant(o);
    }

    // (B, T, H_kv, d) → (B, T, H_kv·G, d), kv head j serving query heads j·G .. j·G + G − 1 (HF's repeat_kv order).
    private static Var RepeatKv(Tape tape, Var x, long b, long t, int hkv, int groups, int d)
    {
        if (groups == 1) { return x; }
        var expanded = ExpandOp.Apply(tape, ReshapeOp.Apply(tape, x, b, t, hkv, 1, d), 3, groups);     // (B, T, H_kv, G, d)
        return ReshapeOp.Apply(tape, expanded, b, t, (long)hkv * groups, d);
    }
}
