"""check.py: recomputes golden variant directories with model.py and asserts they match what is stored.

For an inference variant: logits and MTP logits against expected.json (plus routing.json where present, and the
FP8 storage layout for a quantized checkpoint); for grads_tiny: loss and every gradient; for adamw_tiny: the 10
losses, the final loss and the final parameters. Prints the max abs difference of each.
Not here: generation (make_golden.py), property checks (sanity.py).
Run: /usr/bin/python3 tools/reference/check.py [DIR ...]   (default: every directory under tests/data/reference)
"""

import json
import math
import os
import sys

sys.dont_write_bytecode = True

import torch  # noqa: E402

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


def check(directory):
    print(os.path.basename(os.path.normpath(directory)))
    if os.path.exists(os.path.join(directory, "expected.json")):
        check_inference(directory)
    elif os.path.exists(os.path.join(directory, "loss.json")):
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
