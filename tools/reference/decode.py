"""decode.py: the PyTorch reference's cached generation, the comparison for `sharpseek bench infer`.

MLA in the absorbed form with the latent cache, as the official inference/model.py does by default (attn_impl "absorb"; DeepSeek-V2 paper §2.1.2–2.1.3):
per layer the cache holds kv_norm(c_kv) (B, S, c) and the rotated shared rope key (B, S, d_r); W_UK is folded into
the query and W_UV applied after attention. A forward at start_pos appends T tokens to the cache and returns the
logits of every new position. Everything else (gate, MoE, MLP, norms, RoPE) is model.py's.
Not here: MTP drafting, sampling beyond greedy (the benchmark times greedy decoding).

    /usr/bin/python3 tools/reference/decode.py --model DIR --tokens 1,2,3 --new 8      # greedy ids as JSON
    /usr/bin/python3 tools/reference/decode.py --model DIR --tokens 1,2,3 --new 8 --check  # cached == recompute
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as ref  # noqa: E402


class Cache:
    """The absorbed-MLA cache of every main layer: latent (B, S, c) and rope key (B, S, d_r)."""

    def __init__(self, cfg, batch, max_len, dtype):
        self.kv = [torch.zeros(batch, max_len, cfg.kv_lora_rank, dtype=dtype) for _ in range(cfg.num_hidden_layers)]
        self.pe = [torch.zeros(batch, max_len, cfg.qk_rope_head_dim, dtype=dtype) for _ in range(cfg.num_hidden_layers)]
        self.max_len = max_len


def mla_absorbed(cfg, w, prefix, layer, x, start, cos, sin, cache):
    """x: (B, T, D) normed input at positions start .. start + T - 1 -> (B, T, D); appends to the cache."""
    B, T, _ = x.shape
    H, dn, dr, dv, c = (cfg.num_attention_heads, cfg.qk_nope_head_dim, cfg.qk_rope_head_dim, cfg.v_head_dim,
                        cfg.kv_lora_rank)
    if cfg.q_lora_rank:
        q = ref.linear(ref.rms_norm(ref.linear(x, w[prefix + "q_a_proj.weight"]), w[prefix + "q_a_layernorm.weight"],
                                    ref.LATENT_NORM_EPS), w[prefix + "q_b_proj.weight"])
    else:
        q = ref.linear(x, w[prefix + "q_proj.weight"])
    q = q.view(B, T, H, dn + dr)
    q_nope, q_pe = q[..., :dn], ref.rope_interleaved(q[..., dn:], cos, sin)
    kv = ref.linear(x, w[prefix + "kv_a_proj_with_mqa.weight"])
    c_kv = ref.rms_norm(kv[..., :c], w[prefix + "kv_a_layernorm.weight"], ref.LATENT_NORM_EPS)
    k_pe = ref.rope_interleaved(kv[..., c:].unsqueeze(2), cos, sin).squeeze(2)
    end = start + T
    cache.kv[layer][:B, start:end] = c_kv
    cache.pe[layer][:B, start:end] = k_pe
    wkv_b = w[prefix + "kv_b_proj.weight"].view(H, dn + dv, c)
    q_lat = torch.einsum("bshd,hdc->bshc", q_nope, wkv_b[:, :dn])  # (B, T, H, c)
    kv_all, pe_all = cache.kv[layer][:B, :end], cache.pe[layer][:B, :end]
    scores = (torch.einsum("bshc,btc->bsht", q_lat, kv_all) +
              torch.einsum("bshr,btr->bsht", q_pe, pe_all)) * cfg.softmax_scale()  # (B, T, H, start + T)
    if T > 1:
        mask = torch.full((T, end), float("-inf"), dtype=scores.dtype).triu(start + 1)  # -inf where t > start + s
        scores = scores + mask[None, :, None, :]
    p = torch.softmax(scores, dim=-1)
    o = torch.einsum("bsht,btc->bshc", p, kv_all)
    o = torch.einsum("bshc,hdc->bshd", o, wkv_b[:, dn:])  # (B, T, H, d_v)
    return ref.linear(o.reshape(B, T, H * dv), w[prefix + "o_proj.weight"])


def forward_cached(cfg, w, tokens, start, cache, cos_all, sin_all, last_only=False):
    """tokens: (B, T) at positions start .. -> logits (B, T, V), or (B, V) of the last position."""
    B, T = tokens.shape
    if start + T > cache.max_len:
        raise ValueError(f"positions {start} .. {start + T - 1} exceed the cache's {cache.max_len}")
    cos, sin = cos_all[start:start + T], sin_all[start:start + T]
    h = w["model.embed_tokens.weight"][tokens]
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        h = h + mla_absorbed(cfg, w, p + "self_attn.", i, ref.rms_norm(h, w[p + "input_layernorm.weight"],
                                                                         cfg.rms_norm_eps), start, cos, sin, cache)
        n = ref.rms_norm(h, w[p + "post_attention_layernorm.weight"], cfg.rms_norm_eps)
        h = h + (ref.moe(cfg, w, p + "mlp.", n) if cfg.is_moe_layer(i) else ref.swiglu(n, w, p + "mlp."))
    if last_only:
        h = h[:, -1:]
    logits = ref.linear(ref.rms_norm(h, w["model.norm.weight"], cfg.rms_norm_eps), w["lm_head.weight"])
    return logits[:, -1] if last_only else logits


def greedy(cfg, w, prompts, new_tokens, dtype=torch.float32):
    """prompts: (B, P) int64, equal lengths -> (B, new_tokens) greedy ids, one prefill then one token per step."""
    B, P = prompts.shape
    cache = Cache(cfg, B, P + new_tokens, dtype)
    cos, sin = ref.rope_cos_sin(cfg, P + new_tokens, dtype)
    out = []
    with torch.no_grad():
        nxt = forward_cached(cfg, w, prompts, 0, cache, cos, sin, last_only=True).argmax(-1)
        out.append(nxt)
        for step in range(1, new_tokens):
            nxt = forward_cached(cfg, w, nxt[:, None], P + step - 1, cache, cos, sin, last_only=True).argmax(-1)
            out.append(nxt)
    return torch.stack(out, dim=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="HF-format model directory")
    parser.add_argument("--tokens", required=True, help="prompt ids, comma-separated")
    parser.add_argument("--new", type=int, default=8, help="new tokens to generate")
    parser.add_argument("--check", action="store_true", help="compare every step with the uncached forward")
    args = parser.parse_args()
    cfg, w = ref.load(args.model, torch.float64 if args.check else torch.float32)
    prompt = torch.tensor([[int(t) for t in args.tokens.split(",")]])
    ids = greedy(cfg, w, prompt, args.new, dtype=w["model.embed_tokens.weight"].dtype)
    if args.check:
        full = torch.cat((prompt, ids), dim=1)
        with torch.no_grad():
            expect = ref.forward(cfg, w, full[:, :-1])["logits"][:, prompt.shape[1] - 1:].argmax(-1)
        if not torch.equal(expect, ids):
            raise SystemExit(f"cached greedy ids {ids.tolist()} differ from recompute {expect.tolist()}")
        cache = Cache(cfg, 1, full.shape[1], torch.float64)
        cos, sin = ref.rope_cos_sin(cfg, full.shape[1], torch.float64)
        with torch.no_grad():
            a = torch.cat((forward_cached(cfg, w, full[:, :3], 0, cache, cos, sin),
                           forward_cached(cfg, w, full[:, 3:], 3, cache, cos, sin)), dim=1)
            b = ref.forward(cfg, w, full)["logits"]
        diff = float((a - b).abs().max())
        if diff > 1e-9:
            raise SystemExit(f"cached logits differ from recompute by {diff}")
        print(f"check ok: cached greedy == recompute, chunked logits max |diff| {diff:.2e}", file=sys.stderr)
    print(json.dumps({"tokens": ids[0].tolist()}))


if __name__ == "__main__":
    main()
