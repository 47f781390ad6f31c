// TrainBench.cs: `sharpseek bench train`: training tokens/s of a preset (random init, one fixed random batch, full
// steps: forward and backward of the objective with MTP, clipping, AdamW and the bias update), best and median of N
// after warm-up, the process's peak memory, and the share of step time in GEMM, attention, MoE routing/dispatch and the
// optimizer, and the low-precision Linears' quantization (Profiler) — side by side with the same model in PyTorch eager
// (tools/reference/bench_train.py); each further training precision against fp32 (step time, peak memory, optimizer state,
// step arena); and one sequence per long length for the step arena per token (RunSeqLens). Each side of each preset runs
// in its own fresh process, so each peak is that preset's alone. Not here: the command line
// (BenchTrainCommand), the profiler (SharpSeek.Tensors.Autograd.Profiler). Never run in CI.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpSeek.Model;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Tensors.Ops;
using SharpSeek.Training;

namespace SharpSeek.Bench;

public static class TrainBench
{
    /// <summary>The interpreter Debian's python3-torch installs into.</summary>
    public const string Python = "/usr/bin/python3";

    private const string Script = "tools/reference/bench_train.py";
    private const int Warmup = 2;
    // Warm-up also lasts at least this long, so the timed steps run the JIT's optimized (tier-1) code: at tiny's ~20 ms
    // steps, two steps end before tiered compilation has promoted the kernels, and the median measured start-up.
    private const double WarmupSeconds = 3.0;
    private const double Lr = 1e-4;

    /// <summary>The micro-batch shape a preset is measured at: the default training run's 8 × 256 (capped at the
    /// config's positions); tiny, whose model is 40× smaller, at 8 × 128.</summary>
    public static (int Batch, int Seq) DefaultShape(string preset, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var seq = preset == "tiny" ? 128 : 256;
        return (8, (int)Math.Min(seq, config.MaxPositionEmbeddings));
    }

    /// <summary>Measures <paramref name="preset"/> in this process: <c>Warmup</c> steps and at least <c>WarmupSeconds</c>, <paramref name="steps"/> timed
    /// steps with the profiler off, then <paramref name="steps"/> profiled steps for the fractions.
    /// <paramref name="seq"/>, when given, measures one sequence of that many tokens instead of the preset's batch (the
    /// long-context memory check; the config's positions are raised to it when shorter).</summary>
    public static TrainBenchResult Measure(string preset, int threads, int steps, LinearPrecision precision = LinearPrecision.Fp32, string fp8Recipe = "", int? seq = null)
    {
        if (threads < 1 || steps < 1 || seq < 1) { throw new ArgumentOutOfRangeException(nameof(steps), $"need threads ≥ 1, steps ≥ 1 and seq ≥ 1; got {threads}, {steps} and {seq}"); }
        var baseline = Environment.WorkingSet;
        WorkerPool.UseThreads(threads);
        var config = ModelConfig.LoadPreset(preset);
        if (seq is { } longer && longer > config.MaxPositionEmbeddings) { config = config with { MaxPositionEmbeddings = longer }; }
        var (b, t) = seq is { } s ? (1, s) : DefaultShape(preset, config);
        using var weights = new ModelWeights(config, DType.F32, withGradients: true);
        weights.InitializeRandom(1);
        weights.UsePrecision(precision, Fp8Recipe.Parse(fp8Recipe));
        using var model = new Transformer(weights, t);
        using var adamw = new AdamW(weights, new AdamWOptions { Moments = AdamWOptions.MomentsFor(precision) });
        var options = new ObjectiveOptions();
        var forward = new ForwardResult();
        var bias = new BiasUpdate(model);
        using var arena = new Arena("step");
        var tape = new Tape(arena);
        var random = new Random(7);
        var tokens = new int[b * t];
        var targets = new int[b * t];
        for (var i = 0; i < tokens.Length; i++) { tokens[i] = random.Next(config.VocabSize); }
        for (var i = 0; i < tokens.Length; i++) { targets[i] = (i + 1) % t == 0 ? options.IgnoreIndex : tokens[i + 1]; } // (B, T): next token

        double loss = double.NaN;
        double Step()
        {
            var start = Stopwatch.GetTimestamp();
            tape.Reset();
            var x = arena.FromSpan<int>(tokens, b, t);
            var y = arena.FromSpan<int>(targets, b, t);
            var (objective, parts) = Objective.Compute(tape, model, x, y, options, forward);
            bias.Add(forward);
            tape.Backward(objective);
            using (Profiler.Region(ProfileCategory.Optimizer))
            {
                GradClip.ClipGlobalNorm(weights, 1.0);
                adamw.Step(Lr);
                bias.Apply(options.BiasUpdateSpeed);
                weights.ZeroGradients();
            }
            loss = parts.Total;
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        var warmupStart = Stopwatch.GetTimestamp();
        for (var i = 0; i < Warmup || Stopwatch.GetElapsedTime(warmupStart).TotalSeconds < WarmupSeconds; i++) { Step(); }
        var times = new double[steps];
        for (var i = 0; i < steps; i++) { times[i] = Step(); }
        Profiler.Enabled = true;
        Profiler.Reset();
        double profiled = 0;
        try
        {
            for (var i = 0; i < steps; i++) { profiled += Step(); }
        }
        finally
        {
            Profiler.Enabled = false;
        }
        Array.Sort(times);
        var median = Median(times);
        using var self = Process.GetCurrentProcess();
        return new TrainBenchResult
        {
            Preset = preset,
            Batch = b,
            Seq = t,
            Threads = threads,
            Steps = steps,
            Precision = precision.OptionName() + (fp8Recipe.Length > 0 ? $"({fp8Recipe})" : ""),
            BestSeconds = times[0],
            MedianSeconds = median,
            TokensPerSecond = b * t / median,
            Loss = loss,
            PeakMiB = self.PeakWorkingSet64 / 1048576.0,
            BaselineMiB = baseline / 1048576.0,
            StateMiB = (weights.Parameters.CapacityBytes + (weights.Gradients?.CapacityBytes ?? 0) + adamw.StateBytes) / 1048576.0, // parameters, gradients, AdamW m and v
            StepArenaMiB = arena.HighWaterBytes / 1048576.0,
            Gemm = Profiler.Seconds(ProfileCategory.Gemm) / profiled,
            Attention = Profiler.Seconds(ProfileCategory.Attention) / profiled,
            Routing = Profiler.Seconds(ProfileCategory.Routing) / profiled,
            Optimizer = Profiler.Seconds(ProfileCategory.Optimizer) / profiled,
            Quantize = Profiler.Seconds(ProfileCategory.Quantize) / profiled,
        };
    }

    /// <summary>Runs <see cref="Measure"/> in a fresh process: <paramref name="command"/> (this program and the words that
    /// select its one-preset mode) followed by the preset, threads and steps; reads the JSON line it prints.</summary>
    public static TrainBenchResult MeasureInChild(IReadOnlyList<string> command, string preset, int threads, int steps,
        LinearPrecision precision = LinearPrecision.Fp32, string fp8Recipe = "", int? seq = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        var args = command.Skip(1).Concat([preset, "--threads", Invariant(threads), "--steps", Invariant(steps), "--precisions", precision.OptionName(), "--fp8-recipe", fp8Recipe]);
        if (seq is { } s) { args = args.Concat(["--seq-lens", Invariant(s)]); }
        var (code, stdout, stderr) = RunProcess(command[0], args, threads);
        if (code != 0) { throw new InvalidOperationException($"bench train {preset} (child process) exited with {code}: {stderr.Trim()}"); }
        return Parse(stdout) ?? throw new InvalidOperationException($"bench train {preset}: expected a JSON result line; got '{stdout.Trim()}'");
    }

    /// <summary>The same preset and shape in PyTorch eager; null (with <paramref name="why"/>) when python3 or torch is
    /// missing or the script fails.</summary>
    public static TrainBenchResult? MeasurePyTorch(string preset, int threads, int steps, out string why)
    {
        var script = FindUp(Script);
        if (!File.Exists(Python)) { why = $"no {Python}"; return null; }
        if (script is null) { why = $"no {Script} above the program or the current directory"; return null; }
        var config = ModelConfig.LoadPreset(preset);
        var (b, t) = DefaultShape(preset, config);
        var configPath = Path.Combine(Path.GetTempPath(), $"sharpseek-bench-{Environment.ProcessId}-{preset}.json");
        File.WriteAllText(configPath, config.ToJson());
        try
        {
            var (code, stdout, stderr) = RunProcess(Python,
                [script, "--config", configPath, "--batch", Invariant(b), "--seq", Invariant(t), "--steps", Invariant(steps), "--threads", Invariant(threads),
                    "--warmup-seconds", Invariant(WarmupSeconds)], threads);
            var result = code == 0 ? Parse(stdout) : null;
            why = result is not null ? "" : stderr.Contains("No module named 'torch'", StringComparison.Ordinal) ? "torch not installed" : $"exit {code}: {LastLine(stderr)}";
            return result is null ? null : result with { Preset = preset, Threads = threads };
        }
        finally
        {
            File.Delete(configPath);
        }
    }

    /// <summary>Measures every preset (each side in its own process) and prints one line per preset and a profile line.
    /// With precisions other than fp32, each is measured in its own process after fp32 (against PyTorch) and
    /// printed with its step time and peak memory relative to fp32's. With <paramref name="rounds"/> &gt; 1 the fp32
    /// run and the others repeat, interleaved, each ratio against the fp32 run of its own round (PyTorch in the first
    /// only), and a last line per precision gives the ratios' range and median.</summary>
    public static int Run(TextWriter output, IReadOnlyList<string> presets, int threads, int steps, bool json, IReadOnlyList<string> self,
        IReadOnlyList<LinearPrecision>? precisions = null, string fp8Recipe = "", int rounds = 1)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(presets);
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        var results = new List<string>();
        foreach (var preset in presets)
        {
            var byPrecision = new List<(TrainBenchResult Other, TrainBenchResult Fp32)>();
            for (var round = 0; round < rounds; round++)
            {
                var ours = MeasureInChild(self, preset, threads, steps);
                var why = "measured in the first round";
                var torch = round == 0 ? MeasurePyTorch(preset, threads, steps, out why) : null;
                var others = (precisions ?? []).Where(p => p != LinearPrecision.Fp32).Select(p => MeasureInChild(self, preset, threads, steps, p, p == LinearPrecision.Fp8 ? fp8Recipe : "")).ToList();
                byPrecision.AddRange(others.Select(o => (o, ours)));
                if (json)
                {
                    results.Add($"{{\"sharpseek\": {JsonSerializer.Serialize(ours)}, \"pytorch\": {(torch is null ? "null" : JsonSerializer.Serialize(torch))}"
                        + (others.Count > 0 ? $", \"precisions\": [{string.Join(", ", others.Select(o => JsonSerializer.Serialize(o)))}]" : "") + "}");
                    continue;
                }
                output.WriteLine(Line(ours, torch, why));
                output.WriteLine(ProfileLine(ours));
                foreach (var other in others)
                {
                    output.WriteLine(PrecisionLine(other, ours));
                    output.WriteLine(ProfileLine(other));
                }
            }
            if (json || rounds == 1) { continue; }
            foreach (var group in byPrecision.GroupBy(r => r.Other.Precision, StringComparer.Ordinal)) { output.WriteLine(RoundsLine([.. group])); }
        }
        if (json) { output.WriteLine("[" + string.Join(",\n ", results) + "]"); }
        return 0;
    }

    /// <summary><c>train small 8×256 threads=2: X tok/s, pytorch Y tok/s, ratio R, peak memory A MiB vs B MiB</c>.</summary>
    public static string Line(TrainBenchResult ours, TrainBenchResult? torch, string why = "")
    {
        ArgumentNullException.ThrowIfNull(ours);
        var head = string.Create(CultureInfo.InvariantCulture,
            $"train {ours.Preset} {ours.Batch}×{ours.Seq} threads={ours.Threads}: {ours.TokensPerSecond:F0} tok/s, ");
        if (torch is null) { return head + $"pytorch n/a ({why}), peak memory {ours.PeakMiB.ToString("F0", CultureInfo.InvariantCulture)} MiB"; }
        return head + string.Create(CultureInfo.InvariantCulture,
            $"pytorch {torch.TokensPerSecond:F0} tok/s, ratio {ours.TokensPerSecond / torch.TokensPerSecond:F2}, peak memory {ours.PeakMiB:F0} MiB vs {torch.PeakMiB:F0} MiB");
    }

    /// <summary>
    /// The long-context check: one training step of one sequence per length in <paramref name="seqLens"/>, each in its own
    /// process, printing tokens/s, the step arena (every activation and gradient of the step) and its bytes per token.
    /// Attention keeps only its output and a log-sum-exp per row (fused tiles), so the arena per token stays flat as T
    /// grows when nothing in the step is quadratic in T; the last line gives the ratio between the longest and shortest.
    /// </summary>
    public static int RunSeqLens(TextWriter output, IReadOnlyList<string> presets, IReadOnlyList<int> seqLens, int threads, int steps, bool json, IReadOnlyList<string> self)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(presets);
        ArgumentNullException.ThrowIfNull(seqLens);
        var all = new List<TrainBenchResult>();
        foreach (var preset in presets)
        {
            var results = seqLens.Order().Select(t => MeasureInChild(self, preset, threads, steps, seq: t)).ToList();
            all.AddRange(results);
            if (json) { continue; }
            foreach (var r in results)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"train {r.Preset} 1×{r.Seq} threads={r.Threads}: {r.TokensPerSecond:F0} tok/s, step arena {r.StepArenaMiB:F1} MiB ({1024 * r.StepArenaMiB / r.Seq:F1} KiB per token), peak memory {r.PeakMiB:F0} MiB, attention {100 * r.Attention:F0}% of the step"));
            }
            var (first, last) = (results[0], results[^1]);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"step arena per token, {first.Seq} → {last.Seq} tokens ({(double)last.Seq / first.Seq:F0}× longer): {1024 * first.StepArenaMiB / first.Seq:F1} → {1024 * last.StepArenaMiB / last.Seq:F1} KiB (×{last.StepArenaMiB / last.Seq / (first.StepArenaMiB / first.Seq):F2}; 1 is linear in T, {(double)last.Seq / first.Seq:F0} would be quadratic)"));
        }
        if (json) { output.WriteLine("[" + string.Join(",\n ", all.Select(r => JsonSerializer.Serialize(r))) + "]"); }
        return 0;
    }

    /// <summary><c>train small 8×256 fp8: X tok/s, step R× fp32's; peak memory A MiB (P% of fp32's B), state S MiB, step arena T MiB</c>.</summary>
    public static string PrecisionLine(TrainBenchResult other, TrainBenchResult fp32)
    {
        ArgumentNullException.ThrowIfNull(other);
        ArgumentNullException.ThrowIfNull(fp32);
        return string.Create(CultureInfo.InvariantCulture,
            $"train {other.Preset} {other.Batch}×{other.Seq} {other.Precision}: {other.TokensPerSecond:F0} tok/s, step {other.MedianSeconds / fp32.MedianSeconds:F2}× fp32's; "
            + $"peak memory {other.PeakMiB:F0} MiB ({100 * other.PeakMiB / fp32.PeakMiB:F0}% of fp32's {fp32.PeakMiB:F0}), state {other.StateMiB:F1} vs {fp32.StateMiB:F1} MiB, step arena {other.StepArenaMiB:F1} vs {fp32.StepArenaMiB:F1} MiB");
    }

    /// <summary><c>train small 8×256 fp8, 5 rounds: step 0.98–1.30× fp32's (median 1.16×), peak memory 906–951 MiB (41–43% of
    /// fp32's), quantize/transpose 14–15%</c>: each round's ratio against the fp32 run of the same round.</summary>
    public static string RoundsLine(IReadOnlyList<(TrainBenchResult Other, TrainBenchResult Fp32)> rounds)
    {
        ArgumentNullException.ThrowIfNull(rounds);
        ArgumentOutOfRangeException.ThrowIfZero(rounds.Count);
        double[] Sorted(Func<TrainBenchResult, TrainBenchResult, double> f) => [.. rounds.Select(r => f(r.Other, r.Fp32)).Order()];
        var step = Sorted((o, f) => o.MedianSeconds / f.MedianSeconds);
        var (peak, share, quantize) = (Sorted((o, _) => o.PeakMiB), Sorted((o, f) => 100 * o.PeakMiB / f.PeakMiB), Sorted((o, _) => 100 * o.Quantize));
        var first = rounds[0].Other;
        return string.Create(CultureInfo.InvariantCulture,
            $"train {first.Preset} {first.Batch}×{first.Seq} {first.Precision}, {rounds.Count} rounds: step {step[0]:F2}–{step[^1]:F2}× fp32's (median {Median(step):F2}×), "
            + $"peak memory {peak[0]:F0}–{peak[^1]:F0} MiB ({share[0]:F0}–{share[^1]:F0}% of fp32's), quantize/transpose {quantize[0]:F0}–{quantize[^1]:F0}%");
    }

    /// <summary><c>profile small: gemm g%, attention a%, moe routing/dispatch m%, optimizer o%, other r%</c>.</summary>
    public static string ProfileLine(TrainBenchResult ours)
    {
        ArgumentNullException.ThrowIfNull(ours);
        var quantize = ours.Quantize > 0 ? string.Create(CultureInfo.InvariantCulture, $"quantize/transpose {100 * ours.Quantize:F0}%, ") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"profile {ours.Preset}{(ours.Precision == "fp32" ? "" : " " + ours.Precision)}: gemm {100 * ours.Gemm:F0}%, attention {100 * ours.Attention:F0}%, moe routing/dispatch {100 * ours.Routing:F0}%, optimizer {100 * ours.Optimizer:F0}%, {quantize}other {100 * ours.Other:F0}%");
    }

    /// <summary>The result as the one JSON line the one-preset mode prints.</summary>
    public static string ToJson(TrainBenchResult result) => JsonSerializer.Serialize(result);

    private static TrainBenchResult? Parse(string stdout)
    {
        var line = LastLine(stdout);
        if (!line.StartsWith('{')) { return null; }
        try
        {
            return JsonSerializer.Deserialize<TrainBenchResult>(line);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal static (int Code, string Stdout, string Stderr) RunProcess(string file, IEnumerable<string> args, int threads)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) { info.ArgumentList.Add(arg); }
        info.Environment["OMP_NUM_THREADS"] = Invariant(threads);
        info.Environment["OPENBLAS_NUM_THREADS"] = Invariant(threads);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr.GetAwaiter().GetResult());
    }

    internal static string? FindUp(string relative)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relative);
                if (File.Exists(candidate)) { return candidate; }
            }
        }
        return null;
    }

    /// <summary>The median of sorted values (the mean of the middle two for an even count).</summary>
    internal static double Median(double[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]);

    private static string LastLine(string text) => text.TrimEnd().Split('\n')[^1].Trim();

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);
}
