// DenseInferBench.cs: `sharpseek bench infer` on a dense GQA model (qwen2, llama; e.g. a random-weight checkpoint of
// DeepSeek-R1-Distill-Qwen-1.5B's published config written by `sharpseek init`): per weight format its load time and
// resident memory, then per thread count prefill and batch decode tokens/s on the runtime (ModelRunner over the GQA
// cache) against the memory-bandwidth roofline, and llama.cpp's llama-bench on GGUF files of the same weights at the same
// thread counts, each against its own roofline. Not here: the DeepSeek benchmark and its PyTorch side (InferBench.cs),
// running llama-bench (LlamaBench.cs), the command line (BenchInferCommand). Tested by BenchInferCommandTests.
using System.Globalization;
using System.Text.Json;
using SharpSeek.Inference.Runtime;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Bench;

public static class DenseInferBench
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Runs the benchmark and prints the table (or the report as JSON).</summary>
    public static int Run(TextWriter output, InferBenchOptions options, bool json)
    {
        ArgumentNullException.ThrowIfNull(output);
        var report = Measure(options);
        output.WriteLine(json ? JsonSerializer.Serialize(report, Indented) : Table(report));
        return 0;
    }

    /// <summary>Every figure of one run: per format its load, per thread count ours and then llama.cpp's (after the first
    /// format measured only: its files do not change with ours), each row with the copy bandwidth of its own moment. A
    /// format the runtime cannot hold the model in gets rows with only the reason.</summary>
    public static DenseInferBenchReport Measure(InferBenchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        InferBench.Validate(options);
        var temporary = options.Model is null ? Path.Combine(Path.GetTempPath(), $"sharpseek-bench-infer-{Environment.ProcessId}") : null;
        try
        {
            var dir = options.Model ?? WriteRandom(options.Config, temporary!);
            var config = ModelConfig.Load(CheckpointCommit.Resolve(dir, CheckpointDirectory.ConfigFile));
            var llama = LlamaBench.Find(out var llamaWhy);
            var files = LlamaBench.Files(options.Gguf);
            if (llama is not null && files.Count == 0) { (llama, llamaWhy) = (null, $"no GGUF files (--gguf or {LlamaBench.FilesVariable})"); }
            var (from, to) = (new float[1 << 24], new float[1 << 24]);
            from.AsSpan().Fill(1f);
            WorkerPool.UseThreads(options.Threads[0]);
            var copy = OpsBench.CopyBandwidth(from, to, reps: 5);
            var rows = new List<DenseInferBenchRow>();
            var llamaPending = llama is not null;
            foreach (var format in options.Formats)
            {
                // llama.cpp's rows after the first format that loads (its files do not change with ours).
                llamaPending &= !MeasureFormat(dir, config, format, options, (from, to), llamaPending ? llama : null, files, rows);
            }
            return new DenseInferBenchReport
            {
                Model = options.Model ?? $"{options.Config} (random weights)",
                ModelType = config.ModelType,
                Parameters = ParameterShapes.Count(config).Total,
                Prompt = options.Prompt,
                Decode = options.Decode,
                CopyGBps = copy,
                LlamaBench = llama ?? $"n/a: {llamaWhy}",
                Results = rows,
            };
        }
        finally
        {
            if (temporary is not null && Directory.Exists(temporary)) { Directory.Delete(temporary, recursive: true); }
        }
    }

    // One format: load it, then per thread count our rows and (with llama) llama-bench's. Returns whether it loaded. A
    // method of its own, so that nothing references the weights once it returns: the next format's load and its
    // resident-memory figure start from their memory returned.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static bool MeasureFormat(string dir, ModelConfig config, WeightFormat format, InferBenchOptions options, (float[] From, float[] To) buffers,
        string? llama, IReadOnlyList<string> files, List<DenseInferBenchRow> rows)
    {
        var (from, to) = buffers;
        InferenceWeights weights;
        double loadSeconds;
        double? rss = null;
        try
        {
            (weights, loadSeconds) = Load(dir, format);
        }
        catch (InvalidOperationException e) // a format the runtime cannot hold this model in (yet): say so, measure the rest
        {
            rows.AddRange(options.Threads.Select(t => new DenseInferBenchRow { Side = "sharpseek", Format = InferBench.Name(format), Threads = t, Batch = 1, Why = e.Message }));
            return false;
        }
        using (weights)
        {
            foreach (var threads in options.Threads)
            {
                WorkerPool.UseThreads(threads);
                foreach (var b in options.Batches)
                {
                    var before = OpsBench.CopyBandwidth(from, to, reps: 5);
                    var (prefill, decode, shares) = InferBench.MeasureRunner(weights, b, options);
                    var rowCopy = (before + OpsBench.CopyBandwidth(from, to, reps: 5)) / 2;
                    rss ??= Resident();
                    var (weightBytes, cacheBytes) = DecodeStepBytes(config, format, b, options.Prompt + (options.Decode / 2));
                    rows.Add(new DenseInferBenchRow
                    {
                        Side = "sharpseek",
                        Format = InferBench.Name(format),
                        Threads = threads,
                        Batch = b,
                        LoadSeconds = loadSeconds,
                        ResidentMiB = rss,
                        PrefillTokensPerSecond = prefill,
                        DecodeTokensPerSecond = decode,
                        WeightBytes = weightBytes,
                        CacheBytes = cacheBytes,
                        CopyGBps = rowCopy,
                        DecodeGemm = shares.Gemm,
                        DecodeAttention = shares.Attention,
                    });
                }
                if (llama is null) { continue; }
                foreach (var file in files)
                {
                    var before = OpsBench.CopyBandwidth(from, to, reps: 5);
                    var theirs = LlamaBench.Run(llama, file, options.Prompt, options.Decode, threads);
                    var rowCopy = (before + OpsBench.CopyBandwidth(from, to, reps: 5)) / 2;
                    rows.Add(new DenseInferBenchRow
                    {
                        Side = "llama.cpp",
                        Format = theirs.ModelType.Split(' ')[^1].ToLowerInvariant(),
                        Threads = threads,
                        Batch = 1,
                        PrefillTokensPerSecond = theirs.Prefill,
                        DecodeTokensPerSecond = theirs.Decode,
                        WeightBytes = LlamaStepBytes(config, theirs),
                        CacheBytes = 2L * config.NumHiddenLayers * (options.Decode / 2) * 2 * config.NumKeyValueHeads * config.AttentionHeadDim,
                        CopyGBps = rowCopy,
                        File = file,
                        Why = theirs.Why.Length == 0 ? null : theirs.Why,
                    });
                }
            }
        }
        return true;
    }

    /// <summary>
    /// Bytes one decode step of <paramref name="batch"/> one-token sequences reads, each with <paramref name="positions"/>
    /// cached positions, for a dense model with its projections in <paramref name="format"/>: per layer q, k, v, o, gate,
    /// up and down at their stored size (4 bytes a weight in F32, 2 in BF16, 1 in FP8 plus a 4-byte scale per 128×128
    /// block) and their biases at 4, then the head (lm_head, or the tied embedding read as the head) in the same format;
    /// the cache is B · L · positions · 2 · H_kv · d · 4 (keys and values, F32). Norms and the B embedding rows (a few
    /// KiB) are left out.
    /// </summary>
    public static (long Weights, long Cache) DecodeStepBytes(ModelConfig config, WeightFormat format, int batch, int positions)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(positions);
        if (!config.IsDense) { throw new ArgumentException($"a dense (qwen2, llama) config is needed; got {config.ModelType}", nameof(config)); }
        long Matrix(long rows, long cols) => format switch
        {
            WeightFormat.F32 => 4 * rows * cols,
            WeightFormat.BF16 => 2 * rows * cols,
            _ => (rows * cols) + (4L * Fp8Quant.Tiles((int)rows) * Fp8Quant.Tiles((int)cols)),
        };
        long d = config.HiddenSize, inter = config.IntermediateSize, q = (long)config.NumAttentionHeads * config.AttentionHeadDim;
        long kv = (long)config.NumKeyValueHeads * config.AttentionHeadDim;
        var layer = Matrix(q, d) + (2 * Matrix(kv, d)) + Matrix(d, q) + (2 * Matrix(inter, d)) + Matrix(d, inter);
        var biases = ParameterShapes.For(config).Where(p => p.Layer == 0 && p.Name.EndsWith(".bias", StringComparison.Ordinal)).Sum(p => 4 * p.Elements);
        var weights = (config.NumHiddenLayers * (layer + biases)) + Matrix(config.VocabSize, d);
        return (weights, 4L * batch * config.NumHiddenLayers * positions * 2 * kv);
    }

    /// <summary>llama.cpp's bytes per decode step from what llama-bench reports of its file: every tensor but token_embd
    /// (a step reads one embedding row), taken as model_size · (1 − V·D / parameters), exact when every matrix has one
    /// type (a GGUF converted to BF16 or Q8_0 throughout; the F32 norms are a few KiB).</summary>
    public static long LlamaStepBytes(ModelConfig config, LlamaBenchResult result)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(result);
        if (result.Parameters == 0) { return 0; }
        return (long)(result.ModelBytes * (1 - ((double)config.VocabSize * config.HiddenSize / result.Parameters)));
    }

    /// <summary>The table: one line per row, ours and llama.cpp's, with load and memory (ours), speeds and the roofline.</summary>
    public static string Table(DenseInferBenchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var i = CultureInfo.InvariantCulture;
        static string F(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "n/a";
        var text = new System.Text.StringBuilder();
        text.AppendLine(string.Create(i, $"infer {report.Model} ({report.ModelType}, {report.Parameters:N0} parameters) prompt={report.Prompt} decode={report.Decode}: copy {report.CopyGBps:F1} GB/s at the start, llama.cpp {report.LlamaBench}"));
        text.AppendLine(string.Create(i, $"{"side",-9} {"format",-6} {"threads",7} {"batch",5} | {"load s",6} {"RSS MiB",8} | {"prefill tok/s",13} {"decode tok/s",12} | {"MiB/step",9} {"copy GB/s",9} {"roofline",9} {"of roof",7} | decode step: gemm attn other"));
        foreach (var r in report.Results)
        {
            var profile = r.Side != "sharpseek" ? $"{"",12} {r.File}{(r.Why is null ? "" : $" ({r.Why})")}"
                : r.Why is not null ? $"{"",12} n/a: {r.Why}"
                : string.Create(i, $"{"",12} {100 * r.DecodeGemm,3:F0}% {100 * r.DecodeAttention,3:F0}% {100 * (1 - r.DecodeGemm - r.DecodeAttention),4:F0}%");
            text.AppendLine(string.Create(i,
                $"{r.Side,-9} {r.Format,-6} {r.Threads,7} {r.Batch,5} | {F(r.LoadSeconds, "F1"),6} {F(r.ResidentMiB, "F0"),8} | {F(r.PrefillTokensPerSecond, "F1"),13} {F(r.DecodeTokensPerSecond, "F2"),12} | {(r.WeightBytes + r.CacheBytes) / 1048576.0,9:F1} {r.CopyGBps,9:F1} {F(r.RooflineTokensPerSecond, "F2"),9} {F(100 * r.RooflineFraction, "F0"),6}% | {profile}"));
        }
        return text.ToString().TrimEnd();
    }

    // Loads one format: wall seconds of InferenceWeights.Load, after an aggressive full collection (compacting, returning
    // free memory to the OS) so that the previous format's freed views do not weigh on it.
    private static (InferenceWeights Weights, double Seconds) Load(string dir, WeightFormat format)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var weights = InferenceWeights.Load(dir, format);
        return (weights, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    // The process's resident set in MiB once a format's first row has run (every weight read at least once: a BF16
    // checkpoint read in place is resident only as its mapped pages are read), after an aggressive full collection:
    // neither the loader's transient arrays nor the row's freed cache count.
    private static double Resident()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return Environment.WorkingSet / 1048576.0;
    }

    // BF16, as `sharpseek init` writes and releases ship: the BF16 row reads it in place, F32 and FP8 widen it into masters.
    private static string WriteRandom(string config, string dir)
    {
        RandomCheckpoint.Write(dir, ModelConfig.LoadPreset(config), CheckpointFormat.BF16, seed: 1);
        return dir;
    }
}
