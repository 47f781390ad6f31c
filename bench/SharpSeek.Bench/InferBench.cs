// InferBench.cs: `sharpseek bench infer`: prefill and decode tokens/s of a checkpoint on the inference runtime
// (ModelRunner over the latent KV cache) per weight format and batch, side by side with the PyTorch reference's cached
// generation on the same file (tools/reference/bench_infer.py); batch decode against the memory-bandwidth roofline
// (bytes read per step over the measured copy bandwidth); and with a model holding an MTP module, greedy decoding with
// and without MTP speculation. Not here: the command line (BenchInferCommand), the runtime itself. Tested by BenchInferCommandTests
// (tiny preset, no PyTorch); the full benchmark never runs in CI.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpSeek.Inference.Runtime;
using SharpSeek.Inference.Text;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
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

    public int Threads { get; init; } = 2;

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
        ArgumentNullException.ThrowIfNull(options);
        if (options.Prompt < 1 || options.Decode < 2 || options.Threads < 1 || options.Batches.Count == 0 || options.Batches.Any(b => b < 1) || options.Formats.Count == 0)
        {
            throw new ArgumentException($"need prompt ≥ 1, decode ≥ 2, threads ≥ 1, at least one batch (each ≥ 1) and one format; got prompt {options.Prompt}, decode {options.Decode}, threads {options.Threads}, batches [{string.Join(' ', options.Batches)}], {options.Formats.Count} formats");
        }
        WorkerPool.UseThreads(options.Threads);
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
                var weights = InferenceWeights.Load(dir, format);
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
                Threads = options.Threads,
                Prompt = options.Prompt,
                Decode = options.Decode,
                CopyGBps = copy,
                PyTorch = why.Length == 0 ? "ran" : why,
                Results = rows,
                Speculative = options.Speculative ? MeasureSpeculation(dir, options) : null,
            };
        }
        finally
        {
            if (temporary is not null && Directory.Exists(temporary)) { Directory.Delete(temporary, recursive: true); }
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
        static long SwiGlu(SwiGluWeights m) => m.Gate.Bytes + m.Up.Bytes + m.Down.Bytes;
        var bytes = weights.Head!.Bytes;
        foreach (var layer in weights.Layers)
        {
            var a = layer.Attention;
            bytes += (a.QA?.Bytes ?? 0) + (a.QB?.Bytes ?? 0) + (a.Q?.Bytes ?? 0) + a.KvA.Bytes + (4L * a.KvBDense.Length) + a.O.Bytes;
            if (layer.Mlp is { } mlp) { bytes += SwiGlu(mlp); }
            if (layer.Moe is { } moe)
            {
                var active = Math.Min(moe.Experts.Length, (long)batch * c.ExpertsPerToken);
                bytes += 4L * (moe.GateWeight.Length + (moe.CorrectionBias?.Length ?? 0)) + (active * SwiGlu(moe.Experts[0]))
                    + (moe.Shared is { } shared ? SwiGlu(shared) : 0);
            }
        }
        var cache = 4L * batch * c.NumHiddenLayers * positions * (c.KvLoraRank + c.QkRopeHeadDim);
        return (bytes, cache);
    }

    /// <summary>The table: one line per (format, batch) with the ratios to PyTorch and, for decode, to the roofline.</summary>
    public static string Table(InferBenchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var i = CultureInfo.InvariantCulture;
        static string Ratio(double? r) => r is { } v ? v.ToString("F2", CultureInfo.InvariantCulture) : "n/a";
        static string Tps(double? r) => r is { } v ? v.ToString("F0", CultureInfo.InvariantCulture) : "n/a";
        var text = new System.Text.StringBuilder();
        text.AppendLine(string.Create(i, $"infer {report.Model} threads={report.Threads} prompt={report.Prompt} decode={report.Decode}: copy {report.CopyGBps:F1} GB/s at the start, pytorch {report.PyTorch}"));
        text.AppendLine(string.Create(i, $"{"format",-6} {"batch",5} | {"prefill tok/s",13} {"pytorch",9} {"ratio",6} | {"decode tok/s",12} {"pytorch",9} {"ratio",6} | {"MiB/step",9} {"copy GB/s",9} {"roofline",9} {"of roof",7} | decode step: gemm attn route other"));
        foreach (var r in report.Results)
        {
            text.AppendLine(string.Create(i,
                $"{r.Format,-6} {r.Batch,5} | {r.PrefillTokensPerSecond,13:F0} {Tps(r.PyTorchPrefill),9} {Ratio(r.PrefillRatio),6} | {r.DecodeTokensPerSecond,12:F0} {Tps(r.PyTorchDecode),9} {Ratio(r.DecodeRatio),6} | {(r.WeightBytes + r.CacheBytes) / 1048576.0,9:F2} {r.CopyGBps,9:F1} {r.RooflineTokensPerSecond,9:F0} {100 * r.RooflineFraction,6:F0}% | {"",12} {100 * r.DecodeGemm,3:F0}% {100 * r.DecodeAttention,3:F0}% {100 * r.DecodeRouting,4:F0}% {100 * (1 - r.DecodeGemm - r.DecodeAttention - r.DecodeRouting),4:F0}%"));
        }
        if (report.Speculative is { } s)
        {
            text.AppendLine(string.Create(i,
                $"mtp speculation ({s.Prompts} prompts from {s.PromptSource}, {s.NewTokens} greedy tokens each, f32, batch 1): acceptance {100 * s.Acceptance:F1}% ({s.Accepted}/{s.Drafted}), {s.TokensPerMainStep:F2} tokens per main step, speedup {s.Speedup:F2}× ({s.PlainSeconds:F2} s → {s.SpeculativeSeconds:F2} s), same output {(s.SameOutput ? "yes" : "NO")}"));
        }
        return text.ToString().TrimEnd();
    }

    // Random weights for a preset (normal(0, initializer_range), norms 1: InitializeRandom) saved as an F32 checkpoint.
    private static string WriteRandomCheckpoint(string preset, string dir)
    {
        var config = ModelConfig.LoadPreset(preset);
        using var weights = new ModelWeights(config);
        weights.InitializeRandom(1);
        CheckpointWriter.Save(dir, config, [.. weights.Names.Select(n => (n, weights.Get(n).Value.Shape.ToArray(), (ReadOnlyMemory<float>)weights.Get(n).Value.AsSpan<float>().ToArray()))],
            CheckpointFormat.F32);
        return dir;
    }

    // Prefill of B × prompt tokens (the median of PrefillRepeats), then Decode greedy one-token steps of all B sequences
    // (the median step), as bench_infer.py times them; after WarmupSeconds of the same work untimed.
    private static (double Prefill, double Decode, (double Gemm, double Attention, double Routing) Shares) MeasureRunner(InferenceWeights weights, int b, InferBenchOptions options)
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

    // Greedy decoding of Decode tokens after each prompt, plain and then speculative, F32 weights; both warmed up once.
    private static SpeculationResult MeasureSpeculation(string dir, InferBenchOptions options)
    {
        var weights = InferenceWeights.Load(dir, WeightFormat.F32);
        if (weights.Mtp.Count == 0) { throw new InvalidOperationException($"--speculative needs a model with an MTP module; '{dir}' has num_nextn_predict_layers = 0"); }
        var (prompts, source) = SpeculationPrompts(dir, weights.Config, options.Prompt);
        using var cache = new KvCache(weights.Config, 1, prompts.Max(p => p.Length) + options.Decode + 2);
        using var runner = new ModelRunner(weights, cache);
        var decoder = new SpeculativeDecoder(runner);
        decoder.Generate(prompts[0], options.Decode, speculative: false);
        decoder.Generate(prompts[0], options.Decode, speculative: true);
        var (drafted, accepted) = (decoder.DraftedTokens, decoder.AcceptedDraftTokens);
        double plain = 0, speculative = 0;
        long after = 0;
        var same = true;
        foreach (var prompt in prompts)
        {
            var start = Stopwatch.GetTimestamp();
            var expected = decoder.Generate(prompt, options.Decode, speculative: false);
            plain += Stopwatch.GetElapsedTime(start).TotalSeconds;
            start = Stopwatch.GetTimestamp();
            var got = decoder.Generate(prompt, options.Decode, speculative: true);
            speculative += Stopwatch.GetElapsedTime(start).TotalSeconds;
            same &= expected.AsSpan().SequenceEqual(got);
            after += got.Length - 1;
        }
        var (d, a) = (decoder.DraftedTokens - drafted, decoder.AcceptedDraftTokens - accepted);
        return new SpeculationResult
        {
            Prompts = prompts.Length,
            NewTokens = options.Decode,
            Drafted = d,
            Accepted = a,
            TokensPerMainStep = d == 0 ? 0 : (double)after / d,
            PlainSeconds = plain,
            SpeculativeSeconds = speculative,
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
            "--decode", Invariant(options.Decode), "--threads", Invariant(options.Threads), "--dtype", Name(format)];
        var (code, stdout, stderr) = TrainBench.RunProcess(TrainBench.Python, args, options.Threads);
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
