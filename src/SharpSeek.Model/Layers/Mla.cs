// Mla.cs: Multi-head Latent Attention, the naive form (DeepSeek-V3 technical report §2.1.1; deepseek-ai/DeepSeek-V3:inference/model.py, attn_impl "naive"): queries through the low-rank q path (or q_proj), the
// joint KV latent c_kv and one shared rope key k_pe, per-head k_nope and v from kv_b_proj, RoPE (interleaved pairs) on
// q_pe and k_pe only, fused causal attention with scale d_qk^−0.5·mscale², o_proj. Not here: the absorbed form and the
// latent KV cache (inference). Tested by MlaTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public sealed class Mla : IAttention
{
    public required ModelConfig Config { get; init; }

    /// <summary>q_a_proj (c_q, D); null on the q_proj path.</summary>
    public Parameter? WqA { get; init; }

    /// <summary>q_a_layernorm (c_q), eps 1e-6.</summary>
    public RmsNorm? QNorm { get; init; }

    /// <summary>q_b_proj (H·d_qk, c_q).</summary>
    public Parameter? WqB { get; init; }

    /// <summary>q_proj (H·d_qk, D), only when q_lora_rank is null or 0.</summary>
    public Parameter? Wq { get; init; }

    /// <summary>kv_a_proj_with_mqa (c + d_r, D): rows [0, c) are c_kv, rows [c, c + d_r) the shared k_pe.</summary>
    public required Parameter WkvA { get; init; }

    /// <summary>kv_a_layernorm (c), eps 1e-6.</summary>
    public required RmsNorm KvNorm { get; init; }

    /// <summary>kv_b_proj (H·(d_n + d_v), c): per head d_n rows of k_nope then d_v rows of v.</summary>
    public required Parameter WkvB { get; init; }

    /// <summary>o_proj (D, H·d_v).</summary>
    public required Parameter Wo { get; init; }

    /// <summary>x: (B, T, D) normed input; positions: I32 (B·T) absolute positions; returns (B, T, D).</summary>
    public Var Forward(Tape tape, Var x, RopeTables rope, Tensor positions, IAttentionCache? cache = null)
    {
        if (cache is not null) { throw new NotSupportedException("MLA's cached forms (latent cache, absorbed attention) run in the inference runtime's ModelRunner"); }
        var c = Config;
        var xv = tape.Value(x);
        long b = xv.Size(0), t = xv.Size(1);
        int h = c.NumAttentionHeads, dn = c.QkNopeHeadDim, dr = c.QkRopeHeadDim, dv = c.VHeadDim, rank = c.KvLoraRank;

        // q: (B, T, H, d_qk) = [q_nope | q_pe] per head
        var q = WqA is not null ? Linear.Apply(tape, QNorm!.Forward(tape, Linear.Apply(tape, x, WqA)), WqB!) : Linear.Apply(tape, x, Wq!);
        q = ReshapeOp.Apply(tape, q, b, t, h, c.QkHeadDim);
        var query = RopeOp.Apply(tape, q, rope.Cos, rope.Sin, positions, leading: dn);    // (B, T, H, d_qk): q_nope as is, q_pe rotated

        // kv: (B, T, c + d_r) = [c_kv | k_pe]; one rotated k_pe per token, shared by every head
        var kv = Linear.Apply(tape, x, WkvA);
        var cKv = NarrowOp.Apply(tape, kv, -1, 0, rank);                                     // (B, T, c)
        var kPe = ReshapeOp.Apply(tape, NarrowOp.Apply(tape, kv, -1, rank, dr), b, t, 1, dr); // (B, T, 1, d_r)
        kPe = ExpandOp.Apply(tape, RopeOp.Apply(tape, kPe, rope.Cos, rope.Sin, positions), 2, h); // (B, T, H, d_r)

        // kvb: (B, T, H, d_n + d_v) = [k_nope | v] per head, from the normalized latent
        var kvb = ReshapeOp.Apply(tape, Linear.Apply(tape, KvNorm.Forward(tape, cKv), WkvB), b, t, h, dn + dv);
        var kNope = NarrowOp.Apply(tape, kvb, -1, 0, dn);                                    // (B, T, H, d_n)
        var v = NarrowOp.Apply(tape, kvb, -1, dn, dv);                                       // (B, T, H, d_v)

        var key = ConcatOp.Apply(tape, [kNope, kPe], -1);                                    // (B, T, H, d_qk)
        var o = AttentionOp.Apply(tape, query, key, v, RopeTables.SoftmaxScale(c));          // (B, T, H, d_v)
        return Linear.Apply(tape, ReshapeOp.Apply(tape, o, b, t, (long)h * dv), Wo);      // (B, T, D)
    }
}
