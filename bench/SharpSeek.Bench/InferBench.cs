// InferBench.cs: `sharpseek bench infer`: prefill and decode tokens/s of a checkpoint on the inference runtime
// (ModelRunner over the latent KV cache) per weight format and batch, side by side with the PyTorch reference's cached
// generation on the same file (tools/reference/bench_infer.py); batch decode against the memory-bandwidth roofline
// (bytes read per step over the measured copy bandwidth); and with a model holding an MTP module, greedy decoding with
// and without MTP speculation per format, beside the speedup the steps' weight bytes allow. Not here: the command line (BenchInferCommand), the runtime itself. Tested by BenchInferCommandTests
// (tiny preset, no PyTorch); the full benchmark never runs in CI.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpSeek.Inference.Runtime;
using SharpSeek.Inference.Text;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Training.Data;

namespace SharpSeek.Bench;

/// <summary>What `sharpseek bench infer` measures.</summary>
public sealed record InferBenchOptions
{
    /// <summary>A model directory; null builds random weights for <see cref="Config"/> into a temporary checkpoint.</summary>
    public string? Model { get; init; }

    public string Config { get; init; } = "small";

    public IReadOnlyList<int> Batches { get; init; } = [1, 8];

    public int Prompt { get; init; } = 64;

    public int Decode { get; init; } = 32;

    public IReadOnlyList<WeightFormat> Formats { get; init; } = [WeightFormat.F32, WeightFormat.BF16, WeightFormat.Fp8];

    /// <summary>Thread counts, each measured in turn (a DeepSeek model takes one).</summary>
    public IReadOnlyList<int> Threads { get; init; } = [2];

    /// <summary>GGUF files llama-bench measures beside a dense model (none: the LLAMA_GGUF environment variable's).</summary>
    public IReadOnlyList<string> Gguf { get; init; } = [];

    public bool Reference { get; init; } = true;

    public bool Speculative { get; init; }

    /// <summary>Seconds of untimed prefill + decode before the first timed step of each format (tiered JIT).</summary>
    public double WarmupSeconds { get; init; } = 3;
}

public static class InferBench
{
    private const string Script = "tools/reference/bench_infer.py";
    private const int PrefillRepeats = 3;
    private const int PromptCount = 4;
    private const int SpeculationPasses = 3;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Runs the benchmark and prints the table (or the report as JSON).</summary>
    public static int Run(TextWriter output, InferBenchOptions options, bool json)
    {
        ArgumentNullException.ThrowIfNull(output);
        var report = Measure(options);
        output.WriteLine(json ? JsonSerializer.Serialize(report, Indented) : Table(report));
        return 0;
    }

    /// <summary>Every figure of one run: the copy bandwidth, then per format and batch ours and PyTorch's, then speculation.</summary>
    public static InferBenchReport Measure(InferBenchOptions options)
    {
        Validate(options);
        if (options.Threads.Count != 1) { throw new ArgumentException($"a DeepSeek model is measured at one thread count; got --threads {string.Join(' ', options.Threads)}"); }
        var threads = options.Threads[0];
        WorkerPool.UseThreads(threads);
        var temporary = options.Model is null ? Path.Combine(Path.GetTempPath(), $"sharpseek-bench-infer-{Environment.ProcessId}") : null;
        try
        {
            var dir = options.Model ?? WriteRandomCheckpoint(options.Config, temporary!);
            var (from, to) = (new float[1 << 24], new float[1 << 24]);
            from.AsSpan().Fill(1f);
            var copy = OpsBench.CopyBandwidth(from, to, reps: 5);
            var rows = new List<InferBenchRow>();
            var why = options.Reference ? "" : "--no-reference";
            foreach (var format in options.Formats)
            {
                using var weights = InferenceWeights.Load(dir, format);
                var torch = options.Reference && format != WeightFormat.Fp8 ? MeasurePyTorch(dir, options, format, out why) : null;
                foreach (var b in options.Batches)
                {
                    // The copy bandwidth just before this row's warm-up and just after its timed and profiled steps: the
                    // machine's memory speed moves between runs (and within one), so each roofline takes its own moment's.
                    var before = OpsBench.CopyBandwidth(from, to, reps: 5);
                    var (prefill, decode, shares) = MeasureRunner(weights, b, options);
                    var rowCopy = (before + OpsBench.CopyBandwidth(from, to, reps: 5)) / 2;
                    var (weightBytes, cacheBytes) = DecodeStepBytes(weights, b, options.Prompt + (options.Decode / 2));
                    var theirs = torch?.FirstOrDefault(r => r.Batch == b);
                    rows.Add(new InferBenchRow
                    {
                        Format = Name(format),
                        Batch = b,
                        PrefillTokensPerSecond = prefill,
                        DecodeTokensPerSecond = decode,
                        PyTorchPrefill = theirs?.Prefill,
                        PyTorchDecode = theirs?.Decode,
                        WeightBytes = weightBytes,
                        CacheBytes = cacheBytes,
                        CopyGBps = rowCopy,
                        RooflineTokensPerSecond = b * rowCopy * 1e9 / (weightBytes + cacheBytes),
                        DecodeGemm = shares.Gemm,
                        DecodeAttention = shares.Attention,
                        DecodeRouting = shares.Routing,
                    });
                }
            }
            return new InferBenchReport
            {
                Model = options.Model ?? $"{options.Config} (random weights)",
                Threads = threads,
                Prompt = options.Prompt,
                Decode = options.Decode,
                CopyGBps = copy,
                PyTorch = why.Length == 0 ? "ran" : why,
                Results = rows,
                Speculative = options.Speculative ? [.. options.Formats.Select(f => MeasureSpeculation(dir, options, f))] : null,
            };
        }
        finally
        {
            if (temporary is not null && Directory.Exists(temporary)) { Directory.Delete(temporary, recursive: true); }
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless prompt ≥ 1, decode ≥ 2, and there are thread counts (each ≥ 1),
    /// batches (each ≥ 1) and formats.</summary>
    public static void Validate(InferBenchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Prompt < 1 || options.Decode < 2 || options.Threads.Count == 0 || options.Threads.Any(t => t < 1) || options.Batches.Count == 0 || options.Batches.Any(b => b < 1) || options.Formats.Count == 0)
        {
            throw new ArgumentException($"need prompt ≥ 1, decode ≥ 2, threads ≥ 1, at least one batch (each ≥ 1) and one format; got prompt {options.Prompt}, decode {options.Decode}, threads [{string.Join(' ', options.Threads)}], batches [{string.Join(' ', options.Batches)}], {options.Formats.Count} formats");
        }
    }

    /// <summary>
    /// Bytes one decode step of <paramref name="batch"/> one-token sequences reads, each with <paramref name="positions"/>
    /// cached positions: every projection on the path in its stored format (FP8 with its block scales) — per layer q_a,
    /// q_b (or q), kv_a, o and the f32 kv_b the absorbed attention slices, the dense MLP or the router (weight and bias),
    /// shared experts and min(E, B·K) routed experts (all E once B·K ≥ E), and the head — then the latent cache of the
    /// main layers, B · L · positions · (c + d_r) · 4. Norms and the B embedding rows (a few KiB) are left out.
    /// </summary>
    public static (long Weights, long Cache) DecodeStepBytes(InferenceWeights weights, int batch, int positions)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(positions);
        var c = weights.Config;
        var bytes = weights.Model.Head.View.Bytes;
        foreach (var layer in weights.Model.Layers) { bytes += LayerBytes(layer, batch * c.ExpertsPerToken); }
        var cache = 4L * batch * c.NumHiddenLayers * positions * (c.KvLoraRank + c.QkRopeHeadDim);
        return (bytes, cache);
    }

    /// <summary>
    /// The weight bytes of the three steps MTP speculation runs at batch 1 (<see cref="DecodeStepBytes"/>'s counting):
    /// a plain 1-row step, a 2-row verify (the dense path read once, min(E, 2K) routed experts per MoE layer: the two rows'
    /// routes taken as distinct, an upper bound) and the draft step of 1 and of 2 rows (eh_proj, the MTP block's decoder
    /// layer with min(E, rows·K) experts, and the shared head), with the dense path and the routed bytes per token apart.
    /// </summary>
    public static SpeculationBytes SpeculationStepBytes(InferenceWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var model = weights.Model;
        if (model.Mtp.Count == 0) { throw new ArgumentException("the model has no MTP module (num_nextn_predict_layers is 0)", nameof(weights)); }
        var k = weights.Config.ExpertsPerToken;
        var plain = DecodeStepBytes(weights, 1, 0).Weights;
        var dense = model.Head.View.Bytes + model.Layers.Sum(l => LayerBytes(l, 0));
        var mtp = model.Mtp[0];
        long Draft(int rows) => mtp.EhProj.View.Bytes + LayerBytes(mtp.Block, rows * k) + model.Head.View.Bytes;
        return new SpeculationBytes(plain, dense, plain - dense, DecodeStepBytes(weights, 2, 0).Weights, Draft(1), Draft(2));
    }

    /// <summary>
    /// The speedup of speculative over plain decode steps if every step took time in proportion to the weight bytes it
    /// reads: <paramref name="tokensPerMainStep"/> tokens for a verify plus a draft step, against one token per plain
    /// step. The draft step has 2 rows after an accepted draft (a fraction <paramref name="acceptance"/> of them), else 1:
    /// bound = tokens per main step · plain / (verify + draft(1) + acceptance · (draft(2) − draft(1))).
    /// </summary>
    public static double SpeculationBound(SpeculationBytes bytes, double acceptance, double tokensPerMainStep)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentOutOfRangeException.ThrowIfNegative(acceptance);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(acceptance, 1);
        return tokensPerMainStep * bytes.Plain / (bytes.Verify + bytes.Draft1 + (acceptance * (bytes.Draft2 - bytes.Draft1)));
    }

    // One decoder layer's weight bytes with `experts` routed experts touched (capped at E; none for a dense layer).
    private static long LayerBytes(Block layer, long experts)
    {
        static long B(Linear? l) => l?.View.Bytes ?? 0;
        static long SwiGlu(Mlp m) => B(m.Gate) + B(m.Up) + B(m.Down);
        var bytes = layer.Attention switch
        {
            Mla a => B(a.WqA) + B(a.WqB) + B(a.Wq) + B(a.WkvA) + (4L * a.WkvB.View.Rows * a.WkvB.View.Cols) + B(a.Wo), // kv_b_proj read in f32
            Gqa g => B(g.Q) + B(g.K) + B(g.V) + B(g.O),
            _ => 0,
        };
        if (layer.Mlp is { } mlp) { bytes += SwiGlu(mlp); }
        if (layer.Moe is { } moe)
        {
            bytes += 4L * (moe.Gate.Weight.Value.ElementCount + (moe.Gate.CorrectionBias?.Value.ElementCount ?? 0)) + (Math.Min(moe.Experts.Count, experts) * SwiGlu(moe.Experts[0]))
                + (moe.Shared is { } shared ? SwiGlu(shared) : 0);
        }
        return bytes;
    }

    /// <summary>The table: one line per (format, batch) with the ratios to PyTorch and, for decode, to the roofline.</summary>
    public static string Table(InferBenchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var i = CultureInfo.InvariantCulture;
        static string Ratio(double? r) => r is { } v ? v.ToString("F2", CultureInfo.InvariantCulture) : "n/a";
        static string Mib(long bytes) => (bytes / 1048576.0).ToString("F2", CultureInfo.InvariantCulture);
        static string Tps(double? r) => r is { } v ? v.ToString("F0", CultureInfo.InvariantCulture) : "n/a";
        var text = new System.Text.StringBuilder();
        text.AppendLine(string.Create(i, $"infer {report.Model} threads={report.Threads} prompt={report.Prompt} decode={report.Decode}: copy {report.CopyGBps:F1} GB/s at the start, pytorch {report.PyTorch}"));
        text.AppendLine(string.Create(i, $"{"format",-6} {"batch",5} | {"prefill tok/s",13} {"pytorch",9} {"ratio",6} | {"decode tok/s",12} {"pytorch",9} {"ratio",6} | {"MiB/step",9} {"copy GB/s",9} {"roofline",9} {"of roof",7} | decode step: gemm attn route other"));
        foreach (var r in report.Results)
        {
            text.AppendLine(string.Create(i,
                $"{r.Format,-6} {r.Batch,5} | {r.PrefillTokensPerSecond,13:F0} {Tps(r.PyTorchPrefill),9} {Ratio(r.PrefillRatio),6} | {r.DecodeTokensPerSecond,12:F0} {Tps(r.PyTorchDecode),9} {Ratio(r.DecodeRatio),6} | {(r.WeightBytes + r.CacheBytes) / 1048576.0,9:F2} {r.CopyGBps,9:F1} {r.RooflineTokensPerSecond,9:F0} {100 * r.RooflineFraction,6:F0}% | {"",12} {100 * r.DecodeGemm,3:F0}% {100 * r.DecodeAttention,3:F0}% {100 * r.DecodeRouting,4:F0}% {100 * (1 - r.DecodeGemm - r.DecodeAttention - r.DecodeRouting),4:F0}%"));
        }
        foreach (var s in report.Speculative ?? [])
        {
            var b = s.Bytes!;
            text.AppendLine(string.Create(i,
                $"mtp speculation {s.Format} ({s.Prompts} prompts from {s.PromptSource} × {s.Passes} passes, {s.NewTokens} greedy tokens each, batch 1): acceptance {100 * s.Acceptance:F1}% ({s.Accepted}/{s.Drafted}), {s.TokensPerMainStep:F2} tokens per main step, decode speedup {s.DecodeSpeedup:F2}× (median of {s.Prompts * s.Passes} pairs, {s.DecodeSpeedupRange[0]:F2}–{s.DecodeSpeedupRange[1]:F2}; totals {s.PlainDecodeSeconds:F2} s → {s.SpeculativeDecodeSeconds:F2} s; with prefill {s.Speedup:F2}×, {s.PlainSeconds:F2} s → {s.SpeculativeSeconds:F2} s), byte bound {s.BoundSpeedup:F2}× ({100 * s.OfBound:F0}% of it), same output {(s.SameOutput ? "yes" : "NO")}"));
            text.AppendLine(string.Create(i,
                $"  weight MiB per step: plain {Mib(b.Plain)} (dense path {Mib(b.DensePath)} + routed {Mib(b.RoutedPerToken)}), verify {Mib(b.Verify)}, draft {Mib(b.Draft1)} (1 row) / {Mib(b.Draft2)} (2 rows)"));
        }
        return text.ToString().TrimEnd();
    }

    // Random weights for a preset (normal(0, initializer_range), norms 1: InitializeRandom(1)'s values) saved as an F32 checkpoint.
    private static string WriteRandomCheckpoint(string preset, string dir)
    {
        RandomCheckpoint.Write(dir, ModelConfig.LoadPreset(preset), CheckpointFormat.F32, seed: 1);
        return dir;
    }

    // Prefill of B × prompt tokens (the median of PrefillRepeats), then Decode greedy one-token steps of all B sequences
    // (the median step), as bench_infer.py times them; after WarmupSeconds of the same work untimed.
    internal static (double Prefill, double Decode, (double Gemm, double Attention, double Routing) Shares) MeasureRunner(InferenceWeights weights, int b, InferBenchOptions options)
    {
        var config = weights.Config;
        using var cache = new KvCache(config, b, options.Prompt + options.Decode + 1);
        using var runner = new ModelRunner(weights, cache);
        var random = new Random(7);
        var prompts = new int[b][];
        for (var s = 0; s < b; s++) { prompts[s] = [.. Enumerable.Range(0, options.Prompt).Select(_ => random.Next(config.VocabSize))]; }
        var chunks = new SequenceChunk[b];
        var next = new int[b][];
        for (var s = 0; s < b; s++) { next[s] = new int[1]; }

        var acquired = false;
        double Prefill()
        {
            for (var s = 0; s < b && acquired; s++) { cache.Release(chunks[s].Slot); }
            acquired = true;
            for (var s = 0; s < b; s++) { chunks[s] = new SequenceChunk(cache.Acquire(), prompts[s]); }
            var start = Stopwatch.GetTimestamp();
            var result = runner.Step(chunks, LogitRows.Last);
            for (var s = 0; s < b; s++) { next[s][0] = Sampler.ArgMax(result.LastLogits(s)); }
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        double DecodeStep()
        {
            for (var s = 0; s < b; s++) { chunks[s] = new SequenceChunk(chunks[s].Slot, next[s]); }
            var start = Stopwatch.GetTimestamp();
            var result = runner.Step(chunks, LogitRows.Last);
            for (var s = 0; s < b; s++) { next[s][0] = Sampler.ArgMax(result.LastLogits(s)); }
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        var warm = Stopwatch.StartNew();
        do
        {
            Prefill();
            for (var i = 0; i < options.Decode; i++) { DecodeStep(); }
        }
        while (warm.Elapsed.TotalSeconds < options.WarmupSeconds);
        var prefill = new double[PrefillRepeats];
        for (var r = 0; r < prefill.Length; r++) { prefill[r] = Prefill(); }
        var decode = new double[options.Decode];
        for (var i = 0; i < decode.Length; i++) { decode[i] = DecodeStep(); }

        // The same decode steps again with the profiler on, for the shares.
        Prefill();
        Profiler.Enabled = true;
        Profiler.Reset();
        double profiled = 0;
        try
        {
            for (var i = 0; i < options.Decode; i++) { profiled += DecodeStep(); }
        }
        finally
        {
            Profiler.Enabled = false;
        }
        var shares = (Profiler.Seconds(ProfileCategory.Gemm) / profiled, Profiler.Seconds(ProfileCategory.Attention) / profiled,
            Profiler.Seconds(ProfileCategory.Routing) / profiled);
        return (b * options.Prompt / TrainBench.Median([.. prefill.Order()]), b / TrainBench.Median([.. decode.Order()]), shares);
    }

    // Per format: greedy decoding of Decode tokens after each prompt, plainly and speculatively back to back, prompt by
    // prompt for SpeculationPasses passes, after WarmupSeconds (at least one round) of the same on the first prompt, so
    // that tiered JIT has promoted the draft and 2-row paths as it has the 1-row one. The decode speedup is the median
    // of the pairs' ratios: one burst of another process's work spoils a pair, not the figure.
    private static SpeculationResult MeasureSpeculation(string dir, InferBenchOptions options, WeightFormat format)
    {
        using var weights = InferenceWeights.Load(dir, format);
        if (weights.Model.Mtp.Count == 0) { throw new InvalidOperationException($"--speculative needs a model with an MTP module; '{dir}' has num_nextn_predict_layers = 0"); }
        var (prompts, source) = SpeculationPrompts(dir, weights.Config, options.Prompt);
        using var cache = new KvCache(weights.Config, 1, prompts.Max(p => p.Length) + options.Decode + 2);
        using var runner = new ModelRunner(weights, cache);
        var decoder = new SpeculativeDecoder(runner);
        var warm = Stopwatch.StartNew();
        do
        {
            decoder.Generate(prompts[0], options.Decode, speculative: false);
            decoder.Generate(prompts[0], options.Decode, speculative: true);
        }
        while (warm.Elapsed.TotalSeconds < options.WarmupSeconds);
        var (drafted, accepted) = (decoder.DraftedTokens, decoder.AcceptedDraftTokens);
        double plain = 0, speculative = 0, plainDecode = 0, speculativeDecode = 0;
        long after = 0;
        var same = true;
        var ratios = new List<double>();
        (double Seconds, double Decode, int[] Tokens) Run(int[] prompt, bool speculate)
        {
            var start = Stopwatch.GetTimestamp();
            var tokens = decoder.Generate(prompt, options.Decode, speculate);
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            return (seconds, seconds - decoder.LastPrefillSeconds, tokens);
        }
        for (var pass = 0; pass < SpeculationPasses; pass++)
        {
            foreach (var prompt in prompts)
            {
                // A pair back to back, plain first on even passes and speculative first on odd ones, so a drift in the
                // machine's speed between the two halves does not always favour one of them.
                var speculateFirst = pass % 2 == 1;
                var first = Run(prompt, speculateFirst);
                var second = Run(prompt, !speculateFirst);
                var (p, q) = speculateFirst ? (second, first) : (first, second);
                (plain, plainDecode) = (plain + p.Seconds, plainDecode + p.Decode);
                (speculative, speculativeDecode) = (speculative + q.Seconds, speculativeDecode + q.Decode);
                ratios.Add(p.Decode / q.Decode);
                same &= p.Tokens.AsSpan().SequenceEqual(q.Tokens);
                after += q.Tokens.Length - 1;
            }
        }
        var (d, a) = (decoder.DraftedTokens - drafted, decoder.AcceptedDraftTokens - accepted);
        var tokensPerStep = d == 0 ? 0 : (double)after / d;
        var bytes = SpeculationStepBytes(weights);
        return new SpeculationResult
        {
            Format = Name(format),
            Prompts = prompts.Length,
            Passes = SpeculationPasses,
            NewTokens = options.Decode,
            Drafted = d,
            Accepted = a,
            TokensPerMainStep = tokensPerStep,
            PlainSeconds = plain,
            SpeculativeSeconds = speculative,
            PlainDecodeSeconds = plainDecode,
            SpeculativeDecodeSeconds = speculativeDecode,
            DecodeSpeedup = TrainBench.Median([.. ratios.Order()]),
            DecodeSpeedupRange = [ratios.Min(), ratios.Max()],
            Bytes = bytes,
            BoundSpeedup = d == 0 ? 0 : SpeculationBound(bytes, (double)a / d, tokensPerStep),
            SameOutput = same,
            PromptSource = source,
        };
    }

    // With a tokenizer: problems in the generated corpus's format (a seed past training's), cut after "<think>\n", EOS
    // first as documents follow one in the shards. Without: random token ids of the --prompt length.
    private static (int[][] Prompts, string Source) SpeculationPrompts(string dir, ModelConfig config, int length)
    {
        if (File.Exists(Path.Combine(dir, ByteLevelBpe.TokenizerFileName)))
        {
            var tokenizer = ByteLevelBpe.Load(dir);
            const string Think = "<think>\n";
            var prompts = ReasoningCorpus.Generate(7919, PromptCount)
                .Select(t => t.IndexOf(Think, StringComparison.Ordinal) is var at and >= 0 ? t[..(at + Think.Length)] : t[..(t.Length / 2)])
                .Select(t => tokenizer.EosId is { } eos ? [eos, .. tokenizer.Encode(t)] : tokenizer.Encode(t))
                .ToArray();
            return (prompts, "the reasoning corpus");
        }
        var random = new Random(11);
        return ([.. Enumerable.Range(0, PromptCount).Select(_ => Enumerable.Range(0, length).Select(_ => random.Next(config.VocabSize)).ToArray())], "random token ids");
    }

    private sealed record TorchRow(int Batch, double Prefill, double Decode);

    // bench_infer.py on the same checkpoint, F32 or BF16; null (with why) when python3, torch or the script is missing or it fails.
    private static List<TorchRow>? MeasurePyTorch(string dir, InferBenchOptions options, WeightFormat format, out string why)
    {
        var script = TrainBench.FindUp(Script);
        if (!File.Exists(TrainBench.Python)) { why = $"no {TrainBench.Python}"; return null; }
        if (script is null) { why = $"no {Script} above the program or the current directory"; return null; }
        string[] args = [script, "--model", dir, "--batches", .. options.Batches.Select(Invariant), "--prompt", Invariant(options.Prompt),
            "--decode", Invariant(options.Decode), "--threads", Invariant(options.Threads[0]), "--dtype", Name(format)];
        var (code, stdout, stderr) = TrainBench.RunProcess(TrainBench.Python, args, options.Threads[0]);
        if (code != 0)
        {
            why = stderr.Contains("No module named 'torch'", StringComparison.Ordinal) ? "torch not installed" : $"exit {code}: {stderr.TrimEnd().Split('\n')[^1]}";
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);
            why = "";
            return [.. document.RootElement.GetProperty("results").EnumerateArray().Select(r => new TorchRow(
                r.GetProperty("batch").GetInt32(), r.GetProperty("prefill_tokens_per_s").GetDouble(), r.GetProperty("decode_tokens_per_s").GetDouble()))];
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            why = $"unreadable output: {e.Message}";
            return null;
        }
    }

    /// <summary>f32, bf16 or fp8: the names the command line and bench_infer.py use.</summary>
    public static string Name(WeightFormat format) => format switch
    {
        WeightFormat.F32 => "f32",
        WeightFormat.BF16 => "bf16",
        _ => "fp8",
    };

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
