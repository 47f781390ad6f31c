"""sanity.py: property checks of the reference itself, each of which fails if the property is broken.

Causality (logits at t unchanged when later tokens change), MTP row i reading t[i+1], interleaved RoPE against
OFF's complex multiply, interleaved RoPE against rotate_half on permuted weights (HF apply_rotary_pos_emb_interleave), absorbed MLA
against naive MLA (OFF attn_impl), the gate against a per-token loop, V3's YaRN numbers (DeepSeek-V3 technical report
§4.3), the E4M3/BF16 codecs, finite differences against the stored gradients, a float32 forward against the float64 goldens, the split
norm eps, and the checkpoint names against tests/data/tiny.parameters.approved.txt.
Dense family (dense.py): causality, GQA against plain per-head MHA on expanded weights, rotate_half against a
complex rotation, llama3 bands against a per-element loop (and factor 1 = default RoPE, Llama-3.1-8B's band counts),
the traps a port can fall into (sliding window, q/k/v bias, bias after RoPE, eps, llama3 off), float32 and HF-style
float32 cos/sin against the goldens, the greedy continuation against one teacher-forced forward, and finite
differences against the dense gradients.
Not here: golden reproduction (check.py). Run: /usr/bin/python3 tools/reference/sanity.py
"""

import json
import math
import os
import sys

sys.dont_write_bytecode = True

import numpy as np  # noqa: E402
import torch  # noqa: E402

import dense as dn  # noqa: E402
import make_golden as mg  # noqa: E402
import model as ref  # noqa: E402
import safetensors_io as st  # noqa: E402

DATA = mg.DEFAULT_OUT
REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def ok(label, value, tol):
    print(f"  {label}: {value:.3g} (<= {tol:g})")
    if not value <= tol:
        raise AssertionError(f"{label}: {value:.3g} > {tol:g}")


def differs(label, value, floor):
    print(f"  {label}: {value:.3g} (>= {floor:g})")
    if not value >= floor:
        raise AssertionError(f"{label}: {value:.3g} < {floor:g}; the check cannot tell the cases apart")


def variant(name):
    cfg, w = ref.load(os.path.join(DATA, name), torch.float64)
    with open(os.path.join(DATA, name, "tokens.json"), encoding="utf-8") as f:
        tokens = torch.tensor([json.load(f)])
    return cfg, w, tokens


def check_causal_and_mtp():
    print("causality and MTP inputs (qlora_f32)")
    cfg, w, tokens = variant("qlora_f32")
    base = ref.forward(cfg, w, tokens)
    j = 7
    changed = tokens.clone()
    changed[0, j] = (changed[0, j] + 5) % cfg.vocab_size
    out = ref.forward(cfg, w, changed)
    ok("logits at t < 7 after changing t[7]", (out["logits"][0, :j] - base["logits"][0, :j]).abs().max().item(), 1e-12)
    differs("logits at t = 7 after changing t[7]", (out["logits"][0, j] - base["logits"][0, j]).abs().max().item(),
            1e-3)
    # MTP row i reads t[0..i+1]: rows < j-1 cannot see t[j]; row j-1 sees it through emb(t[i+1]).
    m0, m1 = base["mtp_logits"][0][0], out["mtp_logits"][0][0]
    ok("mtp rows i < 6 after changing t[7]", (m1[:j - 1] - m0[:j - 1]).abs().max().item(), 1e-12)
    differs("mtp row 6 after changing t[7] (= t[i+1])", (m1[j - 1] - m0[j - 1]).abs().max().item(), 1e-3)
    # and the MTP row is not just the trunk's: it changes with t[i+1] while the trunk logits at i do not
    differs("mtp row 6 vs trunk position 6 (different predictions)",
            (m0[j - 1] - base["logits"][0, j - 1]).abs().max().item(), 1e-3)


def rope_complex(x, cfg, T):
    # OFF apply_rotary_emb: view adjacent pairs as complex numbers, multiply by polar(1, pos * inv_freq)
    angle = torch.outer(torch.arange(T, dtype=torch.float32), ref.rope_inv_freq(cfg)).double()
    freqs_cis = torch.polar(torch.ones_like(angle), angle)
    xc = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2).contiguous())
    return torch.view_as_real(xc * freqs_cis[None, :, None, :]).flatten(-2)


def permute_rope_rows(cfg, w):
    """new_row[j] = old_row[perm[j]], perm = [0, 2, 4, ..., 1, 3, 5, ...], on every head's rope rows of
    q_b_proj/q_proj and rows c .. c+d_r-1 of kv_a_proj_with_mqa (the de-interleave of HF apply_rotary_pos_emb_interleave)."""
    dr, dn, H, c = cfg.qk_rope_head_dim, cfg.qk_nope_head_dim, cfg.num_attention_heads, cfg.kv_lora_rank
    perm = torch.cat((torch.arange(0, dr, 2), torch.arange(1, dr, 2)))
    out = dict(w)
    for name, value in w.items():
        if name.endswith(("q_b_proj.weight", "q_proj.weight")):
            v = value.view(H, dn + dr, -1).clone()
            v[:, dn:] = v[:, dn:][:, perm]
            out[name] = v.view_as(value)
        elif name.endswith("kv_a_proj_with_mqa.weight"):
            v = value.clone()
            v[c:] = value[c:][perm]
            out[name] = v
    return out


def check_rope():
    print("RoPE layouts (yarn_f32)")
    cfg, w, tokens = variant("yarn_f32")
    T = tokens.shape[1]
    g = torch.Generator().manual_seed(3)
    x = torch.randn((2, T, 3, cfg.qk_rope_head_dim), generator=g, dtype=torch.float64)
    cos, sin = ref.rope_cos_sin(cfg, T, torch.float64)
    ok("interleaved pairs vs OFF complex multiply", (ref.rope_interleaved(x, cos, sin) - rope_complex(x, cfg, T))
       .abs().max().item(), 1e-15)
    base = ref.forward(cfg, w, tokens)
    half = ref.forward(cfg, permute_rope_rows(cfg, w), tokens, rope=ref.rope_half)
    ok("logits: rotate_half on permuted weights vs interleaved", (half["logits"] - base["logits"]).abs().max().item(),
       1e-12)
    ok("mtp logits: rotate_half on permuted weights vs interleaved",
       (half["mtp_logits"][0] - base["mtp_logits"][0]).abs().max().item(), 1e-12)
    wrong = ref.forward(cfg, w, tokens, rope=ref.rope_half)
    differs("logits: rotate_half on unpermuted weights (wrong)", (wrong["logits"] - base["logits"]).abs().max().item(),
            1e-3)


def mla_absorbed(cfg, w, prefix, x, cos, sin):
    """OFF attn_impl = "absorb": W_UK folded into q, W_UV applied after attention, cache = normed latent + k_pe."""
    B, T, _ = x.shape
    H, dn, dr, dv, c = (cfg.num_attention_heads, cfg.qk_nope_head_dim, cfg.qk_rope_head_dim, cfg.v_head_dim,
                        cfg.kv_lora_rank)
    if cfg.q_lora_rank:
        q = ref.linear(ref.rms_norm(ref.linear(x, w[prefix + "q_a_proj.weight"]), w[prefix + "q_a_layernorm.weight"],
                                    1e-6), w[prefix + "q_b_proj.weight"])
    else:
        q = ref.linear(x, w[prefix + "q_proj.weight"])
    q = q.view(B, T, H, dn + dr)
    q_nope, q_pe = q[..., :dn], ref.rope_interleaved(q[..., dn:], cos, sin)
    kv = ref.linear(x, w[prefix + "kv_a_proj_with_mqa.weight"])
    latent = ref.rms_norm(kv[..., :c], w[prefix + "kv_a_layernorm.weight"], 1e-6)  # (B, T, c)
    k_pe = ref.rope_interleaved(kv[..., c:].unsqueeze(2), cos, sin).squeeze(2)  # (B, T, d_r)
    wkv_b = w[prefix + "kv_b_proj.weight"].view(H, dn + dv, c)
    q_lat = torch.einsum("bshd,hdc->bshc", q_nope, wkv_b[:, :dn])
    scores = (torch.einsum("bshc,btc->bsht", q_lat, latent) + torch.einsum("bshr,btr->bsht", q_pe, k_pe)) \
        * cfg.softmax_scale()
    scores = scores + torch.full((T, T), float("-inf"), dtype=scores.dtype).triu(1)[None, :, None, :]
    o_lat = torch.einsum("bsht,btc->bshc", torch.softmax(scores, dim=-1), latent)
    o = torch.einsum("bshc,hdc->bshd", o_lat, wkv_b[:, dn:])
    return ref.linear(o.reshape(B, T, H * dv), w[prefix + "o_proj.weight"])


def check_mla_absorbed():
    print("MLA absorbed vs naive")
    for name in ("qlora_f32", "qproj_f32", "yarn_f32"):
        cfg, w, tokens = variant(name)
        T = tokens.shape[1]
        g = torch.Generator().manual_seed(5)
        x = torch.randn((2, T, cfg.hidden_size), generator=g, dtype=torch.float64)
        cos, sin = ref.rope_cos_sin(cfg, T, torch.float64)
        p = "model.layers.1.self_attn."
        ok(f"{name} layer 1", (ref.mla(cfg, w, p, x, cos, sin) - mla_absorbed(cfg, w, p, x, cos, sin))
           .abs().max().item(), 1e-12)


def gate_loop(cfg, weight, bias, u):
    """The gate one token at a time with Python lists (OFF Gate.forward), an independent transcription."""
    E, G, K = cfg.n_routed_experts, cfg.n_group, cfg.num_experts_per_tok
    per = E // G
    out_w, out_i = [], []
    for n in range(u.shape[0]):
        logits = [float(u[n] @ weight[e]) for e in range(E)]
        if cfg.scoring_func == "sigmoid":
            s = [1 / (1 + math.exp(-z)) for z in logits]
        else:
            mx = max(logits)
            ex = [math.exp(z - mx) for z in logits]
            s = [v / sum(ex) for v in ex]
        b = s if bias is None else [s[e] + float(bias[e]) for e in range(E)]
        gs = []
        for gi in range(G):
            vals = sorted(b[gi * per:(gi + 1) * per], reverse=True)
            gs.append(vals[0] if bias is None else vals[0] + vals[1])
        keep = sorted(range(G), key=lambda gi: -gs[gi])[:cfg.topk_group]
        allowed = [e for e in range(E) if e // per in keep]
        chosen = sorted(allowed, key=lambda e: -b[e])[:K]
        wts = [s[e] for e in chosen]
        if cfg.norm_topk_prob:
            total = sum(wts)
            wts = [v / total for v in wts]
        out_w.append([v * cfg.routed_scaling_factor for v in wts])
        out_i.append(chosen)
    return torch.tensor(out_w, dtype=torch.float64), torch.tensor(out_i)


def check_gate():
    print("gate vs per-token loop")
    for name in ("bias_f32", "grouped_softmax_f32"):
        cfg, w, _ = variant(name)
        g = torch.Generator().manual_seed(9)
        u = torch.randn((13, cfg.hidden_size), generator=g, dtype=torch.float64)
        p = "model.layers.1.mlp."
        bias = w.get(p + "gate.e_score_correction_bias")
        wts, idx = ref.gate(cfg, w[p + "gate.weight"], bias, u)
        lw, li = gate_loop(cfg, w[p + "gate.weight"], bias, u)
        assert torch.equal(idx, li), f"{name}: expert choice differs from the loop"
        ok(f"{name} weights (indices identical)", (wts - lw).abs().max().item(), 1e-14)


def check_v3_numbers():
    print("V3 YaRN numbers (configs/config_671B.json)")
    with open(os.path.join(REPO, "configs", "config_671B.json"), encoding="utf-8") as f:
        cfg = ref.Config(json.load(f))
    ok("softmax_scale vs 0.1352337789", abs(cfg.softmax_scale() - 0.1352337789), 1e-10)
    dim = cfg.qk_rope_head_dim
    plain = 1.0 / (cfg.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    ratio = ref.rope_inv_freq(cfg) / plain
    ok("i <= 10 keep the original frequency", (ratio[:11] - 1).abs().max().item(), 1e-6)
    ok("i >= 23 use freq / 40", (ratio[23:] - 1 / 40).abs().max().item(), 1e-6)
    ok("i = 11 is 0.925 x the original", abs(ratio[11].item() - (1 - 1 / 13 * (1 - 1 / 40))), 1e-6)
    cfg8, _, _ = variant("yarn_f32")
    ok("yarn_f32 softmax_scale = 24^-0.5 (0.0707 ln 4 + 1)^2",
       abs(cfg8.softmax_scale() - 24 ** -0.5 * (0.1 * 0.707 * math.log(4) + 1) ** 2), 1e-15)


def check_codecs():
    print("E4M3 and BF16 codecs")
    codes = np.array([c for c in range(256) if (c & 0x7F) != 0x7F], dtype=np.uint8)
    vals = st.e4m3_decode(codes)
    back = st.e4m3_encode(vals)
    same = (back == codes) | ((codes == 0x80) & (back == 0x00))  # -0 encodes as +0's magnitude with sign bit
    assert same.all(), "E4M3 round trip of every finite code failed"
    assert st.e4m3_decode([0x7E])[0] == 448 and st.e4m3_decode([0x01])[0] == 2 ** -9, "E4M3 max / min subnormal"
    assert math.isnan(st.e4m3_decode([0x7F])[0]) and math.isnan(st.e4m3_decode([0xFF])[0]), "E4M3 NaN codes"
    # ties go to the even mantissa: 1 + 1/16 lies between 1 (m=0) and 1.125 (m=1) -> 1; 1 + 3/16 -> 1.25 (m=2)
    assert list(st.e4m3_decode(st.e4m3_encode([1 + 1 / 16, 1 + 3 / 16, -1000.0]))) == [1.0, 1.25, -448.0]
    print("  E4M3: 254 finite codes round-trip; 448, 2^-9, NaN, ties-to-even, saturation")
    bits = st.bf16_encode(np.array([1.0, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8], dtype=np.float32))
    assert list(st.bf16_decode(bits)) == [1.0, -2.5, 1.0, 1 + 2 ** -6], "BF16 round to nearest even"
    print("  BF16: exact values and ties-to-even")


def check_finite_differences():
    print("finite differences vs grads_tiny")
    cfg, w = ref.load(os.path.join(DATA, "qlora_f32"), torch.float64)
    with open(os.path.join(DATA, "grads_tiny", "tokens.json"), encoding="utf-8") as f:
        tokens = torch.tensor(json.load(f))
    grads, _ = st.load_tensors(os.path.join(DATA, "grads_tiny", "grads.safetensors"))
    g = torch.Generator().manual_seed(13)
    names = ["model.embed_tokens.weight", "lm_head.weight", "model.layers.0.self_attn.q_b_proj.weight",
             "model.layers.1.mlp.gate.weight", "model.layers.2.eh_proj.weight",
             "model.layers.2.self_attn.kv_a_proj_with_mqa.weight", "model.layers.1.mlp.shared_experts.up_proj.weight"]
    worst = 0.0
    for name in names:
        flat = w[name].view(-1)
        for _ in range(3):
            j = int(torch.randint(0, flat.numel(), (1,), generator=g))
            h = 1e-6
            plus, minus = dict(w), dict(w)
            plus[name] = w[name].clone().view(-1)
            plus[name][j] += h
            plus[name] = plus[name].view_as(w[name])
            minus[name] = w[name].clone().view(-1)
            minus[name][j] -= h
            minus[name] = minus[name].view_as(w[name])
            fd = (ref.loss(cfg, plus, tokens)[0] - ref.loss(cfg, minus, tokens)[0]).item() / (2 * h)
            worst = max(worst, abs(fd - grads[name].view(-1)[j].item()))
    ok(f"{len(names) * 3} central differences (h = 1e-6)", worst, 1e-7)


def check_float32():
    print("float32 forward vs the float64 goldens (what a float32 port can expect)")
    for name in ("qlora_f32", "qproj_f32", "yarn_f32", "bias_f32", "grouped_softmax_f32", "fp8"):
        d = os.path.join(DATA, name)
        cfg, w = ref.load(d, torch.float32)
        with open(os.path.join(d, "tokens.json"), encoding="utf-8") as f:
            tokens = torch.tensor([json.load(f)])
        with open(os.path.join(d, "expected.json"), encoding="utf-8") as f:
            expected = json.load(f)
        out = ref.forward(cfg, w, tokens)
        diff = max((out["logits"][0].double() - torch.tensor(expected["logits"])).abs().max().item(),
                   (out["mtp_logits"][0][0].double() - torch.tensor(expected["mtp_logits"])).abs().max().item())
        ok(f"{name} logits and mtp logits", diff, 2e-5)


def check_eps_and_names():
    print("norm eps split (qproj_f32) and checkpoint names (configs/tiny.json)")
    cfg, w, tokens = variant("qproj_f32")
    base = ref.forward(cfg, w, tokens)["logits"]
    try:
        ref.LATENT_NORM_EPS = cfg.rms_norm_eps
        one_eps = ref.forward(cfg, w, tokens)["logits"]
    finally:
        ref.LATENT_NORM_EPS = 1e-6
    cfg.rms_norm_eps = 1e-6
    fixed_eps = ref.forward(cfg, w, tokens)["logits"]
    differs("latent norms with rms_norm_eps (wrong)", (one_eps - base).abs().max().item(), 2e-5)
    differs("block norms with 1e-6 (wrong)", (fixed_eps - base).abs().max().item(), 2e-5)
    with open(os.path.join(REPO, "configs", "tiny.json"), encoding="utf-8") as f:
        tiny = ref.Config(json.load(f))
    mine = [f"{n} {list(s)}".replace(" ", "") for n, s in mg.parameter_shapes(tiny)]
    with open(os.path.join(REPO, "tests", "data", "tiny.parameters.approved.txt"), encoding="utf-8") as f:
        approved = [line.replace(" ", "").strip() for line in f if line.strip()]  # "name [a, b]" per line
    assert sorted(mine) == sorted(approved), "parameter names/shapes differ from tiny.parameters.approved.txt"
    print(f"  {len(mine)} names and shapes match tiny.parameters.approved.txt")


# ---------------------------------------------------------------------------------------------------------------
# Dense family (dense.py)

def dense_variant(name, dtype=torch.float64):
    cfg, w = dn.load(os.path.join(DATA, name), dtype)
    with open(os.path.join(DATA, name, "tokens.json"), encoding="utf-8") as f:
        tokens = torch.tensor([json.load(f)])
    with open(os.path.join(DATA, name, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    return cfg, w, tokens, expected


def check_dense_causal_and_greedy():
    print("dense: causality and the greedy continuation")
    for name in ("qwen2_f32", "llama_f32"):
        cfg, w, tokens, expected = dense_variant(name)
        base = dn.forward(cfg, w, tokens)
        changed = tokens.clone()
        changed[0, 7] = (changed[0, 7] + 5) % cfg.vocab_size
        out = dn.forward(cfg, w, changed)
        ok(f"{name} logits at t < 7 after changing t[7]", (out[0, :7] - base[0, :7]).abs().max().item(), 1e-12)
        differs(f"{name} logits at t = 7", (out[0, 7] - base[0, 7]).abs().max().item(), 1e-3)
        # one teacher-forced forward over prompt + continuation picks the same tokens as the recompute loop
        prompt, new = expected["greedy_prompt"], expected["greedy_tokens"]
        logits = dn.forward(cfg, w, torch.tensor([prompt + new]))[0]
        picks = logits[len(prompt) - 1:-1].argmax(-1).tolist()
        assert picks == new, f"{name}: teacher-forced argmax {picks} != greedy {new}"
        print(f"  {name}: teacher-forced argmax reproduces the {len(new)} greedy tokens")


def expand_kv(cfg, w, kv_of_head):
    """Weights of the same model as plain MHA: k_proj/v_proj rows (and biases) of kv head kv_of_head(h) copied
    to head h, and a config with num_key_value_heads = num_attention_heads."""
    raw = dict(cfg.raw, num_key_value_heads=cfg.num_attention_heads)
    d, out = cfg.head_dim, dict(w)
    for i in range(cfg.num_hidden_layers):
        for proj in ("k_proj", "v_proj"):
            for kind in ("weight", "bias"):
                name = f"model.layers.{i}.self_attn.{proj}.{kind}"
                if name in w:
                    heads = w[name].view(cfg.num_key_value_heads, d, *w[name].shape[1:])
                    out[name] = torch.cat([heads[kv_of_head(h)] for h in range(cfg.num_attention_heads)], dim=0)
    return dn.Config(raw), out


def mha_loop(cfg, w, tokens):
    """A plain per-head, per-query loop (no GQA, no einsum) of the whole model, for MHA configs."""
    B, T = tokens.shape
    d = cfg.head_dim
    cos, sin = dn.rope_cos_sin(cfg, torch.arange(T), torch.float64)
    h = w["model.embed_tokens.weight"][tokens[0]]  # (T, D)
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        x = dn.rms_norm(h, w[p + "input_layernorm.weight"], cfg.rms_norm_eps)
        a = p + "self_attn."
        q, k, v = (dn.linear(x, w[a + n + ".weight"], w.get(a + n + ".bias")) for n in ("q_proj", "k_proj", "v_proj"))
        heads = []
        for hd in range(cfg.num_attention_heads):
            qh = dn.rotate_half(q[:, hd * d:(hd + 1) * d]) * sin + q[:, hd * d:(hd + 1) * d] * cos
            kh = dn.rotate_half(k[:, hd * d:(hd + 1) * d]) * sin + k[:, hd * d:(hd + 1) * d] * cos
            vh = v[:, hd * d:(hd + 1) * d]
            rows = []
            for s_ in range(T):
                sc = torch.stack([qh[s_] @ kh[t] for t in range(s_ + 1)]) / math.sqrt(d)
                rows.append(torch.softmax(sc, 0) @ vh[:s_ + 1])
            heads.append(torch.stack(rows))
        h = h + dn.linear(torch.cat(heads, -1), w[a + "o_proj.weight"], w.get(a + "o_proj.bias"))
        h = h + dn.mlp(cfg, w, p + "mlp.", dn.rms_norm(h, w[p + "post_attention_layernorm.weight"], cfg.rms_norm_eps))
    return dn.linear(dn.rms_norm(h, w["model.norm.weight"], cfg.rms_norm_eps), dn.head_weight(cfg, w))


def check_dense_gqa():
    print("dense: GQA vs plain MHA on expanded k/v weights")
    for name in ("qwen2_f32", "llama_f32"):
        cfg, w, tokens, _ = dense_variant(name)
        base = dn.forward(cfg, w, tokens)[0]
        mha_cfg, mha_w = expand_kv(cfg, w, lambda h: h // cfg.n_rep)
        ok(f"{name} ({cfg.num_attention_heads} q / {cfg.num_key_value_heads} kv) vs MHA forward, kv head h // n_rep",
           (dn.forward(mha_cfg, mha_w, tokens)[0] - base).abs().max().item(), 1e-12)
        ok(f"{name} vs a per-head per-query loop", (mha_loop(mha_cfg, mha_w, tokens) - base).abs().max().item(), 1e-12)
        if cfg.num_key_value_heads > 1:
            wrong_cfg, wrong_w = expand_kv(cfg, w, lambda h: h % cfg.num_key_value_heads)
            differs(f"{name} with kv head h % kv_heads (wrong)",
                    (dn.forward(wrong_cfg, wrong_w, tokens)[0] - base).abs().max().item(), 1e-3)


def check_dense_rope():
    print("dense: rotate_half RoPE vs a complex rotation; llama3 bands")
    cfg, w, tokens, _ = dense_variant("llama_f32")
    T, d = tokens.shape[1], cfg.head_dim
    g = torch.Generator().manual_seed(4)
    x = torch.randn((2, T, 3, d), generator=g, dtype=torch.float64)
    cos, sin = dn.rope_cos_sin(cfg, torch.arange(T), torch.float64)
    angle = (torch.arange(T, dtype=torch.float32)[:, None] * dn.rope_inv_freq(cfg)[None, :]).double()  # (T, d/2)
    z = torch.complex(x[..., :d // 2], x[..., d // 2:]) * torch.polar(torch.ones_like(angle), angle)[None, :, None]
    ok("rotate_half vs (x[i] + j x[i + d/2]) * exp(j pos theta_i)",
       (dn.apply_rope(x, cos, sin) - torch.cat((z.real, z.imag), -1)).abs().max().item(), 1e-15)
    ok("rotate_half vs model.rope_half (the DeepSeek reference's half-split layout)",
       (dn.apply_rope(x, cos, sin) - ref.rope_half(x, cos[:, :d // 2], sin[:, :d // 2])).abs().max().item(), 0)
    differs("rotate_half vs interleaved pairs (wrong layout)",
            (dn.apply_rope(x, cos, sin) - ref.rope_interleaved(x, cos[:, :d // 2], sin[:, :d // 2])).abs().max().item(),
            1e-3)

    def llama3_loop(inv, factor, lo, hi, old):
        # the Llama 3.1 rule per frequency, in Python floats
        out = []
        for f in inv.tolist():
            wl = 2 * math.pi / f
            if wl < old / hi:
                out.append(f)
            elif wl > old / lo:
                out.append(f / factor)
            else:
                s_ = (old / wl - lo) / (hi - lo)
                out.append((1 - s_) * f / factor + s_ * f)
        return torch.tensor(out, dtype=torch.float64)

    plain = dn.default_inv_freq(cfg.rope_theta, d)
    got = dn.rope_inv_freq(cfg)
    loop = llama3_loop(plain, cfg.rope_factor, cfg.low_freq_factor, cfg.high_freq_factor,
                       cfg.original_max_position_embeddings)
    ok("llama_f32 llama3 inv_freq vs a per-element loop (relative)", ((got.double() - loop) / loop).abs().max().item(),
       1e-6)
    ratio = (got / plain).tolist()
    smooth = (cfg.original_max_position_embeddings * plain[1].item() / (2 * math.pi) - 1) / 3
    ok("llama_f32 i = 0 kept (wavelen 2 pi < 32)", abs(ratio[0] - 1), 1e-7)
    ok(f"llama_f32 i = 1 interpolated, smooth {smooth:.4f}", abs(ratio[1] - ((1 - smooth) / 8 + smooth)), 1e-6)
    ok("llama_f32 i >= 2 divided by 8", max(abs(r - 1 / 8) for r in ratio[2:]), 1e-7)
    no_scaling = dn.Config(dict(cfg.raw, rope_scaling=None))
    differs("llama_f32 logits without the llama3 scaling (wrong)",
            (dn.forward(no_scaling, w, tokens) - dn.forward(cfg, w, tokens)).abs().max().item(), 1e-3)
    unit = dict(cfg.raw, rope_scaling=dict(cfg.raw["rope_scaling"], factor=1.0))
    ok("llama3 with factor 1: inv_freq vs default (relative)",
       ((dn.rope_inv_freq(dn.Config(unit)) - plain) / plain).abs().max().item(), 1e-7)
    ok("llama3 with factor 1: logits vs default RoPE",
       (dn.forward(dn.Config(unit), w, tokens) - dn.forward(no_scaling, w, tokens)).abs().max().item(), 1e-6)
    with open(os.path.join(DATA, "published", "DeepSeek-R1-Distill-Llama-8B", "config.json"), encoding="utf-8") as f:
        big = dn.Config(json.load(f))
    big_plain = dn.default_inv_freq(big.rope_theta, big.head_dim)
    r = (dn.rope_inv_freq(big) / big_plain).tolist()
    kept = sum(abs(v - 1) < 1e-6 for v in r)
    scaled = sum(abs(v - 1 / 8) < 1e-6 for v in r)
    assert (kept, len(r) - kept - scaled, scaled) == (29, 6, 29), (kept, scaled)
    print("  Llama-3.1-8B (published distill config): i <= 28 kept, 29..34 interpolated, i >= 35 divided by 8")


def check_dense_traps():
    print("dense: what a port gets wrong (each must move the logits)")
    cfg, w, tokens, _ = dense_variant("qwen2_f32")
    base = dn.forward(cfg, w, tokens)
    window = [i for i in range(cfg.num_hidden_layers) if i >= cfg.raw["max_window_layers"]]
    differs(f"qwen2_f32 with sliding_window {cfg.raw['sliding_window']} on layers {window} "
            "(wrong: use_sliding_window is false)",
            (dn.forward(cfg, w, tokens, window_layers=window, window=cfg.raw["sliding_window"]) - base)
            .abs().max().item(), 1e-3)
    no_bias = {n: (torch.zeros_like(t) if n.endswith(".bias") else t) for n, t in w.items()}
    differs("qwen2_f32 without the q/k/v biases (wrong)", (dn.forward(cfg, no_bias, tokens) - base).abs().max().item(),
            1e-3)
    # The k bias added after RoPE instead of before: zero the stored bias, and add it to the output of every second
    # apply_rope call (each layer rotates q, then k).
    saved, calls = dn.apply_rope, []

    def rope_then_k_bias(x, c, s_):
        out = saved(x, c, s_)
        calls.append(x)
        if len(calls) % 2 == 0:
            layer = len(calls) // 2 - 1
            out = out + w[f"model.layers.{layer}.self_attn.k_proj.bias"].view(cfg.num_key_value_heads, cfg.head_dim)
        return out

    try:
        dn.apply_rope = rope_then_k_bias
        late = dn.forward(cfg, {n: (torch.zeros_like(t) if n.endswith("k_proj.bias") else t) for n, t in w.items()},
                          tokens)
    finally:
        dn.apply_rope = saved
    differs("qwen2_f32 with the k bias added after RoPE (wrong)", (late - base).abs().max().item(), 1e-3)
    lcfg, lw, ltokens, _ = dense_variant("llama_f32")
    lbase = dn.forward(lcfg, lw, ltokens)
    other = dn.Config(dict(lcfg.raw, rms_norm_eps=1e-6))
    print(f"  llama_f32 with rms_norm_eps 1e-6 instead of 1e-5 moves the logits by "
          f"{(dn.forward(other, lw, ltokens) - lbase).abs().max().item():.3g}")
    derived = dn.Config({k: v for k, v in lcfg.raw.items() if k != "head_dim"})
    assert derived.head_dim == 8 != lcfg.head_dim, "llama_f32's head_dim must differ from hidden/heads"
    print(f"  llama_f32 head_dim {lcfg.head_dim} != hidden/heads {derived.head_dim}: ignoring the key cannot load it")


def check_dense_float32():
    print("dense: float32 forwards vs the float64 goldens (what a float32 port can expect)")
    for name in ("qwen2_f32", "qwen2_bf16", "llama_f32"):
        cfg, w, tokens, expected = dense_variant(name, torch.float32)
        want = torch.tensor(expected["logits"])
        ok(f"{name} float32 logits", (dn.forward(cfg, w, tokens)[0].double() - want).abs().max().item(), 2e-5)
        # HF takes cos/sin in float32 and casts them; the goldens take cos/sin of the float32 angle in float64
        cfg64, w64, _, _ = dense_variant(name)
        saved = dn.rope_cos_sin
        try:
            dn.rope_cos_sin = lambda c, pos, dtype: tuple(t.to(dtype) for t in saved(c, pos, torch.float32))
            hf_style = dn.forward(cfg64, w64, tokens)[0]
        finally:
            dn.rope_cos_sin = saved
        ok(f"{name} float64 with HF's float32 cos/sin", (hf_style - want).abs().max().item(), 1e-6)


def check_dense_finite_differences():
    print("dense: finite differences vs grads_qwen2 / grads_llama")
    picks = {"qwen2_f32": ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.bias",
                           "model.layers.1.self_attn.k_proj.weight", "model.layers.1.self_attn.k_proj.bias",
                           "model.layers.0.self_attn.o_proj.weight", "model.layers.1.mlp.down_proj.weight",
                           "model.norm.weight"],
             "llama_f32": ["model.embed_tokens.weight", "lm_head.weight", "model.layers.0.self_attn.k_proj.weight",
                           "model.layers.1.self_attn.v_proj.weight", "model.layers.1.input_layernorm.weight",
                           "model.layers.0.mlp.gate_proj.weight"]}
    for source, grads_dir in (("qwen2_f32", "grads_qwen2"), ("llama_f32", "grads_llama")):
        cfg, w = dn.load(os.path.join(DATA, source), torch.float64)
        with open(os.path.join(DATA, grads_dir, "tokens.json"), encoding="utf-8") as f:
            tokens = torch.tensor(json.load(f))
        grads, _ = st.load_tensors(os.path.join(DATA, grads_dir, "grads.safetensors"))
        g = torch.Generator().manual_seed(17)
        worst, h = 0.0, 1e-6
        for name in picks[source]:
            for _ in range(3):
                j = int(torch.randint(0, w[name].numel(), (1,), generator=g))
                plus, minus = dict(w), dict(w)
                plus[name] = w[name].clone().view(-1)
                plus[name][j] += h
                plus[name] = plus[name].view_as(w[name])
                minus[name] = w[name].clone().view(-1)
                minus[name][j] -= h
                minus[name] = minus[name].view_as(w[name])
                fd = (dn.loss(cfg, plus, tokens) - dn.loss(cfg, minus, tokens)).item() / (2 * h)
                worst = max(worst, abs(fd - grads[name].view(-1)[j].item()))
        ok(f"{grads_dir}: {len(picks[source]) * 3} central differences (h = 1e-6)", worst, 1e-7)


def main():
    torch.set_num_threads(1)
    check_causal_and_mtp()
    check_rope()
    check_mla_absorbed()
    check_gate()
    check_v3_numbers()
    check_codecs()
    check_finite_differences()
    check_float32()
    check_eps_and_names()
    check_dense_causal_and_greedy()
    check_dense_gqa()
    check_dense_rope()
    check_dense_traps()
    check_dense_float32()
    check_dense_finite_differences()
    print("all sanity checks pass")


if __name__ == "__main__":
    main()
