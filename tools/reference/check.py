"""check.py: recomputes golden variant directories with model.py and asserts they match what is stored.

For an inference variant: logits and MTP logits against expected.json (plus routing.json where present, and the
FP8 storage layout for a quantized checkpoint); for grads_tiny: loss and every gradient; for adamw_tiny: the 10
losses, the final loss and the final parameters. A dense (qwen2/llama) variant, chosen by config.json's model_type:
logits, the greedy continuation, the storage dtype and shard layout; its grads variant: loss and every gradient.
published/: every config parses and gives the expected geometry. Prints the max abs difference of each.
Not here: generation (make_golden.py), property checks (sanity.py).
Run: /usr/bin/python3 tools/reference/check.py [DIR ...]   (default: every directory under tests/data/reference)
"""

import json
import math
import os
import sys

sys.dont_write_bytecode = True

import torch  # noqa: E402

import dense as dn  # noqa: E402
import make_golden as mg  # noqa: E402
import model as ref  # noqa: E402
import safetensors_io as st  # noqa: E402

TOL = 1e-10  # float64 recomputation on another CPU/BLAS may differ in the last bits, never more


def max_diff(a, b):
    a = torch.as_tensor(a, dtype=torch.float64)
    b = torch.as_tensor(b, dtype=torch.float64)
    if a.shape != b.shape:
        raise AssertionError(f"shape {tuple(a.shape)} != expected {tuple(b.shape)}")
    return (a - b).abs().max().item() if a.numel() else 0.0


def expect(label, diff, tol=TOL):
    print(f"  {label}: max abs diff {diff:.3g}")
    if not diff <= tol:
        raise AssertionError(f"{label}: max abs diff {diff:.3g} > {tol:g}")


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def check_fp8_layout(directory, cfg):
    raw, _ = st.read_raw(os.path.join(directory, "model.safetensors"))
    quantized = 0
    for name, (dtype, shape, _) in raw.items():
        if name.endswith("_scale_inv"):
            continue
        if mg.is_fp8_linear(name):
            want = [math.ceil(shape[0] / ref.FP8_BLOCK), math.ceil(shape[1] / ref.FP8_BLOCK)]
            scale = raw.get(name + "_scale_inv")
            assert dtype == "F8_E4M3", f"{name} is {dtype}; expected F8_E4M3"
            assert scale is not None and scale[0] == "F32" and scale[1] == want, f"{name}_scale_inv: expected F32 {want}"
            quantized += 1
        elif name.endswith("e_score_correction_bias"):
            assert dtype == "F32", f"{name} is {dtype}; expected F32"
        else:
            assert dtype == "BF16", f"{name} is {dtype}; expected BF16"
    print(f"  fp8 layout: {quantized} F8_E4M3 weights with 128x128 scales, the rest BF16 / F32 bias")


def check_inference(directory):
    cfg, w = ref.load(directory, torch.float64)
    tokens = read_json(os.path.join(directory, "tokens.json"))
    expected = read_json(os.path.join(directory, "expected.json"))
    trace = {}
    out = ref.forward(cfg, w, torch.tensor([tokens]), trace=trace)
    expect("logits", max_diff(out["logits"][0], expected["logits"]))
    expect("mtp_logits", max_diff(out["mtp_logits"][0][0], expected["mtp_logits"]))
    routing_path = os.path.join(directory, "routing.json")
    if os.path.exists(routing_path):
        routing = read_json(routing_path)["layers"]
        for layer, r in routing.items():
            assert trace[layer]["with_bias"][0] == r["with_bias"], f"layer {layer}: routing with bias differs"
            assert trace[layer]["without_bias"][0] == r["without_bias"], f"layer {layer}: routing without bias differs"
            changed = sum(sorted(a) != sorted(b) for a, b in zip(r["with_bias"], r["without_bias"]))
            print(f"  routing layer {layer}: identical; the bias changes {changed} of {len(r['with_bias'])} tokens")
            assert changed > 0, f"layer {layer}: the bias changes no choice"
    if "quantization_config" in cfg.raw:
        check_fp8_layout(directory, cfg)


def check_grads(directory):
    info = read_json(os.path.join(directory, "loss.json"))
    cfg, w = ref.load(os.path.normpath(os.path.join(directory, info["weights"])), torch.float64)
    tokens = torch.tensor(read_json(os.path.join(directory, "tokens.json")))
    stored, _ = st.load_tensors(os.path.join(directory, "grads.safetensors"))
    names = mg.trainable(cfg, w)
    assert sorted(stored) == sorted(names), "grads.safetensors names differ from the trainable parameters"
    params = {n: w[n].clone().requires_grad_(True) for n in names}
    total, main, parts = ref.loss(cfg, {**w, **params}, tokens, info["mtp_lambda"])
    total.backward()
    expect("loss", abs(total.item() - info["loss"]))
    expect("main_loss", abs(main.item() - info["main_loss"]))
    expect("mtp_loss", max_diff([p.item() for p in parts], info["mtp_loss"]))
    worst = max(max_diff(params[n].grad if params[n].grad is not None else torch.zeros_like(params[n]), stored[n])
                for n in names)
    expect(f"{len(names)} gradients", worst)


def check_adamw(directory):
    info = read_json(os.path.join(directory, "losses.json"))
    cfg, w = ref.load(os.path.normpath(os.path.join(directory, info["weights"])), torch.float64)
    tokens = torch.tensor(read_json(os.path.join(directory, "tokens.json")))
    losses, params, final, _ = mg.adamw_steps(cfg, w, tokens, steps=len(info["losses"]), lr=info["lr"],
                                              betas=tuple(info["betas"]), eps=info["eps"],
                                              weight_decay=info["weight_decay"])
    expect("losses", max_diff(losses, info["losses"]))
    expect("final_loss", abs(final - info["final_loss"]))
    stored, _ = st.load_tensors(os.path.join(directory, "final.safetensors"))
    assert sorted(stored) == sorted(params), "final.safetensors names differ from the trainable parameters"
    expect("final parameters (as float32)", max(max_diff(params[n].float(), stored[n]) for n in params))


def is_dense(directory):
    return read_json(os.path.join(directory, "config.json")).get("model_type") in dn.FAMILIES


def check_dense_layout(directory, cfg):
    """Every tensor in the dtype config.json's torch_dtype names; a sharded checkpoint has its index and no
    model.safetensors beside it."""
    want = {"float32": "F32", "bfloat16": "BF16", "float16": "F16"}[cfg.raw["torch_dtype"]]
    _, dtypes = st.load_checkpoint(directory)
    wrong = sorted(n for n, d in dtypes.items() if d != want)
    assert not wrong, f"{wrong[0]} is {dtypes[wrong[0]]}; torch_dtype says {want}"
    index = os.path.join(directory, st.INDEX_NAME)
    if os.path.exists(index):
        assert not os.path.exists(os.path.join(directory, st.SINGLE_NAME)), "both an index and model.safetensors"
        shards = sorted(set(read_json(index)["weight_map"].values()))
        print(f"  layout: {len(dtypes)} {want} tensors in {len(shards)} shards ({', '.join(shards)})")
    else:
        print(f"  layout: {len(dtypes)} {want} tensors in {st.SINGLE_NAME}")


def check_dense_inference(directory):
    cfg, w = dn.load(directory, torch.float64)
    tokens = read_json(os.path.join(directory, "tokens.json"))
    expected = read_json(os.path.join(directory, "expected.json"))
    expect("logits", max_diff(dn.forward(cfg, w, torch.tensor([tokens]))[0], expected["logits"]))
    if "greedy_tokens" in expected:
        new, margin = dn.greedy(cfg, w, expected["greedy_prompt"], len(expected["greedy_tokens"]))
        assert new == expected["greedy_tokens"], f"greedy continuation {new} != stored {expected['greedy_tokens']}"
        print(f"  greedy: {len(new)} tokens identical (min top-1 margin {margin:.3g})")
    check_dense_layout(directory, cfg)


def check_dense_grads(directory):
    info = read_json(os.path.join(directory, "loss.json"))
    cfg, w = dn.load(os.path.normpath(os.path.join(directory, info["weights"])), torch.float64)
    tokens = torch.tensor(read_json(os.path.join(directory, "tokens.json")))
    stored, dtypes = st.load_tensors(os.path.join(directory, "grads.safetensors"))
    names = [n for n, _ in dn.parameter_shapes(cfg)]
    assert sorted(stored) == sorted(names), "grads.safetensors names differ from the checkpoint's tensors"
    assert set(dtypes.values()) == {"F64"}, "gradients must be F64"
    total, grads = mg.dense_grads(cfg, w, tokens)
    expect("loss", abs(total.item() - info["loss"]))
    expect("main_loss", abs(total.item() - info["main_loss"]))
    assert info["mtp_loss"] == [], "a dense model has no MTP loss"
    expect(f"{len(names)} gradients", max(max_diff(grads[n], stored[n]) for n in names))


# Derived geometry of the published configs: (family, head_dim, kv heads, n_rep, tied, rope type, eps)
PUBLISHED = {
    "DeepSeek-R1-Distill-Qwen-1.5B": ("qwen2", 128, 2, 6, False, "default", 1e-6),
    "DeepSeek-R1-Distill-Qwen-7B": ("qwen2", 128, 4, 7, False, "default", 1e-6),
    "DeepSeek-R1-Distill-Llama-8B": ("llama", 128, 8, 4, False, "llama3", 1e-5),
}
# The Hub's safetensors parameter count of deepseek-ai/DeepSeek-R1-Distill-Llama-8B (BF16): the config's
# parameter_shapes must add up to it.
LLAMA_8B_PARAMETERS = 8030261248


def check_published(directory):
    found = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
    assert found == sorted(PUBLISHED), f"published configs {found}; expected {sorted(PUBLISHED)}"
    for name in found:
        cfg = dn.load_config(os.path.join(directory, name))
        got = (cfg.family, cfg.head_dim, cfg.num_key_value_heads, cfg.n_rep, cfg.tie_word_embeddings, cfg.rope_type,
               cfg.rms_norm_eps)
        assert got == PUBLISHED[name], f"{name}: {got} != {PUBLISHED[name]}"
        names = dn.parameter_shapes(cfg)
        count = sum(math.prod(s) for _, s in names)
        if name == "DeepSeek-R1-Distill-Llama-8B":
            assert count == LLAMA_8B_PARAMETERS, f"{name}: {count} parameters; the Hub lists {LLAMA_8B_PARAMETERS}"
        print(f"  {name}: {cfg.family}, head_dim {cfg.head_dim}, {cfg.num_attention_heads} q / "
              f"{cfg.num_key_value_heads} kv heads, rope {cfg.rope_type} theta {cfg.rope_theta:g}, "
              f"{len(names)} tensors, {count / 1e9:.3f} B parameters")


def check(directory):
    print(os.path.basename(os.path.normpath(directory)))
    if os.path.basename(os.path.normpath(directory)) == "published":
        check_published(directory)
    elif os.path.exists(os.path.join(directory, "expected.json")):
        if is_dense(directory):
            check_dense_inference(directory)
        else:
            check_inference(directory)
    elif os.path.exists(os.path.join(directory, "loss.json")):
        weights = os.path.normpath(os.path.join(directory, read_json(os.path.join(directory, "loss.json"))["weights"]))
        if is_dense(weights):
            check_dense_grads(directory)
        else:
            check_grads(directory)
    elif os.path.exists(os.path.join(directory, "losses.json")):
        check_adamw(directory)
    else:
        raise SystemExit(f"{directory}: no expected.json, loss.json or losses.json; not a golden variant")


def main():
    torch.set_num_threads(1)
    dirs = sys.argv[1:] or sorted(os.path.join(mg.DEFAULT_OUT, d) for d in os.listdir(mg.DEFAULT_OUT)
                                  if os.path.isdir(os.path.join(mg.DEFAULT_OUT, d)))
    for d in dirs:
        check(d)
    print(f"all {len(dirs)} variants reproduce")


if __name__ == "__main__":
    main()
