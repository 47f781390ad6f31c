"""bench_infer.py: PyTorch eager cached generation throughput of a DeepSeek-V3 model, the comparison for `sharpseek bench infer`.

Loads a model directory (or builds random weights for a config, normal(0, initializer_range), norms 1), then for each
batch size times a prefill of `--prompt` tokens per sequence and `--decode` greedy decode steps with the absorbed-MLA
latent cache of decode.py, in no-grad float32 (or bfloat16 weights and activations with --dtype bf16). Prints one JSON
object: per batch, prefill tokens/s and decode tokens/s (median step), and the process's peak RSS.

    /usr/bin/python3 tools/reference/bench_infer.py --config configs/small.json --batches 1 8 --prompt 64 --decode 32 --threads 2
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decode  # noqa: E402
import make_golden  # noqa: E402  (parameter_shapes)
import model as ref  # noqa: E402


def random_weights(cfg, raw, dtype):
    std = raw.get("initializer_range", 0.02)
    w = {}
    for name, shape in make_golden.parameter_shapes(cfg):
        if name.endswith("e_score_correction_bias"):
            w[name] = torch.zeros(shape)
        elif name.endswith("norm.weight"):
            w[name] = torch.ones(shape)
        else:
            w[name] = std * torch.randn(shape)
    return {k: v.to(dtype) for k, v in w.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="config.json path (random weights)")
    source.add_argument("--model", help="HF-format model directory")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--prompt", type=int, default=64, help="prompt tokens per sequence")
    parser.add_argument("--decode", type=int, default=32, help="timed decode steps")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="prefills timed per batch (the median counts)")
    args = parser.parse_args()
    if args.prompt < 1 or args.decode < 1 or min(args.batches) < 1:
        raise SystemExit(f"need prompt, decode and batches >= 1; got {args.prompt}, {args.decode}, {args.batches}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dtype = torch.float32 if args.dtype == "f32" else torch.bfloat16
    if args.model:
        cfg, w = ref.load(args.model, dtype)
    else:
        with open(args.config, encoding="utf-8") as f:
            raw = json.load(f)
        cfg = ref.Config(raw)
        w = random_weights(cfg, raw, dtype)
    total = args.prompt + args.decode + 1
    cos, sin = ref.rope_cos_sin(cfg, total, dtype)
    results = []
    with torch.no_grad():
        for b in args.batches:
            prompts = torch.randint(0, cfg.vocab_size, (b, args.prompt))
            prefill = []
            for _ in range(args.repeats + 1):  # the first is warm-up
                cache = decode.Cache(cfg, b, total, dtype)
                start = time.perf_counter()
                nxt = decode.forward_cached(cfg, w, prompts, 0, cache, cos, sin, last_only=True).argmax(-1)
                prefill.append(time.perf_counter() - start)
            steps = []
            for i in range(args.decode):
                start = time.perf_counter()
                nxt = decode.forward_cached(cfg, w, nxt[:, None], args.prompt + i, cache, cos, sin,
                                            last_only=True).argmax(-1)
                steps.append(time.perf_counter() - start)
            results.append({"batch": b, "prefill_tokens_per_s": b * args.prompt / statistics.median(prefill[1:]),
                            "decode_tokens_per_s": b / statistics.median(steps[1:] if len(steps) > 1 else steps)})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "dtype": args.dtype,
                      "prompt": args.prompt, "decode": args.decode, "results": results,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
