"""model.py: the PyTorch reference forward of DeepSeek-V3 (any HF config.json), the golden-file oracle.

Reads an HF-format directory (config.json + model.safetensors, F32/BF16/F8_E4M3 with 128x128 weight_scale_inv),
and computes logits for every position plus the MTP logits, in float64 (or float32). The math follows the
official inference/model.py (OFF below: deepseek-ai/DeepSeek-V3:inference/model.py; naive MLA, interleaved RoPE, YaRN,
grouped noaux_tc gate, MoE), with the source of each convention (OFF, HF = huggingface/transformers'
models/deepseek_v3, or the DeepSeek-V3 technical report) noted at each function. Also the training loss (main CE + lambda * MTP CE).
Not here: KV cache / decoding, absorbed MLA, tensor parallelism, the balance loss, FP8 GEMMs (weights are
dequantized at load). Checked by check.py (golden files) and sanity.py (causality, RoPE layouts, MTP inputs).
"""

import json
import math
import os

import torch

import safetensors_io as st

LATENT_NORM_EPS = 1e-6  # q_a_layernorm and kv_a_layernorm: built without eps in HF, so 1e-6 (HF modeling_deepseek_v3.py)
FP8_BLOCK = 128


# ---------------------------------------------------------------------------------------------------------------
# Configuration (HF config.json keys; HF configuration_deepseek_v3.py)

class Config:
    def __init__(self, raw):
        def need(key):
            if key not in raw:
                raise ValueError(f"config.json: missing key {key!r}")
            return raw[key]

        self.raw = raw
        self.vocab_size = int(need("vocab_size"))
        self.hidden_size = int(need("hidden_size"))
        self.intermediate_size = int(need("intermediate_size"))
        self.moe_intermediate_size = int(need("moe_intermediate_size"))
        self.num_hidden_layers = int(need("num_hidden_layers"))
        self.num_nextn_predict_layers = int(raw.get("num_nextn_predict_layers", 0) or 0)
        self.first_k_dense_replace = int(raw.get("first_k_dense_replace", 0))
        self.moe_layer_freq = int(raw.get("moe_layer_freq", 1))
        self.num_attention_heads = int(need("num_attention_heads"))
        q = raw.get("q_lora_rank")
        self.q_lora_rank = int(q) if q else None  # null or 0 -> q_proj (HF: None; OFF: 0)
        self.kv_lora_rank = int(need("kv_lora_rank"))
        self.qk_nope_head_dim = int(need("qk_nope_head_dim"))
        self.qk_rope_head_dim = int(need("qk_rope_head_dim"))
        self.v_head_dim = int(need("v_head_dim"))
        self.n_routed_experts = int(raw.get("n_routed_experts") or 0)
        self.n_shared_experts = int(raw.get("n_shared_experts") or 0)
        self.num_experts_per_tok = int(raw.get("num_experts_per_tok") or 0)
        self.n_group = int(raw.get("n_group") or 1)
        self.topk_group = int(raw.get("topk_group") or 1)
        self.topk_method = raw.get("topk_method", "noaux_tc")
        self.scoring_func = raw.get("scoring_func", "sigmoid")
        self.norm_topk_prob = bool(raw.get("norm_topk_prob", True))
        self.routed_scaling_factor = float(raw.get("routed_scaling_factor", 1.0))
        self.rms_norm_eps = float(raw.get("rms_norm_eps", 1e-6))
        if self.scoring_func not in ("sigmoid", "softmax"):
            raise ValueError(f"config.json: scoring_func {self.scoring_func!r}; expected 'sigmoid' or 'softmax'")
        if self.qk_rope_head_dim % 2:
            raise ValueError(f"config.json: qk_rope_head_dim {self.qk_rope_head_dim}; expected an even number")
        if self.n_routed_experts and self.n_routed_experts % self.n_group:
            raise ValueError(f"config.json: n_routed_experts {self.n_routed_experts} is not divisible by "
                             f"n_group {self.n_group}")

        # RoPE: both spellings, rope_scaling (<= v4) and rope_parameters (v5) (HF configuration_deepseek_v3.py).
        rope = raw.get("rope_scaling") or raw.get("rope_parameters") or {}
        self.rope_theta = float(raw.get("rope_theta") or rope.get("rope_theta") or 10000.0)
        kind = rope.get("type") or rope.get("rope_type") or "default"
        if kind not in ("default", "yarn"):
            raise ValueError(f"config.json: rope type {kind!r}; expected 'yarn' or none")
        self.yarn = kind == "yarn"
        self.rope_factor = float(rope.get("factor", 1.0))
        self.original_max_position_embeddings = int(rope.get("original_max_position_embeddings", 4096))
        self.beta_fast = float(rope.get("beta_fast", 32))
        self.beta_slow = float(rope.get("beta_slow", 1))
        self.mscale = float(rope.get("mscale", 1.0) or 0.0)
        self.mscale_all_dim = float(rope.get("mscale_all_dim", 0.0) or 0.0)
        if self.yarn and self.mscale_all_dim and self.mscale != self.mscale_all_dim:
            # HF would scale cos/sin by mscale(s, mscale)/mscale(s, mscale_all_dim); every DeepSeek config has
            # the two equal (ratio 1), which is the only case this reference (and OFF) models.
            raise ValueError(f"config.json: rope mscale {self.mscale} != mscale_all_dim {self.mscale_all_dim}; "
                             "this reference expects them equal (no cos/sin scaling)")

    @property
    def qk_head_dim(self):
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    def is_moe_layer(self, i):
        # HF: MoE when experts exist, i >= first_k_dense_replace and i % moe_layer_freq == 0 (the Hub checkpoint's modeling_deepseek.py)
        return self.n_routed_experts > 0 and i >= self.first_k_dense_replace and i % self.moe_layer_freq == 0

    def softmax_scale(self):
        # d_qk^-0.5, times mscale(factor, mscale_all_dim)^2 when YaRN is on (DeepSeek-V3 technical report §4.3; HF yarn_get_mscale)
        scale = self.qk_head_dim ** -0.5
        if self.yarn and self.mscale_all_dim:
            m = yarn_mscale(self.rope_factor, self.mscale_all_dim)
            scale *= m * m
        return scale


def yarn_mscale(s, m):
    return 0.1 * m * math.log(s) + 1.0 if s > 1 else 1.0


def load_config(directory):
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
        return Config(json.load(f))


# ---------------------------------------------------------------------------------------------------------------
# Weights

def dequantize_fp8(codes_value, scale_inv, name):
    """W[i, j] = e4m3(W_q[i, j]) * scale_inv[i // 128, j // 128] (OFF inference/kernel.py, weight_dequant_kernel)."""
    rows, cols = codes_value.shape
    want = (math.ceil(rows / FP8_BLOCK), math.ceil(cols / FP8_BLOCK))
    if tuple(scale_inv.shape) != want:
        raise ValueError(f"{name}_scale_inv has shape {tuple(scale_inv.shape)}; expected {want} for a "
                         f"[{rows}, {cols}] weight with {FP8_BLOCK}x{FP8_BLOCK} blocks")
    full = scale_inv.repeat_interleave(FP8_BLOCK, 0).repeat_interleave(FP8_BLOCK, 1)[:rows, :cols]
    return codes_value * full


def load_weights(directory, dtype=torch.float64):
    """model.safetensors -> {HF name: tensor in `dtype`}. FP8 weights are dequantized with their
    weight_scale_inv companions, which are then dropped."""
    values, dtypes = st.load_tensors(os.path.join(directory, "model.safetensors"))
    out = {}
    for name, value in values.items():
        if name.endswith("_scale_inv"):
            if name[: -len("_scale_inv")] not in values:
                raise ValueError(f"{name}: a scale without its weight")
            continue
        if dtypes[name] == "F8_E4M3":
            scale_name = name + "_scale_inv"
            if scale_name not in values:
                raise ValueError(f"{name} is F8_E4M3 but {scale_name} is missing; expected a 128x128 block scale")
            value = dequantize_fp8(value, values[scale_name], name)
        out[name] = value.to(dtype)
    return out


def load(directory, dtype=torch.float64):
    return load_config(directory), load_weights(directory, dtype)


# ---------------------------------------------------------------------------------------------------------------
# Building blocks

def linear(x, w):
    # y = x W^T, W stored [out, in] (OFF Linear)
    return x @ w.t()


def rms_norm(x, w, eps):
    # y = x * rsqrt(mean(x^2) + eps) * w (OFF RMSNorm)
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def silu(x):
    return x * torch.sigmoid(x)


def swiglu(x, w, prefix):
    # FFN(x) = down(silu(gate(x)) * up(x)) (OFF MLP)
    return linear(silu(linear(x, w[prefix + "gate_proj.weight"])) * linear(x, w[prefix + "up_proj.weight"]),
                  w[prefix + "down_proj.weight"])


def rope_inv_freq(cfg):
    """inv_freq[i] = base^(-2i/d_r), with the YaRN correction when rope type is yarn (HF: always on), all in
    float32 as OFF precompute_freqs_cis (YaRN paper, Peng et al. 2023, §3)."""
    dim = cfg.qk_rope_head_dim
    base = cfg.rope_theta
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    if cfg.yarn:
        def corr_dim(rotations):
            return dim * math.log(cfg.original_max_position_embeddings / (rotations * 2 * math.pi)) / (
                2 * math.log(base))

        low = max(math.floor(corr_dim(cfg.beta_fast)), 0)
        high = min(math.ceil(corr_dim(cfg.beta_slow)), dim - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
        smooth = 1 - ramp
        freqs = freqs / cfg.rope_factor * (1 - smooth) + freqs * smooth
    return freqs


def rope_cos_sin(cfg, T, dtype):
    # angle(pos, i) = pos * inv_freq[i], in float32 (OFF torch.outer); cos/sin then taken in `dtype`
    angle = torch.outer(torch.arange(T, dtype=torch.float32), rope_inv_freq(cfg))  # (T, d_r/2)
    angle = angle.to(dtype)
    return torch.cos(angle), torch.sin(angle)


def rope_interleaved(x, cos, sin):
    """OFF apply_rotary_emb: pairs (x[2i], x[2i+1]) as one complex number times exp(j pos theta_i) (RoPE: Su et al. 2021, RoFormer).
    x: (B, T, H, d_r)  cos, sin: (T, d_r/2)"""
    xr = x.reshape(*x.shape[:-1], -1, 2)
    a, b = xr[..., 0], xr[..., 1]
    c = cos[None, :, None, :]
    s = sin[None, :, None, :]
    return torch.stack((a * c - b * s, a * s + b * c), dim=-1).reshape(x.shape)


def rope_half(x, cos, sin):
    """Llama rotate_half on half-split pairs (x[i], x[i + d_r/2]); equals rope_interleaved only on weights whose
    rope rows were permuted by [0, 2, 4, ..., 1, 3, 5, ...] (as HF apply_rotary_pos_emb_interleave de-interleaves). Used by sanity.py."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    c = cos[None, :, None, :]
    s = sin[None, :, None, :]
    return torch.cat((a * c - b * s, a * s + b * c), dim=-1)


# ---------------------------------------------------------------------------------------------------------------
# MLA, naive form (OFF MLA, attn_impl "naive"; DeepSeek-V3 technical report §2.1.1)

def mla(cfg, w, prefix, x, cos, sin, rope=rope_interleaved):
    """x: (B, T, D) normed input -> (B, T, D). Causal from position 0."""
    B, T, _ = x.shape
    H, dn, dr, dv, c = (cfg.num_attention_heads, cfg.qk_nope_head_dim, cfg.qk_rope_head_dim, cfg.v_head_dim,
                        cfg.kv_lora_rank)
    if cfg.q_lora_rank:
        q = linear(rms_norm(linear(x, w[prefix + "q_a_proj.weight"]), w[prefix + "q_a_layernorm.weight"],
                            LATENT_NORM_EPS), w[prefix + "q_b_proj.weight"])
    else:
        q = linear(x, w[prefix + "q_proj.weight"])
    q = q.view(B, T, H, dn + dr)  # q: (B, T, H, d_qk)
    q_nope, q_pe = q[..., :dn], rope(q[..., dn:], cos, sin)
    kv = linear(x, w[prefix + "kv_a_proj_with_mqa.weight"])  # kv: (B, T, c + d_r)
    c_kv, k_pe = kv[..., :c], rope(kv[..., c:].unsqueeze(2), cos, sin)  # k_pe: (B, T, 1, d_r), shared by heads
    kvb = linear(rms_norm(c_kv, w[prefix + "kv_a_layernorm.weight"], LATENT_NORM_EPS),
                 w[prefix + "kv_b_proj.weight"]).view(B, T, H, dn + dv)
    k_nope, v = kvb[..., :dn], kvb[..., dn:]
    qf = torch.cat((q_nope, q_pe), dim=-1)
    kf = torch.cat((k_nope, k_pe.expand(B, T, H, dr)), dim=-1)
    scores = torch.einsum("bshd,bthd->bsht", qf, kf) * cfg.softmax_scale()  # (B, T, H, T)
    mask = torch.full((T, T), float("-inf"), dtype=scores.dtype).triu(1)  # -inf where t > s
    scores = scores + mask[None, :, None, :]
    p = torch.softmax(scores, dim=-1)
    o = torch.einsum("bsht,bthd->bshd", p, v)  # (B, T, H, d_v)
    return linear(o.reshape(B, T, H * dv), w[prefix + "o_proj.weight"])


# ---------------------------------------------------------------------------------------------------------------
# Gate and MoE (OFF Gate and MoE; DeepSeek-V3 technical report §2.1.2)

def gate(cfg, weight, bias, u, stats=None):
    """u: (N, D) -> weights (N, K), indices (N, K).
    s = sigmoid|softmax(u Wg^T); choose with s + b (group score: sum of top-2 with a bias, max without; other
    groups -inf); weights gathered from s (no bias), / sum when norm_topk_prob (no epsilon), x route scale."""
    logits = linear(u, weight)
    s = torch.sigmoid(logits) if cfg.scoring_func == "sigmoid" else torch.softmax(logits, dim=-1)
    chosen = s if bias is None else s + bias
    N, E = chosen.shape
    G, K = cfg.n_group, cfg.num_experts_per_tok
    if G > 1:
        grouped = chosen.view(N, G, E // G)
        group_score = grouped.amax(-1) if bias is None else grouped.topk(2, dim=-1)[0].sum(-1)  # (N, G)
        ranked_groups = group_score.topk(min(cfg.topk_group + 1, G), dim=-1)[0]
        keep = group_score.topk(cfg.topk_group, dim=-1)[1]
        masked = torch.ones(N, G, dtype=torch.bool).scatter(1, keep, False)
        chosen = grouped.masked_fill(masked.unsqueeze(-1), float("-inf")).reshape(N, E)
        if stats is not None and cfg.topk_group < G:
            stats.append(("group", float((ranked_groups[:, -2] - ranked_groups[:, -1]).min())))
    top = chosen.topk(min(K + 1, E), dim=-1)
    idx = top[1][:, :K]
    if stats is not None and K < E:
        gap = top[0][:, K - 1] - top[0][:, K]
        stats.append(("expert", float(gap[torch.isfinite(gap)].min()) if torch.isfinite(gap).any() else math.inf))
    wts = s.gather(1, idx)
    if cfg.norm_topk_prob:
        wts = wts / wts.sum(-1, keepdim=True)
    return wts * cfg.routed_scaling_factor, idx


def moe(cfg, w, prefix, x, trace=None, stats=None):
    """x: (B, T, D) normed -> (B, T, D): routed experts (weighted) + shared experts, no capacity limit."""
    B, T, D = x.shape
    u = x.reshape(B * T, D)
    bias = w.get(prefix + "gate.e_score_correction_bias")
    wts, idx = gate(cfg, w[prefix + "gate.weight"], bias, u, stats)
    if trace is not None:
        zero = None if bias is None else torch.zeros_like(bias)
        _, idx0 = gate(cfg, w[prefix + "gate.weight"], zero, u)
        trace.append({"with_bias": idx.view(B, T, -1).tolist(), "without_bias": idx0.view(B, T, -1).tolist()})
    y = torch.zeros_like(u)
    for e in range(cfg.n_routed_experts):
        tok, slot = torch.nonzero(idx == e, as_tuple=True)
        if tok.numel() == 0:
            continue
        out = swiglu(u[tok], w, f"{prefix}experts.{e}.")
        y = y.index_add(0, tok, out * wts[tok, slot].unsqueeze(-1))
    if cfg.n_shared_experts:
        y = y + swiglu(u, w, prefix + "shared_experts.")
    return y.view(B, T, D)


# ---------------------------------------------------------------------------------------------------------------
# Decoder block, trunk, MTP (OFF Block and Transformer; DeepSeek-V3 technical report §2.1, §2.2)

def block(cfg, w, i, x, cos, sin, rope=rope_interleaved, trace=None, stats=None):
    p = f"model.layers.{i}."
    h = x + mla(cfg, w, p + "self_attn.", rms_norm(x, w[p + "input_layernorm.weight"], cfg.rms_norm_eps),
                cos, sin, rope)
    n = rms_norm(h, w[p + "post_attention_layernorm.weight"], cfg.rms_norm_eps)
    if cfg.is_moe_layer(i):
        layer_trace = [] if trace is not None else None
        f = moe(cfg, w, p + "mlp.", n, layer_trace, stats)
        if trace is not None:
            trace[str(i)] = layer_trace[0]
    else:
        f = swiglu(n, w, p + "mlp.")
    return h + f


def forward(cfg, w, tokens, rope=rope_interleaved, tied=False, trace=None, stats=None):
    """tokens: (B, T) int64 -> {"logits": (B, T, V), "mtp_logits": [(B, T-1-k, V) per depth k]}.
    MTP depth k: x[i] = eh_proj(cat[enorm(emb(t[i+1+k])), hnorm(h_prev[i])]), h_prev = the final-normed trunk
    hidden state for k = 0 ("post-norm", as vllm-project/vllm:vllm/model_executor/models/deepseek_mtp.py feeds it), the previous depth's block output after; then the block of
    layer num_hidden_layers + k, shared_head.norm, shared_head.head. Row i predicts t[i+2+k].
    tied=True uses model.embed_tokens / lm_head instead of the MTP layer's stored copies (training)."""
    dtype = w["model.embed_tokens.weight"].dtype
    B, T = tokens.shape
    cos, sin = rope_cos_sin(cfg, T, dtype)
    emb = w["model.embed_tokens.weight"]
    h = emb[tokens]  # (B, T, D)
    for i in range(cfg.num_hidden_layers):
        h = block(cfg, w, i, h, cos, sin, rope, trace, stats)
    h = rms_norm(h, w["model.norm.weight"], cfg.rms_norm_eps)
    logits = linear(h, w["lm_head.weight"])
    mtp_logits = []
    prev = h
    for k in range(cfg.num_nextn_predict_layers):
        L = T - 1 - k
        if L <= 0:
            break
        p = f"model.layers.{cfg.num_hidden_layers + k}."
        e_w = emb if tied else w.get(p + "embed_tokens.weight", emb)
        head = w["lm_head.weight"] if tied else w.get(p + "shared_head.head.weight", w["lm_head.weight"])
        e = e_w[tokens[:, 1 + k:]]  # (B, L, D)
        x = linear(torch.cat((rms_norm(e, w[p + "enorm.weight"], cfg.rms_norm_eps),
                              rms_norm(prev[:, :L], w[p + "hnorm.weight"], cfg.rms_norm_eps)), dim=-1),
                   w[p + "eh_proj.weight"])
        x = block(cfg, w, cfg.num_hidden_layers + k, x, cos[:L], sin[:L], rope, trace, stats)
        mtp_logits.append(linear(rms_norm(x, w[p + "shared_head.norm.weight"], cfg.rms_norm_eps), head))
        prev = x
    return {"logits": logits, "mtp_logits": mtp_logits}


def loss(cfg, w, tokens, mtp_lambda=0.3):
    """Training loss: mean next-token CE over the B*(T-1) positions that have a target, plus
    (lambda / D) * sum_k mean CE of MTP depth k over its B*(T-2-k) rows that have a target (row i -> t[i+2+k]).
    Uses tied embedding/head (the MTP module shares them with the trunk). Returns (total, main, [mtp_k])."""
    out = forward(cfg, w, tokens, tied=True)
    V = cfg.vocab_size
    main = torch.nn.functional.cross_entropy(out["logits"][:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1))
    parts = []
    for k, ml in enumerate(out["mtp_logits"]):
        rows = tokens.shape[1] - 2 - k
        parts.append(torch.nn.functional.cross_entropy(ml[:, :rows].reshape(-1, V), tokens[:, 2 + k:].reshape(-1)))
    total = main
    if parts:
        total = total + mtp_lambda / len(parts) * sum(parts)
    return total, main, parts
