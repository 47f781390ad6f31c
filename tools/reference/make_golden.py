"""make_golden.py: writes the golden files under tests/data/reference/ from seeded random tiny models.

DeepSeek-V3 variants (model.py), one directory each: qlora_f32, qproj_f32, yarn_f32, bias_f32, grouped_softmax_f32,
fp8 (inference: config.json, model.safetensors, tokens.json, expected.json; bias_f32 adds routing.json), grads_tiny
(loss and every parameter's gradient, float64) and adamw_tiny (10 AdamW steps, float64).
Dense GQA variants (dense.py): qwen2_f32 (sharded F32), qwen2_bf16, llama_f32 (inference plus a greedy
continuation in expected.json), grads_qwen2 and grads_llama (loss and gradients, float64).
Every expected value is computed from the weights as read back from disk, in float64.
Not here: the checks (check.py, sanity.py).
Run: /usr/bin/python3 tools/reference/make_golden.py [--out DIR] [--family all|deepseek|dense]
"""

import argparse
import copy
import math
import os
import sys

sys.dont_write_bytecode = True

import numpy as np  # noqa: E402
import torch  # noqa: E402

import dense as dn  # noqa: E402
import model as ref  # noqa: E402
import safetensors_io as st  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "data", "reference"))
MIN_ROUTING_MARGIN = 1e-4  # every top-k / top-group choice must win by this much, so float32 ports agree

# The base tiny config (HF keys). Dims are odd where they can be (5 heads) and some exceed 128 so the fp8 variant
# has partial edge blocks: dense intermediate 144 (scale [2, 1]), kv_b_proj rows 5 * (16 + 16) = 160 (scale [2, 1]).
BASE_CONFIG = {
    "architectures": ["DeepseekV3ForCausalLM"],
    "model_type": "deepseek_v3",
    "vocab_size": 96,
    "hidden_size": 48,
    "intermediate_size": 144,
    "moe_intermediate_size": 16,
    "num_hidden_layers": 2,
    "num_nextn_predict_layers": 1,
    "first_k_dense_replace": 1,
    "moe_layer_freq": 1,
    "num_attention_heads": 5,
    "num_key_value_heads": 5,
    "q_lora_rank": 24,
    "kv_lora_rank": 16,
    "qk_nope_head_dim": 16,
    "qk_rope_head_dim": 8,
    "v_head_dim": 16,
    "n_routed_experts": 8,
    "n_shared_experts": 1,
    "num_experts_per_tok": 2,
    "n_group": 4,
    "topk_group": 2,
    "topk_method": "noaux_tc",
    "scoring_func": "sigmoid",
    "norm_topk_prob": True,
    "routed_scaling_factor": 2.5,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-06,
    "attention_bias": False,
    "max_position_embeddings": 64,
    "rope_theta": 10000,
    "rope_scaling": None,
    "tie_word_embeddings": False,
    "bos_token_id": 0,
    "eos_token_id": 1,
    "torch_dtype": "float32",
}

T_TOKENS = 12

# Linears the official checkpoint stores as F8_E4M3 + weight_scale_inv (deepseek-ai/DeepSeek-V3:README_WEIGHTS.md), by the name's last two parts.
FP8_SUFFIXES = ("q_a_proj.weight", "q_b_proj.weight", "q_proj.weight", "kv_a_proj_with_mqa.weight",
                "kv_b_proj.weight", "o_proj.weight", "gate_proj.weight", "up_proj.weight", "down_proj.weight")


def parameter_shapes(cfg):
    """(HF name, shape) for every tensor of the checkpoint (deepseek-ai/DeepSeek-V3:README_WEIGHTS.md, HF modeling_deepseek_v3.py), MTP layers as model.layers.{L + k}."""
    D, V = cfg.hidden_size, cfg.vocab_size
    H, dqk, dv, c, dr = (cfg.num_attention_heads, cfg.qk_head_dim, cfg.v_head_dim, cfg.kv_lora_rank,
                         cfg.qk_rope_head_dim)
    out = [("model.embed_tokens.weight", (V, D))]

    def mlp(p, inter):
        return [(p + "gate_proj.weight", (inter, D)), (p + "up_proj.weight", (inter, D)),
                (p + "down_proj.weight", (D, inter))]

    for i in range(cfg.num_hidden_layers + cfg.num_nextn_predict_layers):
        p = f"model.layers.{i}."
        if i >= cfg.num_hidden_layers:
            out += [(p + "embed_tokens.weight", (V, D)), (p + "enorm.weight", (D,)), (p + "hnorm.weight", (D,)),
                    (p + "eh_proj.weight", (D, 2 * D)), (p + "shared_head.norm.weight", (D,)),
                    (p + "shared_head.head.weight", (V, D))]
        out.append((p + "input_layernorm.weight", (D,)))
        a = p + "self_attn."
        if cfg.q_lora_rank:
            out += [(a + "q_a_proj.weight", (cfg.q_lora_rank, D)), (a + "q_a_layernorm.weight", (cfg.q_lora_rank,)),
                    (a + "q_b_proj.weight", (H * dqk, cfg.q_lora_rank))]
        else:
            out.append((a + "q_proj.weight", (H * dqk, D)))
        out += [(a + "kv_a_proj_with_mqa.weight", (c + dr, D)), (a + "kv_a_layernorm.weight", (c,)),
                (a + "kv_b_proj.weight", (H * (cfg.qk_nope_head_dim + dv), c)), (a + "o_proj.weight", (D, H * dv)),
                (p + "post_attention_layernorm.weight", (D,))]
        m = p + "mlp."
        if cfg.is_moe_layer(i):
            out.append((m + "gate.weight", (cfg.n_routed_experts, D)))
            if cfg.topk_method == "noaux_tc":
                out.append((m + "gate.e_score_correction_bias", (cfg.n_routed_experts,)))
            for e in range(cfg.n_routed_experts):
                out += mlp(f"{m}experts.{e}.", cfg.moe_intermediate_size)
            if cfg.n_shared_experts:
                out += mlp(m + "shared_experts.", cfg.moe_intermediate_size * cfg.n_shared_experts)
        else:
            out += mlp(m, cfg.intermediate_size)
    return out + [("model.norm.weight", (D,)), ("lm_head.weight", (V, D))]


def random_weights(cfg, seed, bias_std=0.0):
    """Seeded normal weights: norms 1 + 0.1 N, embeddings N(0, 1), projections N(0, 0.2^2), the correction bias
    N(0, bias_std^2) (0 = the value at the start of training). The MTP layer's embed_tokens and shared_head.head are
    copies of model.embed_tokens and lm_head, as in the release."""
    g = torch.Generator().manual_seed(seed)
    w = {}
    for name, shape in parameter_shapes(cfg):
        if name.endswith(("embed_tokens.weight", "shared_head.head.weight")) or name == "lm_head.weight":
            continue
        if len(shape) == 1 and name.endswith("norm.weight"):
            w[name] = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif name.endswith("e_score_correction_bias"):
            w[name] = bias_std * torch.randn(shape, generator=g) if bias_std else torch.zeros(shape)
        else:
            w[name] = 0.2 * torch.randn(shape, generator=g)
    w["model.embed_tokens.weight"] = torch.randn((cfg.vocab_size, cfg.hidden_size), generator=g)
    w["lm_head.weight"] = 0.2 * torch.randn((cfg.vocab_size, cfg.hidden_size), generator=g)
    for k in range(cfg.num_nextn_predict_layers):
        p = f"model.layers.{cfg.num_hidden_layers + k}."
        w[p + "embed_tokens.weight"] = w["model.embed_tokens.weight"].clone()
        w[p + "shared_head.head.weight"] = w["lm_head.weight"].clone()
    return {k: v.float() for k, v in w.items()}


def is_fp8_linear(name):
    return name.endswith(FP8_SUFFIXES) and not name.startswith("lm_head")


def quantize_fp8(weight):
    """128x128 blocks: s = amax(block) / 448, q = round_to_e4m3(W / s) (the release ships no quantizer; this is the natural one); edge blocks are partial.
    Returns (uint8 codes, float32 scale_inv [ceil(rows/128), ceil(cols/128)])."""
    w = weight.double().numpy()
    rows, cols = w.shape
    b = ref.FP8_BLOCK
    scale = np.zeros((math.ceil(rows / b), math.ceil(cols / b)), dtype=np.float32)
    codes = np.zeros((rows, cols), dtype=np.uint8)
    for bi in range(scale.shape[0]):
        for bj in range(scale.shape[1]):
            blk = w[bi * b:(bi + 1) * b, bj * b:(bj + 1) * b]
            s = np.float32(np.abs(blk).max() / st.E4M3_MAX)
            scale[bi, bj] = s
            codes[bi * b:(bi + 1) * b, bj * b:(bj + 1) * b] = st.e4m3_encode(blk / np.float64(s))
    return codes, scale


def save_checkpoint(directory, raw_config, weights, fp8=False):
    os.makedirs(directory, exist_ok=True)
    st.write_json(os.path.join(directory, "config.json"), raw_config)
    tensors = {}
    for name, value in weights.items():
        if fp8 and is_fp8_linear(name):
            codes, scale = quantize_fp8(value)
            tensors[name] = ("F8_E4M3", codes)
            tensors[name + "_scale_inv"] = ("F32", scale)
        elif fp8 and not name.endswith("e_score_correction_bias"):
            tensors[name] = ("BF16", value)  # the release's non-quantized tensors are BF16; the bias stays F32
        else:
            tensors[name] = ("F32", value)
    st.write(os.path.join(directory, "model.safetensors"), tensors, {"format": "pt"})


def check_margins(stats, what):
    worst = min((m for _, m in stats), default=math.inf)
    if worst < MIN_ROUTING_MARGIN:
        raise SystemExit(f"{what}: a routing choice wins by only {worst:.3g} (< {MIN_ROUTING_MARGIN}); "
                         "change the seed so float32 ports route the same way")
    return worst


def write_inference_variant(out, name, raw_config, seed, bias_std=0.0, fp8=False, token_seed=7):
    directory = os.path.join(out, name)
    cfg = ref.Config(raw_config)
    save_checkpoint(directory, raw_config, random_weights(cfg, seed, bias_std), fp8)
    g = torch.Generator().manual_seed(token_seed)
    tokens = torch.randint(0, cfg.vocab_size, (T_TOKENS,), generator=g).tolist()
    st.write_json(os.path.join(directory, "tokens.json"), tokens, indent=None)
    cfg, w = ref.load(directory, torch.float64)
    stats, trace = [], {}
    result = ref.forward(cfg, w, torch.tensor([tokens]), trace=trace, stats=stats)
    margin = check_margins(stats, name)
    expected = {"logits": result["logits"][0].tolist(), "mtp_logits": result["mtp_logits"][0][0].tolist()}
    st.write_json(os.path.join(directory, "expected.json"), expected, indent=None)
    if bias_std:
        routing = {layer: {"with_bias": t["with_bias"][0], "without_bias": t["without_bias"][0]}
                   for layer, t in trace.items()}
        for layer, r in routing.items():
            changed = sum(sorted(a) != sorted(b) for a, b in zip(r["with_bias"], r["without_bias"]))
            if changed == 0:
                raise SystemExit(f"{name}: the bias changes no expert choice in layer {layer}; raise bias_std")
        st.write_json(os.path.join(directory, "routing.json"), {"layers": routing}, indent=None)
    print(f"{name}: {len(tokens)} tokens, min routing margin {margin:.3g}, "
          f"max |logit| {result['logits'].abs().max():.3f}")


def trainable(cfg, w):
    """The parameters a trainer updates: every tensor but the correction bias (moved by the balance rule, not by
    gradients, DeepSeek-V3 technical report §2.1.2) and the MTP layer's copies of embed_tokens and shared_head.head (tied to the trunk's)."""
    names = []
    for name in sorted(w):
        if name.endswith("e_score_correction_bias"):
            continue
        if name.startswith("model.layers.") and (name.endswith(".embed_tokens.weight")
                                                 or name.endswith(".shared_head.head.weight")):
            continue
        names.append(name)
    return names


def batch_tokens(cfg):
    g = torch.Generator().manual_seed(30)  # a batch whose 10 AdamW steps route with margin > 1e-4
    return torch.randint(0, cfg.vocab_size, (2, 8), generator=g)


def write_grads(out, source):
    directory = os.path.join(out, "grads_tiny")
    os.makedirs(directory, exist_ok=True)
    cfg, w = ref.load(os.path.join(out, source), torch.float64)
    tokens = batch_tokens(cfg)
    names = trainable(cfg, w)
    params = {n: w[n].clone().requires_grad_(True) for n in names}
    stats = []
    ref.forward(cfg, {**w, **params}, tokens, tied=True, stats=stats)
    margin = check_margins(stats, "grads_tiny")
    total, main, parts = ref.loss(cfg, {**w, **params}, tokens, mtp_lambda=0.3)
    total.backward()
    # an expert that no token chose has no gradient path: its gradient is zero
    grads = {n: ("F64", params[n].grad if params[n].grad is not None else torch.zeros_like(params[n]))
             for n in names}
    st.write(os.path.join(directory, "grads.safetensors"), grads, {"format": "pt", "dtype": "float64"})
    st.write_json(os.path.join(directory, "tokens.json"), tokens.tolist(), indent=None)
    st.write_json(os.path.join(directory, "loss.json"), {
        "weights": f"../{source}", "mtp_lambda": 0.3, "loss": total.item(), "main_loss": main.item(),
        "mtp_loss": [p.item() for p in parts]})
    print(f"grads_tiny: loss {total.item():.6f} (main {main.item():.6f}, mtp {parts[0].item():.6f}), "
          f"{len(names)} gradients, min routing margin {margin:.3g}")


def adamw_steps(cfg, w, tokens, steps=10, lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1):
    """Plain AdamW, float64, every trainable parameter decayed, no schedule, no clipping; step t = 1..steps:
    p -= lr * wd * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).  Returns the loss before each step and the final
    parameters and loss."""
    names = trainable(cfg, w)
    params = {n: w[n].clone() for n in names}
    m = {n: torch.zeros_like(params[n]) for n in names}
    v = {n: torch.zeros_like(params[n]) for n in names}
    losses, margins = [], []
    b1, b2 = betas
    for t in range(1, steps + 1):
        live = {n: p.detach().requires_grad_(True) for n, p in params.items()}
        stats = []
        ref.forward(cfg, {**w, **live}, tokens, tied=True, stats=stats)
        margins.append(check_margins(stats, f"adamw step {t}"))
        total, _, _ = ref.loss(cfg, {**w, **live}, tokens)
        total.backward()
        losses.append(total.item())
        with torch.no_grad():
            for n in names:
                g = live[n].grad if live[n].grad is not None else torch.zeros_like(live[n])
                p = params[n] * (1 - lr * weight_decay)
                m[n] = b1 * m[n] + (1 - b1) * g
                v[n] = b2 * v[n] + (1 - b2) * g * g
                params[n] = p - lr * (m[n] / (1 - b1 ** t)) / (torch.sqrt(v[n] / (1 - b2 ** t)) + eps)
    final, _, _ = ref.loss(cfg, {**w, **params}, tokens)
    return losses, params, final.item(), min(margins)


def write_adamw(out, source):
    directory = os.path.join(out, "adamw_tiny")
    os.makedirs(directory, exist_ok=True)
    cfg, w = ref.load(os.path.join(out, source), torch.float64)
    tokens = batch_tokens(cfg)
    losses, params, final, margin = adamw_steps(cfg, w, tokens)
    st.write_json(os.path.join(directory, "tokens.json"), tokens.tolist(), indent=None)
    st.write_json(os.path.join(directory, "losses.json"), {
        "weights": f"../{source}", "lr": 1e-3, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1,
        "mtp_lambda": 0.3, "losses": losses, "final_loss": final})
    st.write(os.path.join(directory, "final.safetensors"), {n: ("F32", p) for n, p in params.items()},
             {"format": "pt", "note": "parameters after 10 steps, rounded to float32"})
    print(f"adamw_tiny: losses {losses[0]:.6f} -> {losses[-1]:.6f}, final {final:.6f}, "
          f"min routing margin {margin:.3g}")


def variant_configs():
    qlora = copy.deepcopy(BASE_CONFIG)
    qproj = copy.deepcopy(BASE_CONFIG)
    qproj["q_lora_rank"] = None
    qproj["rms_norm_eps"] = 1e-05  # block norms use this; q/kv latent norms keep 1e-6
    yarn = copy.deepcopy(BASE_CONFIG)
    yarn["max_position_embeddings"] = 32
    yarn["rope_scaling"] = {"type": "yarn", "factor": 4, "original_max_position_embeddings": 8,
                            "beta_fast": 32, "beta_slow": 0.05, "mscale": 0.707, "mscale_all_dim": 0.707}
    bias = copy.deepcopy(BASE_CONFIG)
    softmax = copy.deepcopy(BASE_CONFIG)
    softmax.update({"topk_method": "group_limited_greedy", "scoring_func": "softmax", "norm_topk_prob": False,
                    "routed_scaling_factor": 1.5, "n_shared_experts": 2, "num_experts_per_tok": 3})
    fp8 = copy.deepcopy(BASE_CONFIG)
    fp8["torch_dtype"] = "bfloat16"
    fp8["quantization_config"] = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                  "weight_block_size": [128, 128]}
    return qlora, qproj, yarn, bias, softmax, fp8


# ---------------------------------------------------------------------------------------------------------------
# Dense GQA decoders (dense.py): HF qwen2 and llama

# Real HF config.json layouts (keys sorted, indent 2, as save_pretrained writes them), with tiny dims. No
# transformers_version: transformers did not write these files. qwen2: 4 query heads on 2 kv heads, head_dim 32/4 = 8,
# q/k/v biases, tied embeddings; sliding_window 4 < T with use_sliding_window false, so a port that applies the window
# anyway fails. llama: MQA (4 query heads, 1 kv head), an explicit head_dim 12 != 32/4, untied, llama3 rope whose
# bands (original 128, wavelen bounds 32 and 128) keep i = 0, interpolate i = 1 and divide i >= 2 by 8.
QWEN2_CONFIG = {
    "architectures": ["Qwen2ForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 95,
    "eos_token_id": 95,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "max_window_layers": 1,
    "model_type": "qwen2",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-06,
    "rope_theta": 10000,
    "sliding_window": 4,
    "tie_word_embeddings": True,
    "torch_dtype": "float32",
    "use_cache": True,
    "use_mrope": False,
    "use_sliding_window": False,
    "vocab_size": 96,
}

LLAMA_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 94,
    "eos_token_id": 95,
    "head_dim": 12,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 48,
    "max_position_embeddings": 1024,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 1,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                     "original_max_position_embeddings": 128, "rope_type": "llama3"},
    "rope_theta": 500000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
    "use_cache": True,
    "vocab_size": 96,
}

GREEDY_PROMPT = 5  # the prompt is the first 5 tokens of tokens.json
GREEDY_NEW = 12
MIN_GREEDY_MARGIN = 1e-4  # every greedy step's top-1 must beat top-2 by this much, so float32 ports agree
DENSE_LAYOUT_FILES = (st.SINGLE_NAME, st.INDEX_NAME, "model-00001-of-00002.safetensors",
                      "model-00002-of-00002.safetensors")


def dense_random_weights(cfg, seed):
    """Seeded normals in checkpoint order: norms 1 + 0.1 N, embeddings N(0, 1) untied and N(0, 0.3^2) tied, q/k/v
    (and any other) biases N(0, 0.3^2), projections and lm_head N(0, 0.2^2). Returned as float32. (A tied N(0, 1)
    embedding is also the head, and every greedy continuation then repeats one token.)"""
    g = torch.Generator().manual_seed(seed)
    emb_std = 0.3 if cfg.tie_word_embeddings else 1.0
    w = {}
    for name, shape in dn.parameter_shapes(cfg):
        if name.endswith("norm.weight"):
            w[name] = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif name == "model.embed_tokens.weight":
            w[name] = emb_std * torch.randn(shape, generator=g)
        elif name.endswith(".bias"):
            w[name] = 0.3 * torch.randn(shape, generator=g)
        else:
            w[name] = 0.2 * torch.randn(shape, generator=g)
    return {k: v.float() for k, v in w.items()}


def dense_shards(cfg, tensors):
    """HF-style split in module order with a layer across the boundary: shard 1 holds the embedding, layer 0 and the
    last layer's input_layernorm and self_attn; shard 2 the rest of the last layer, model.norm and lm_head."""
    last = f"model.layers.{cfg.num_hidden_layers - 1}."
    first = {}
    for name, _ in dn.parameter_shapes(cfg):
        if name.startswith(last) and ".self_attn." not in name and "input_layernorm" not in name:
            break
        first[name] = tensors[name]
    second = {n: t for n, t in tensors.items() if n not in first}
    assert any(k.startswith(last) for k in first) and any(k.startswith(last) for k in second), "no split layer"
    return [("model-00001-of-00002.safetensors", first), ("model-00002-of-00002.safetensors", second)]


def save_dense_checkpoint(directory, raw_config, weights, dtype="F32", sharded=False):
    os.makedirs(directory, exist_ok=True)
    for stale in DENSE_LAYOUT_FILES:
        if os.path.exists(os.path.join(directory, stale)):
            os.unlink(os.path.join(directory, stale))
    st.write_json(os.path.join(directory, "config.json"), raw_config, indent=2, sort_keys=True)
    cfg = dn.Config(raw_config)
    tensors = {name: (dtype, weights[name]) for name, _ in dn.parameter_shapes(cfg)}
    if sharded:
        st.write_sharded(directory, dense_shards(cfg, tensors), {"format": "pt"})
    else:
        st.write(os.path.join(directory, st.SINGLE_NAME), tensors, {"format": "pt"})


def write_dense_variant(out, name, raw_config, weights, tokens, dtype="F32", sharded=False, greedy=True):
    directory = os.path.join(out, name)
    save_dense_checkpoint(directory, raw_config, weights, dtype, sharded)
    st.write_json(os.path.join(directory, "tokens.json"), tokens, indent=None)
    cfg, w = dn.load(directory, torch.float64)
    logits = dn.forward(cfg, w, torch.tensor([tokens]))[0]
    expected = {"logits": logits.tolist()}
    note = ""
    if greedy:
        prompt = tokens[:GREEDY_PROMPT]
        new, margin = dn.greedy(cfg, w, prompt, GREEDY_NEW)
        if margin < MIN_GREEDY_MARGIN:
            raise SystemExit(f"{name}: a greedy step wins by only {margin:.3g}; change the seed")
        specials = {raw_config["bos_token_id"], raw_config["eos_token_id"]}
        if specials & set(new):
            raise SystemExit(f"{name}: the greedy continuation hits bos/eos; change the seed")
        expected.update({"greedy_prompt": prompt, "greedy_tokens": new})
        note = f", greedy {new} (min margin {margin:.3g})"
    st.write_json(os.path.join(directory, "expected.json"), expected, indent=None)
    print(f"{name}: {len(tokens)} tokens, max |logit| {logits.abs().max():.3f}{note}")


def dense_batch(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, cfg.vocab_size, (2, 16), generator=g)


def dense_grads(cfg, w, tokens):
    """Loss and the gradient of every checkpoint tensor (float64). Tied checkpoints have no lm_head.weight: the
    embedding's gradient includes the head's."""
    names = [n for n, _ in dn.parameter_shapes(cfg)]
    params = {n: w[n].clone().requires_grad_(True) for n in names}
    total = dn.loss(cfg, params, tokens)
    total.backward()
    return total, {n: params[n].grad for n in names}


def write_dense_grads(out, name, source, seed):
    directory = os.path.join(out, name)
    os.makedirs(directory, exist_ok=True)
    cfg, w = dn.load(os.path.join(out, source), torch.float64)
    tokens = dense_batch(cfg, seed)
    total, grads = dense_grads(cfg, w, tokens)
    st.write(os.path.join(directory, "grads.safetensors"), {n: ("F64", g) for n, g in grads.items()},
             {"format": "pt", "dtype": "float64"})
    st.write_json(os.path.join(directory, "tokens.json"), tokens.tolist(), indent=None)
    st.write_json(os.path.join(directory, "loss.json"), {
        "weights": f"../{source}", "loss": total.item(), "main_loss": total.item(), "mtp_loss": []})
    print(f"{name}: loss {total.item():.6f}, {len(grads)} gradients")


def write_dense(out):
    qwen2 = dn.Config(QWEN2_CONFIG)
    qwen2_w = dense_random_weights(qwen2, seed=11)
    g = torch.Generator().manual_seed(21)
    qwen2_tokens = torch.randint(0, qwen2.vocab_size, (16,), generator=g).tolist()
    write_dense_variant(out, "qwen2_f32", QWEN2_CONFIG, qwen2_w, qwen2_tokens, sharded=True)
    bf16 = copy.deepcopy(QWEN2_CONFIG)
    bf16["torch_dtype"] = "bfloat16"
    write_dense_variant(out, "qwen2_bf16", bf16, qwen2_w, qwen2_tokens, dtype="BF16", greedy=False)
    llama = dn.Config(LLAMA_CONFIG)
    llama_w = dense_random_weights(llama, seed=15)
    g = torch.Generator().manual_seed(22)
    llama_tokens = torch.randint(0, llama.vocab_size, (24,), generator=g).tolist()
    write_dense_variant(out, "llama_f32", LLAMA_CONFIG, llama_w, llama_tokens)
    write_dense_grads(out, "grads_qwen2", "qwen2_f32", seed=31)
    write_dense_grads(out, "grads_llama", "llama_f32", seed=32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: tests/data/reference)")
    parser.add_argument("--family", choices=("all", "deepseek", "dense"), default="all",
                        help="which variants to write (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    if args.family in ("all", "deepseek"):
        qlora, qproj, yarn, bias, softmax, fp8 = variant_configs()
        write_inference_variant(args.out, "qlora_f32", qlora, seed=1)
        write_inference_variant(args.out, "qproj_f32", qproj, seed=2)
        write_inference_variant(args.out, "yarn_f32", yarn, seed=3, token_seed=8)
        write_inference_variant(args.out, "bias_f32", bias, seed=4, bias_std=0.3)
        write_inference_variant(args.out, "grouped_softmax_f32", softmax, seed=5)
        write_inference_variant(args.out, "fp8", fp8, seed=1, fp8=True)
        write_grads(args.out, "qlora_f32")
        write_adamw(args.out, "qlora_f32")
    if args.family in ("all", "dense"):
        write_dense(args.out)


if __name__ == "__main__":
    main()
