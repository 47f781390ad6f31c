// R1Pipeline.cs: DeepSeek-R1's four stages (arXiv 2501.12948 §2.3) in one run directory: (1) cold-start SFT of the base
// model on readable worked chains of thought, (2) reasoning RL with accuracy, format and language-consistency rewards,
// (3) rejection sampling from that checkpoint (right, well-formed, readable, distinct samples), optionally mixed with
// the user's non-reasoning SFT data, and SFT of the *base* model on it, (4) a final RL stage. Each stage is a model
// directory; a finished stage is skipped and an interrupted one resumed, so the command can be rerun until done. Every
// stage (and the base) is evaluated on the task's held-out problems with R1's protocol, and the table is kept in
// pipeline.json. Not here: the stages' own loops (SftRun + TrainingRun, GrpoRun, RejectionSampling, Evaluation).
// Tested by R1PipelineTests.
using System.Text.Json;
using System.Text.Json.Serialization;
using SharpSeek.Model;
using SharpSeek.Rl.Eval;
using SharpSeek.Rl.Grpo;
using SharpSeek.Rl.Prompts;
using SharpSeek.Rl.Runs;
using SharpSeek.Rl.Sft;
using SharpSeek.Rl.Tasks;
using SharpSeek.Training.Runs;

namespace SharpSeek.Rl.Pipeline;

/// <summary>The settings of the pipeline. <see cref="Rl"/> carries the GRPO settings of both RL stages (its model, out,
/// steps and language weight are set per stage).</summary>
public sealed record R1Options
{
    public string Base { get; init; } = "";

    public string OutDir { get; init; } = Path.Combine("runs", "r1");

    public string Task { get; init; } = "add:1-4";

    public string Template { get; init; } = "r1zero";

    public int Seed { get; init; } = 1;

    /// <summary>Cold-start examples (the task's worked solutions).</summary>
    public int ColdStartExamples { get; init; } = 2000;

    public double SftEpochs { get; init; } = 1;

    public double SftLr { get; init; } = 3e-4;

    public int SeqLen { get; init; } = 256;

    public long RlSteps { get; init; } = 100;

    public long FinalRlSteps { get; init; } = 50;

    /// <summary>The language-consistency reward's weight in both RL stages (R1 §2.3.2).</summary>
    public double LanguageWeight { get; init; } = 0.1;

    /// <summary>Defaults measured on the base-model recipe (README "R1-Zero"): Dr. GRPO's unscaled advantages (with
    /// the group std, the small format reward's spread in an all-wrong group weighs as much as correctness and trains
    /// wrong answers), a k3 KL to the start with β 0.04, a small learning rate and 128 samples a step.</summary>
    public RlOptions Rl { get; init; } = new()
    {
        Prompts = 16,
        Generations = 8,
        MicroBatch = 32,
        MaxNewTokens = 160,
        Lr = 5e-5,
        Grpo = new GrpoOptions { Scale = AdvantageScale.None, Beta = 0.04 },
    };

    public RejectionOptions Rejection { get; init; } = new();

    /// <summary>A JSONL file of non-reasoning {"prompt", "completion"} or chat lines mixed into stage 3's SFT data.</summary>
    public string? NonReasoning { get; init; }

    public EvalOptions Eval { get; init; } = new() { Problems = 100 };
}

/// <summary>One row of the pipeline's table: a stage, its directory, its seconds of compute and its evaluation.</summary>
public sealed record StageResult(
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("dir")] string Directory,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("eval")] EvalRow Eval);

/// <summary>Runs the stages.</summary>
public sealed class R1Pipeline(R1Options options, Action<string>? log = null)
{
    public const string TableFileName = "pipeline.json";
    private const string EvalFileName = "eval.json";
    // NaN is a score (every problem unscorable), not an error.
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly Action<string> _log = log ?? (_ => { });

    public R1Options Options { get; } = options;

    /// <summary>Runs what is not done yet and returns the table (base, then each stage). Stops between or inside
    /// stages when <paramref name="cancel"/> fires (the stage checkpoints itself) and returns the rows so far.</summary>
    public IReadOnlyList<StageResult> Run(CancellationToken cancel = default)
    {
        var o = Options;
        if (string.IsNullOrWhiteSpace(o.Base)) { throw new ArgumentException("--base: the base model directory is required"); }
        if (!File.Exists(Path.Combine(o.Base, "config.json"))) { throw new FileNotFoundException($"--base '{o.Base}' is not a model directory (no config.json)", Path.Combine(o.Base, "config.json")); }
        // What would fail in a later stage fails before hours of work: the task, the template, the RL settings, the
        // non-reasoning file.
        TaskCatalog.Resolve(o.Task, o.Seed);
        var format = PromptFormats.Create(o.Template, o.Base);
        foreach (var steps in new[] { o.RlSteps, o.FinalRlSteps }) { (o.Rl with { Model = o.Base, Task = o.Task, Template = o.Template, Steps = steps }).Validate(); }
        if (o.NonReasoning is { } extra) { SftData.Read(extra, format); }
        Directory.CreateDirectory(o.OutDir);
        var rows = new List<StageResult> { Evaluate("base", o.Base, 0, Path.Combine(o.OutDir, "base-" + EvalFileName)) };

        var coldStart = Path.Combine(o.OutDir, "1-cold-start");
        var seconds = Sft(coldStart, o.Base, o.Task, o.ColdStartExamples, cancel);
        if (cancel.IsCancellationRequested) { return rows; }
        rows.Add(Evaluate("1 cold-start SFT", coldStart, seconds));

        var reasoning = Path.Combine(o.OutDir, "2-reasoning-rl");
        seconds = Rl(reasoning, coldStart, o.RlSteps, cancel);
        if (cancel.IsCancellationRequested) { return rows; }
        rows.Add(Evaluate("2 reasoning RL", reasoning, seconds));

        var data = Path.Combine(o.OutDir, "3-sft-data.jsonl");
        var sampling = Reject(reasoning, data);
        var sft = Path.Combine(o.OutDir, "3-rejection-sft");
        seconds = sampling + Sft(sft, o.Base, data, 0, cancel);
        if (cancel.IsCancellationRequested) { return rows; }
        rows.Add(Evaluate("3 rejection sampling + SFT of the base", sft, seconds));

        var final = Path.Combine(o.OutDir, "4-final-rl");
        seconds = Rl(final, sft, o.FinalRlSteps, cancel);
        if (cancel.IsCancellationRequested) { return rows; }
        rows.Add(Evaluate("4 final RL", final, seconds));
        AtomicFile.WriteAllText(Path.Combine(o.OutDir, TableFileName), JsonSerializer.Serialize(rows, Json) + "\n");
        return rows;
    }

    // An SFT stage: skipped when done, resumed when begun; returns the stage's training seconds.
    private double Sft(string dir, string model, string data, int examples, CancellationToken cancel)
    {
        var state = Path.Combine(dir, RunState.FileName);
        if (Directory.Exists(dir)) { TrainingRun.RecoverCheckpoint(dir); } // a checkpoint a crash left staged counts
        RunOptions run;
        if (File.Exists(state))
        {
            var saved = RunState.Load(state);
            if (saved.Step >= saved.Options.Steps) { return saved.ElapsedSeconds; }
            _log($"{dir}: resuming at step {saved.Step}");
            run = TrainingRun.ResumeOptions(dir);
        }
        else
        {
            _log($"{dir}: SFT of {model} on {data}");
            run = SftRun.Prepare(new SftOptions
            {
                Model = model,
                Data = data,
                OutDir = dir,
                Template = Options.Template,
                Examples = Math.Max(1, examples),
                Epochs = Options.SftEpochs,
                SeqLen = Options.SeqLen,
                Lr = Options.SftLr,
                Seed = Options.Seed,
            }, _log);
        }
        new TrainingRun(run, _log) { OnStep = r => { if (r.EvalLoss is { } e) { _log($"{Path.GetFileName(dir)} step {r.Step}/{run.Steps}: loss {r.Loss:F4}, eval {e:F4}"); } } }.Run(cancel);
        return File.Exists(state) ? RunState.Load(state).ElapsedSeconds : 0; // none when stopped before the first step
    }

    // An RL stage with the accuracy, format and language rewards; skipped when done, resumed when begun.
    private double Rl(string dir, string model, long steps, CancellationToken cancel)
    {
        var state = Path.Combine(dir, RlState.FileName);
        if (Directory.Exists(dir)) { RlCheckpoint.Recover(dir); }
        RlOptions run;
        if (File.Exists(state))
        {
            var saved = RlState.Load(state);
            if (saved.Step >= saved.Options.Steps) { return saved.ElapsedSeconds; }
            _log($"{dir}: resuming at step {saved.Step}");
            run = saved.Options with { OutDir = dir, Resume = true };
        }
        else
        {
            _log($"{dir}: GRPO from {model}, {steps} steps");
            run = Options.Rl with { Model = model, OutDir = dir, Task = Options.Task, Template = Options.Template, Steps = steps, LanguageWeight = Options.LanguageWeight, Seed = Options.Seed };
        }
        new GrpoRun(run, _log)
        {
            OnStep = r => { if (r.Step % 10 == 0 || r.Step == run.Steps) { _log($"{Path.GetFileName(dir)} step {r.Step}: reward {r.RewardMean:F3}, acc {r.Accuracy:P0}, format {r.FormatRate:P0}, length {r.LengthMean:F0}"); } },
        }.Run(cancel);
        return File.Exists(state) ? RlState.Load(state).ElapsedSeconds : 0;
    }

    // Stage 3's data: rejection sampling from the reasoning-RL checkpoint, then the user's non-reasoning lines; skipped
    // when the file is there. Returns the sampling seconds (0 when skipped).
    private double Reject(string model, string path)
    {
        if (File.Exists(path)) { return 0; }
        var o = Options;
        var samples = Path.Combine(o.OutDir, "3-rejection-samples.jsonl");
        double seconds = 0;
        if (!File.Exists(samples))
        {
            using var engine = Evaluation.LoadEngine(model, o.Rejection.Samples, o.Rejection.MaxNewTokens);
            var tasks = TaskCatalog.Resolve(o.Task, o.Seed);
            var (kept, report) = RejectionSampling.Run(engine, engine.Tokenizer!, tasks, PromptFormats.Create(o.Template, model), o.Rejection with { Seed = o.Seed });
            _log($"rejection sampling: kept {report.Kept} of {report.Samples} samples of {report.Problems} problems (wrong {report.Wrong}, format {report.BadFormat}, unreadable {report.Unreadable}, truncated {report.Truncated}, duplicates {report.Duplicates}); {report.TokensPerSecond:N0} tok/s");
            if (kept.Count == 0) { throw new InvalidOperationException($"rejection sampling kept no sample of {report.Samples}: the reasoning-RL checkpoint in '{model}' answers none right and well-formed; train stage 2 longer or choose an easier --task"); }
            RejectionSampling.Write(samples, kept);
            seconds = report.Seconds;
        }
        var lines = new List<string>(File.ReadAllLines(samples));
        if (o.NonReasoning is { } extra) { lines.AddRange(File.ReadAllLines(extra).Where(l => !string.IsNullOrWhiteSpace(l))); }
        AtomicFile.WriteAllText(path, string.Join('\n', lines) + "\n");
        return seconds;
    }

    private StageResult Evaluate(string stage, string dir, double seconds, string? file = null)
    {
        file ??= Path.Combine(dir, EvalFileName);
        EvalReport report;
        if (File.Exists(file))
        {
            report = JsonSerializer.Deserialize<EvalReport>(File.ReadAllText(file), Json)!;
        }
        else
        {
            var o = Options.Eval with { Template = Options.Template, Seed = Options.Seed };
            using var engine = Evaluation.LoadEngine(dir, o.Samples + 1, o.MaxNewTokens);
            report = Evaluation.Run(engine, engine.Tokenizer!, TaskCatalog.Resolve(Options.Task, o.Seed), o, modelDir: dir);
            AtomicFile.WriteAllText(file, JsonSerializer.Serialize(report, Json) + "\n");
        }
        var all = report.Rows[^1];
        _log($"{stage}: pass@1 {all.Pass1:P1}, cons@{report.Samples} {all.ConsK:P1}, format {all.FormatRate:P1}, language {all.LanguageRate:P1}, length {all.MeanLength:F0}");
        return new StageResult(stage, dir, seconds, all);
    }

}
