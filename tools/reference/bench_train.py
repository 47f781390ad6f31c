"""bench_train.py: PyTorch eager training throughput of a DeepSeek-V3 or dense (qwen2, llama) config, the comparison for
`sharpseek bench train`.

Builds the model of model.py in float32 with random weights (normal(0, initializer_range), norms 1, correction bias 0),
a fixed random token batch (B, T), and times full training steps: forward + backward of model.loss (main CE + 0.3 x MTP
CE, embedding and head tied into the MTP module), clip_grad_norm_(1.0) and torch.optim.AdamW (betas 0.9/0.95, eps 1e-8,
weight decay 0.1 on matrices). After the warm-up (--warmup steps and at least --warmup-seconds), prints one JSON object: best and median step seconds, tokens/s
of the median step, and the process's peak RSS (getrusage ru_maxrss) and its RSS after importing torch.
A dense config (model_type qwen2 or llama: the distillation students) runs dense.py's forward and its next-token
cross-entropy instead, with the same initialization, optimizer and clipping.
Not here: the balance loss and the bias update (model.py has neither; both are a negligible share of a step).

    /usr/bin/python3 tools/reference/bench_train.py --config configs/small.json --batch 8 --seq 256 --steps 5 --threads 2
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
import dense  # noqa: E402
import make_golden  # noqa: E402  (parameter_shapes)
import model as ref  # noqa: E402


def rss_mib():
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="config.json path")
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--seq", type=int, required=True)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--warmup-seconds", type=float, default=0.0, help="warm up at least this long as well")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.batch < 1 or args.seq < 3 or args.steps < 1:
        raise SystemExit(f"need batch >= 1, seq >= 3 and steps >= 1; got {args.batch}, {args.seq}, {args.steps}")
    baseline = rss_mib()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.config, encoding="utf-8") as f:
        raw = json.load(f)
    is_dense = raw.get("model_type") in dense.FAMILIES
    cfg = dense.Config(raw) if is_dense else ref.Config(raw)
    if args.seq > raw.get("max_position_embeddings", args.seq):
        raise SystemExit(f"seq {args.seq} exceeds max_position_embeddings {raw['max_position_embeddings']}")
    std = raw.get("initializer_range", 0.02)

    params, buffers = {}, {}
    for name, shape in (dense.parameter_shapes(cfg) if is_dense else make_golden.parameter_shapes(cfg)):
        mtp_copy = name.startswith("model.layers.") and name.endswith(("embed_tokens.weight", "shared_head.head.weight"))
        if mtp_copy:
            continue  # tied: the MTP module uses model.embed_tokens and lm_head
        if name.endswith("e_score_correction_bias"):
            buffers[name] = torch.zeros(shape)
        elif name.endswith(".bias"):
            params[name] = torch.zeros(shape, requires_grad=True)
        elif name.endswith("norm.weight") or name.endswith("layernorm.weight"):
            params[name] = torch.ones(shape, requires_grad=True)
        else:
            params[name] = (std * torch.randn(shape)).requires_grad_(True)
    decay = [p for p in params.values() if p.dim() >= 2]
    rest = [p for p in params.values() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                                  lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
    tokens = torch.randint(0, cfg.vocab_size, (args.batch, args.seq))
    weights = {**buffers, **params}

    def step():
        optimizer.zero_grad(set_to_none=True)
        total = dense.loss(cfg, weights, tokens) if is_dense else ref.loss(cfg, weights, tokens, mtp_lambda=0.3)[0]
        total.backward()
        torch.nn.utils.clip_grad_norm_(params.values(), 1.0)
        optimizer.step()
        return total.item()

    warmup_start, warmed = time.perf_counter(), 0
    while warmed < args.warmup or time.perf_counter() - warmup_start < args.warmup_seconds:
        step()
        warmed += 1
    times, loss = [], float("nan")
    for _ in range(args.steps):
        start = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(), "batch": args.batch, "seq": args.seq,
        "steps": args.steps, "best_s": min(times), "median_s": median, "tokens_per_s": args.batch * args.seq / median,
        "loss": loss, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "baseline_rss_mib": baseline}))


if __name__ == "__main__":
    main()
