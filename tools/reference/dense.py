"""dense.py: the PyTorch reference forward of dense grouped-query-attention decoders (HF `qwen2` and `llama`).

Reads an HF-format directory (config.json plus model.safetensors, or model.safetensors.index.json and its shards; F32,
F16 or BF16) and computes the logits of every position in float64 (or float32), the mean next-token cross-entropy,
and a full-recompute greedy continuation. The math is a port of huggingface/transformers:
src/transformers/models/qwen2/modeling_qwen2.py, src/transformers/models/llama/modeling_llama.py and the "default"
and "llama3" rope types of src/transformers/modeling_rope_utils.py (cited at each function).
Not here: sliding-window attention (rejected when use_sliding_window is true), partial rotary, other rope types,
KV caching, tensor parallelism. Checked by check.py (golden files) and sanity.py (GQA, rope layouts, llama3 bands).
"""

import json
import math
import os

import torch

import safetensors_io as st

FAMILIES = ("qwen2", "llama")


# ---------------------------------------------------------------------------------------------------------------
# Configuration (HF config.json keys)

class Config:
    def __init__(self, raw):
        def need(key):
            if key not in raw:
                raise ValueError(f"config.json: missing key {key!r}")
            return raw[key]

        self.raw = raw
        self.family = raw.get("model_type")
        if self.family not in FAMILIES:
            raise ValueError(f"config.json: model_type {self.family!r}; expected one of {FAMILIES}")
        self.vocab_size = int(need("vocab_size"))
        self.hidden_size = int(need("hidden_size"))
        self.intermediate_size = int(need("intermediate_size"))
        self.num_hidden_layers = int(need("num_hidden_layers"))
        self.num_attention_heads = int(need("num_attention_heads"))
        # num_key_value_heads: absent or null means plain multi-head attention (both configuration classes)
        self.num_key_value_heads = int(raw.get("num_key_value_heads") or self.num_attention_heads)
        # head_dim: the config key when present, else hidden_size / num_attention_heads (both attention classes)
        self.head_dim = int(raw.get("head_dim") or self.hidden_size // self.num_attention_heads)
        self.rms_norm_eps = float(raw.get("rms_norm_eps", 1e-6))
        self.hidden_act = raw.get("hidden_act", "silu")
        # Both configuration classes default tie_word_embeddings to false.
        self.tie_word_embeddings = bool(raw.get("tie_word_embeddings", False))
        if self.family == "qwen2":
            # Qwen2Attention builds q/k/v with bias=True and o_proj with bias=False, whatever the config says;
            # Qwen2MLP has no biases.
            self.qkv_bias, self.o_bias, self.mlp_bias = True, False, False
        else:
            # LlamaAttention: attention_bias for all four projections; LlamaMLP: mlp_bias for all three.
            bias = bool(raw.get("attention_bias", False))
            self.qkv_bias, self.o_bias, self.mlp_bias = bias, bias, bool(raw.get("mlp_bias", False))
        if self.hidden_act != "silu":
            raise ValueError(f"config.json: hidden_act {self.hidden_act!r}; expected 'silu'")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(f"config.json: num_attention_heads {self.num_attention_heads} is not a multiple of "
                             f"num_key_value_heads {self.num_key_value_heads}")
        if self.head_dim % 2:
            raise ValueError(f"config.json: head_dim {self.head_dim}; expected an even number")
        if raw.get("use_sliding_window"):
            raise ValueError("config.json: use_sliding_window is true; this reference models full attention only")
        if float(raw.get("partial_rotary_factor", 1.0)) != 1.0:
            raise ValueError("config.json: partial_rotary_factor != 1 is not modeled")

        # RoPE: rope_scaling (transformers <= 4.x) or rope_parameters (5.x); the type under "rope_type" or "type".
        rope = raw.get("rope_scaling") or raw.get("rope_parameters") or {}
        self.rope_theta = float(raw.get("rope_theta") or rope.get("rope_theta") or 10000.0)
        self.rope_type = rope.get("rope_type") or rope.get("type") or "default"
        if self.rope_type not in ("default", "llama3"):
            raise ValueError(f"config.json: rope type {self.rope_type!r}; expected 'default' or 'llama3'")
        if self.rope_type == "llama3":
            self.rope_factor = float(rope["factor"])
            self.low_freq_factor = float(rope["low_freq_factor"])
            self.high_freq_factor = float(rope["high_freq_factor"])
            self.original_max_position_embeddings = int(rope["original_max_position_embeddings"])
            if self.high_freq_factor <= self.low_freq_factor:
                raise ValueError("config.json: llama3 high_freq_factor must exceed low_freq_factor")

    @property
    def n_rep(self):
        return self.num_attention_heads // self.num_key_value_heads

    def softmax_scale(self):
        return self.head_dim ** -0.5


def load_config(directory):
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
        return Config(json.load(f))


def parameter_shapes(cfg):
    """(HF name, shape) of every tensor the checkpoint holds, in HF module order. lm_head.weight is absent when
    tie_word_embeddings is true (save_pretrained drops a tied copy)."""
    D, V, I = cfg.hidden_size, cfg.vocab_size, cfg.intermediate_size
    q_out = cfg.num_attention_heads * cfg.head_dim
    kv_out = cfg.num_key_value_heads * cfg.head_dim
    out = [("model.embed_tokens.weight", (V, D))]
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        out.append((p + "input_layernorm.weight", (D,)))
        a = p + "self_attn."
        for name, rows in (("q_proj", q_out), ("k_proj", kv_out), ("v_proj", kv_out)):
            out.append((a + name + ".weight", (rows, D)))
            if cfg.qkv_bias:
                out.append((a + name + ".bias", (rows,)))
        out.append((a + "o_proj.weight", (D, q_out)))
        if cfg.o_bias:
            out.append((a + "o_proj.bias", (D,)))
        out.append((p + "post_attention_layernorm.weight", (D,)))
        m = p + "mlp."
        for name, shape, bias in (("gate_proj", (I, D), I), ("up_proj", (I, D), I), ("down_proj", (D, I), D)):
            out.append((m + name + ".weight", shape))
            if cfg.mlp_bias:
                out.append((m + name + ".bias", (bias,)))
    out.append(("model.norm.weight", (D,)))
    if not cfg.tie_word_embeddings:
        out.append(("lm_head.weight", (V, D)))
    return out


def load_weights(directory, cfg, dtype=torch.float64):
    """model.safetensors or model.safetensors.index.json + shards -> {HF name: tensor in `dtype`}. Checks that the
    names and shapes are exactly parameter_shapes(cfg), except that a tied checkpoint may also carry lm_head.weight,
    which is then ignored (HF ties it to model.embed_tokens.weight)."""
    values, _ = st.load_checkpoint(directory)
    want = dict(parameter_shapes(cfg))
    extra = sorted(set(values) - set(want) - ({"lm_head.weight"} if cfg.tie_word_embeddings else set()))
    missing = sorted(set(want) - set(values))
    if extra or missing:
        raise ValueError(f"{directory}: checkpoint names differ from the config's; missing {missing[:5]}, "
                         f"unexpected {extra[:5]}")
    out = {}
    for name, shape in want.items():
        if tuple(values[name].shape) != tuple(shape):
            raise ValueError(f"{name} has shape {tuple(values[name].shape)}; expected {tuple(shape)}")
        out[name] = values[name].to(dtype)
    return out


def load(directory, dtype=torch.float64):
    cfg = load_config(directory)
    return cfg, load_weights(directory, cfg, dtype)


# ---------------------------------------------------------------------------------------------------------------
# Building blocks

def linear(x, w, b=None):
    # y = x W^T (+ b), W stored [out, in] (torch nn.Linear)
    y = x @ w.t()
    return y if b is None else y + b


def rms_norm(x, w, eps):
    # Qwen2RMSNorm / LlamaRMSNorm: x * rsqrt(mean(x^2) + eps), then times the weight. HF upcasts x to float32 for
    # the normalization, casts back to the input dtype and only then multiplies by the weight; here everything runs
    # in the compute dtype (float64 for the goldens).
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def silu(x):
    return x * torch.sigmoid(x)


def mlp(cfg, w, prefix, x):
    # Qwen2MLP / LlamaMLP: down(silu(gate(x)) * up(x)); biases only for llama with mlp_bias
    def b(name):
        return w[prefix + name + ".bias"] if cfg.mlp_bias else None

    g = linear(x, w[prefix + "gate_proj.weight"], b("gate_proj"))
    u = linear(x, w[prefix + "up_proj.weight"], b("up_proj"))
    return linear(silu(g) * u, w[prefix + "down_proj.weight"], b("down_proj"))


# ---------------------------------------------------------------------------------------------------------------
# RoPE (huggingface/transformers:src/transformers/modeling_rope_utils.py, "default" and "llama3")

def default_inv_freq(theta, dim):
    # inv_freq[i] = 1 / theta^(2i / dim), i = 0 .. dim/2 - 1, in float32 as HF computes it (the int64 arange is cast
    # to float32 before the division and the power)
    return 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).to(torch.float32) / dim))


def llama3_inv_freq(inv_freq, factor, low_freq_factor, high_freq_factor, old_context_len):
    """Llama 3.1 frequency bands, in float32 like HF. With wavelen = 2 pi / inv_freq:
    wavelen < old/high_freq_factor: kept;  wavelen > old/low_freq_factor: divided by factor;
    otherwise (both bounds inclusive): (1 - s) inv/factor + s inv, s = (old/wavelen - low) / (high - low)."""
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= high_freq_wavelen) & (wavelen <= low_freq_wavelen)
    return torch.where(medium, smoothed, scaled)


def rope_inv_freq(cfg):
    inv = default_inv_freq(cfg.rope_theta, cfg.head_dim)
    if cfg.rope_type == "llama3":
        inv = llama3_inv_freq(inv, cfg.rope_factor, cfg.low_freq_factor, cfg.high_freq_factor,
                              cfg.original_max_position_embeddings)
    return inv


def rope_cos_sin(cfg, positions, dtype):
    """positions: (T,) int64 -> cos, sin of shape (T, head_dim): angle[t, i] = pos[t] * inv_freq[i] in float32 (HF's
    float32 product), the head_dim/2 angles repeated twice (emb = cat(freqs, freqs)); cos and sin then taken in
    `dtype`. attention_scaling is 1 for both rope types, so cos/sin are not scaled."""
    angle = positions.to(torch.float32)[:, None] * rope_inv_freq(cfg)[None, :]  # (T, head_dim/2), float32
    emb = torch.cat((angle, angle), dim=-1).to(dtype)
    return torch.cos(emb), torch.sin(emb)


def rotate_half(x):
    # (x1, x2) -> (-x2, x1) on the two halves of the last dim
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x, cos, sin):
    """x: (B, T, H, head_dim), cos/sin: (T, head_dim). out[i] = x[i] cos_i - x[i + d/2] sin_i and
    out[i + d/2] = x[i + d/2] cos_i + x[i] sin_i for i < d/2 (apply_rotary_pos_emb)."""
    return x * cos[None, :, None, :] + rotate_half(x) * sin[None, :, None, :]


# ---------------------------------------------------------------------------------------------------------------
# Attention, block, model

def attention(cfg, w, prefix, x, cos, sin, window=None):
    """Qwen2Attention / LlamaAttention with eager attention: x (B, T, D) normed -> (B, T, D). Query head h reads
    key/value head h // n_rep (repeat_kv). Causal from position 0, softmax scale head_dim^-0.5. `window` (sanity
    checks only) additionally hides keys more than window - 1 positions back, as HF's sliding-window mask does."""
    B, T, _ = x.shape
    H, KV, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim

    def proj(name, inp, bias):
        return linear(inp, w[prefix + name + ".weight"], w[prefix + name + ".bias"] if bias else None)

    q = proj("q_proj", x, cfg.qkv_bias).view(B, T, H, d)
    k = proj("k_proj", x, cfg.qkv_bias).view(B, T, KV, d)
    v = proj("v_proj", x, cfg.qkv_bias).view(B, T, KV, d)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    k = k.repeat_interleave(cfg.n_rep, dim=2)  # (B, T, H, d): kv head j serves query heads j*n_rep .. j*n_rep+n_rep-1
    v = v.repeat_interleave(cfg.n_rep, dim=2)
    scores = torch.einsum("bshd,bthd->bsht", q, k) * cfg.softmax_scale()  # (B, T_q, H, T_k)
    s_pos = torch.arange(T)[:, None]
    t_pos = torch.arange(T)[None, :]
    hidden = t_pos > s_pos
    if window is not None:
        hidden = hidden | (t_pos <= s_pos - window)
    mask = torch.zeros((T, T), dtype=scores.dtype).masked_fill(hidden, float("-inf"))
    p = torch.softmax(scores + mask[None, :, None, :], dim=-1)
    o = torch.einsum("bsht,bthd->bshd", p, v).reshape(B, T, H * d)
    return proj("o_proj", o, cfg.o_bias)


def block(cfg, w, i, x, cos, sin, window=None):
    # Qwen2DecoderLayer / LlamaDecoderLayer: pre-norm residual attention, then pre-norm residual MLP
    p = f"model.layers.{i}."
    h = x + attention(cfg, w, p + "self_attn.", rms_norm(x, w[p + "input_layernorm.weight"], cfg.rms_norm_eps),
                      cos, sin, window)
    return h + mlp(cfg, w, p + "mlp.", rms_norm(h, w[p + "post_attention_layernorm.weight"], cfg.rms_norm_eps))


def head_weight(cfg, w):
    # lm_head, or the embedding matrix itself when tie_word_embeddings
    return w["model.embed_tokens.weight"] if cfg.tie_word_embeddings else w["lm_head.weight"]


def forward(cfg, w, tokens, window_layers=None, window=None):
    """tokens: (B, T) int64 -> logits (B, T, V) at every position; positions 0 .. T-1.
    window_layers/window (sanity checks only) put a sliding window on those layers."""
    dtype = w["model.embed_tokens.weight"].dtype
    B, T = tokens.shape
    cos, sin = rope_cos_sin(cfg, torch.arange(T), dtype)
    h = w["model.embed_tokens.weight"][tokens]  # (B, T, D)
    for i in range(cfg.num_hidden_layers):
        h = block(cfg, w, i, h, cos, sin, window if window_layers and i in window_layers else None)
    h = rms_norm(h, w["model.norm.weight"], cfg.rms_norm_eps)
    return linear(h, head_weight(cfg, w))


def loss(cfg, w, tokens):
    """Mean next-token cross-entropy over the B*(T-1) positions that have a target: logits at t predict t+1
    (HF's causal-LM loss with labels = input_ids and no ignored positions)."""
    logits = forward(cfg, w, tokens)
    V = cfg.vocab_size
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1))


def greedy(cfg, w, prompt, new_tokens):
    """Full-recompute greedy decoding: run the whole sequence each step, append argmax of the last position's logits.
    No EOS stop. Returns (the new token ids, the smallest top-1 minus top-2 logit gap over the steps)."""
    seq = list(prompt)
    margin = math.inf
    for _ in range(new_tokens):
        last = forward(cfg, w, torch.tensor([seq]))[0, -1]
        top = torch.topk(last, 2)
        margin = min(margin, float(top.values[0] - top.values[1]))
        seq.append(int(top.indices[0]))
    return seq[len(prompt):], margin
