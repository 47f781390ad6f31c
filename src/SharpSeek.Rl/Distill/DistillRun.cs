// DistillRun.cs: `sharpseek distill train`, the student learning from the teacher (DeepSeek-R1 arXiv 2501.12948 §2.4
// and beyond it). sft: R1's way, the teacher's kept samples re-rendered with the student's template and tokenizer, then
// the fine-tuning loop (SftRun + Training's TrainingRun: packed windows, completion-only loss, exact resume). logits:
// the teacher's own token ids, each completion token learned with (1 − α)·CE + α·KL(teacher top-k ‖ student) in
// padded micro-batches. on-policy: each step the student samples G completions of P train prompts on the batched engine
// (reading its F32 weights in place, as GRPO does), the teacher scores every sampled position, and the student descends
// the reverse KL to the teacher there. logits and on-policy checkpoint as GRPO does (distill_state.json last) and
// resume exactly. Before any step: the student's tokenizer must express the data (sft) or be the teacher's (logits,
// on-policy). Not here: the losses (DistillLoss), the data (DistillData), the student's directory (Students).
// Tested by DistillTests.
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Runtime;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Rl.Grpo;
using SharpSeek.Rl.Prompts;
using SharpSeek.Rl.Rewards;
using SharpSeek.Rl.Rollouts;
using SharpSeek.Rl.Runs;
using SharpSeek.Rl.Sft;
using SharpSeek.Rl.Tasks;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Training;
using SharpSeek.Training.Runs;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Distill;

/// <summary>distill_state.json: the step reached, the time spent and the options (the data order and the on-policy
/// prompts and seeds follow from the step and the seed).</summary>
public sealed record DistillState
{
    public const string FileName = "distill_state.json";

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) } };

    [JsonPropertyName("step")] public long Step { get; init; }

    [JsonPropertyName("elapsed_seconds")] public double ElapsedSeconds { get; init; }

    [JsonPropertyName("options")] public DistillOptions Options { get; init; } = new();

    public static DistillState Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<DistillState>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid {FileName}: {e.Message}", e);
        }
    }

    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");
}

/// <summary>One step of a logits or on-policy run.</summary>
public sealed record DistillRecord
{
    [JsonPropertyName("step")] public long Step { get; init; }

    /// <summary>The step's loss per completion token.</summary>
    [JsonPropertyName("loss")] public double Loss { get; init; }

    [JsonPropertyName("ce")] public double CrossEntropy { get; init; }

    /// <summary>Forward KL to the teacher's top-k (logits) or reverse KL to the teacher (on-policy), per token.</summary>
    [JsonPropertyName("kl")] public double Kl { get; init; }

    [JsonPropertyName("tokens")] public long Tokens { get; init; }

    /// <summary>On-policy: the share of the student's samples with the right answer.</summary>
    [JsonPropertyName("accuracy")] public double? Accuracy { get; init; }

    [JsonPropertyName("length_mean")] public double? LengthMean { get; init; }

    [JsonPropertyName("lr")] public double Lr { get; init; }

    [JsonPropertyName("grad_norm")] public double GradNorm { get; init; }

    [JsonPropertyName("sample_seconds")] public double SampleSeconds { get; init; }

    [JsonPropertyName("train_seconds")] public double TrainSeconds { get; init; }

    /// <summary>Tokens through the student's forward and backward per second of training.</summary>
    [JsonPropertyName("train_tokens_per_second")] public double TrainTokensPerSecond { get; init; }

    [JsonPropertyName("elapsed_seconds")] public double ElapsedSeconds { get; init; }
}

/// <summary>What a logits or on-policy run did.</summary>
public sealed record DistillResult(long Step, long CheckpointStep, DistillRecord? First, DistillRecord? Last);

/// <summary>A distillation run in <see cref="DistillOptions.OutDir"/>.</summary>
public sealed class DistillRun(DistillOptions options, Action<string>? log = null)
{
    public const string MetricsFileName = "distill_metrics.jsonl";
    private readonly Action<string> _log = log ?? (_ => { });

    public DistillOptions Options { get; } = options;

    public Action<DistillRecord>? OnStep { get; init; }

    /// <summary>sft mode: checks the student against the data, resolves it, packs the data into the run directory and
    /// returns the fine-tuning loop's options (on resume, the saved ones).</summary>
    public static RunOptions PrepareSft(DistillOptions o, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(o);
        log ??= _ => { };
        if (o.Resume) { return TrainingRun.ResumeOptions(o.OutDir, o.Steps); }
        o.Validate();
        var meta = RequireData(o);
        var student = Students.Resolve(o.Student, o.Teacher, o.OutDir, o.Seed, log);
        var tokenizer = TokenizerMatch.LoadStudent(student);
        var format = PromptFormats.Create(o.Template, student);
        var examples = SftData.Read(o.Data, format);
        TokenizerMatch.EnsureExpressible(tokenizer, student, examples.SelectMany(e => new[] { e.Prompt, e.Completion }), meta?.AddedTokens ?? []);
        return SftRun.Prepare(new SftOptions
        {
            Model = student,
            Data = o.Data,
            OutDir = o.OutDir,
            Template = o.Template,
            Epochs = o.Epochs,
            Steps = o.Steps,
            SeqLen = o.SeqLen,
            MicroBatch = o.MicroBatch,
            BatchTokens = o.Batch * o.SeqLen,
            Lr = o.Lr,
            WarmupSteps = o.WarmupSteps,
            Seed = o.Seed,
            CheckpointEvery = o.CheckpointEvery,
        }, log);
    }

    /// <summary>Runs logits or on-policy mode to its step count or until cancelled (then checkpoints the last step).</summary>
    public DistillResult Run(CancellationToken cancel = default)
    {
        var dir = Options.OutDir;
        string? student = null; // a fresh run's starting weights; a resumed run starts from its own checkpoint
        DistillDataMeta? meta = null;
        if (!Options.Resume)
        {
            Options.Validate(); // and the data and the student's tokenizer, before anything is written
            if (Options.Mode == DistillMode.Sft) { throw new InvalidOperationException("sft mode runs through DistillRun.PrepareSft and the fine-tuning loop"); }
            student = Students.Resolve(Options.Student, Options.Teacher, dir, Options.Seed, _log);
            meta = Check(Options, student);
        }
        Directory.CreateDirectory(dir);
        RlCheckpoint.Recover(dir, DistillState.FileName);
        var statePath = Path.Combine(dir, DistillState.FileName);
        var state = Prepare(dir, statePath, student);
        var o = state.Options;
        if (Options.Resume) { meta = Check(o, dir); }
        var config = ModelConfig.Load(dir);
        var tokenizer = TokenizerMatch.LoadStudent(dir);
        var teacherConfig = ModelConfig.Load(o.Teacher);
        var sequences = o.Mode == DistillMode.Logits ? LogitsSequences(o, tokenizer, dir) : [];
        var steps = o.Steps ?? Math.Max(1, (long)Math.Ceiling(o.Epochs * sequences.Count / o.Batch));
        var context = Math.Min(config.MaxPositionEmbeddings, 512 + o.MaxNewTokens);
        if (o.Mode == DistillMode.Logits) { context = Math.Min(config.MaxPositionEmbeddings, Math.Max(context, sequences.Max(s => s.InputLength))); }

        using var policy = new ModelWeights(config, DType.F32, withGradients: true);
        using (var checkpoint = CheckpointDirectory.Open(student ?? dir)) { policy.Load(checkpoint); }
        using var model = new Transformer(policy, context);
        using var optimizer = new AdamW(policy, new AdamWOptions());
        if (Options.Resume) { optimizer.Load(CheckpointCommit.Resolve(dir, RlCheckpoint.OptimizerFileName)); }
        using var teacher = o.Mode == DistillMode.OnPolicy ? new ModelWeights(teacherConfig) : null;
        if (teacher is not null)
        {
            using var checkpoint = CheckpointDirectory.Open(o.Teacher);
            teacher.Load(checkpoint);
        }
        using var teacherModel = teacher is null ? null : new Transformer(teacher, context);
        var slots = o.Prompts * o.Generations;
        using var views = o.Mode == DistillMode.OnPolicy ? InferenceWeights.From(policy, WeightFormat.F32) : null;
        using var cache = views is null ? null : new KvCache(config, slots, context);
        using var runner = views is null ? null : new ModelRunner(views, cache!);
        using var engine = runner is null ? null : new BatchEngine(runner, tokenizer, queueCapacity: slots);
        var tasks = o.Mode == DistillMode.OnPolicy ? TaskCatalog.Resolve(o.Task, o.Seed) : null;
        var format = PromptFormats.Create(o.Template, dir);
        var schedule = LrSchedule.WarmupCosine(o.Lr, Math.Min(o.WarmupSteps, steps), steps);
        using var arena = new Arena("distill-step");
        using var teacherArena = new Arena("distill-teacher");
        var tape = new Tape(arena);
        var teacherTape = new Tape(teacherArena) { GradEnabled = false };
        using var metrics = GrpoRun.OpenMetrics(Path.Combine(dir, MetricsFileName), state.Step);
        _log($"distill ({DistillOptions.Name(o.Mode)}) from {o.Teacher}: {policy.Unique.Sum(p => p.Value.ElementCount):N0} student parameters, steps {state.Step + 1} .. {steps}"
            + (o.Mode == DistillMode.Logits ? $", {sequences.Count} sequences, {o.Batch} a step, α {o.KlWeight}" : $", {o.Prompts} prompts × {o.Generations} samples, ≤ {o.MaxNewTokens} new tokens"));

        var clock = Stopwatch.StartNew();
        var elapsedBefore = state.ElapsedSeconds;
        var checkpointStep = state.Step;
        DistillRecord? first = null, last = null;
        void Save()
        {
            RlCheckpoint.Save(dir, config, policy, optimizer, null, DistillState.FileName, state.Save);
            checkpointStep = state.Step;
        }
        while (state.Step < steps && !cancel.IsCancellationRequested)
        {
            var step = state.Step + 1;
            var sampleClock = Stopwatch.StartNew();
            List<DistillSequence> batch;
            double? accuracy = null, length = null;
            if (o.Mode == DistillMode.Logits)
            {
                batch = Batch(sequences, step, o);
            }
            else
            {
                try
                {
                    (batch, accuracy, length) = Sample(engine!, tokenizer, tasks!, format, o, step, cancel);
                }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                {
                    break;
                }
            }
            var sampleSeconds = sampleClock.Elapsed.TotalSeconds;
            var trainClock = Stopwatch.StartNew();
            var lr = schedule.At(step);
            policy.ZeroGradients();
            var totals = batch.Count == 0 ? default : Accumulate(model, teacherModel, tape, teacherTape, batch, o, meta?.Settings.Temperature ?? 1);
            var gradNorm = GradClip.ClipGlobalNorm(policy, o.GradClip);
            if (!double.IsFinite(gradNorm) || !double.IsFinite(totals.Loss))
            {
                policy.ZeroGradients();
                if (checkpointStep < state.Step) { Save(); }
                throw new InvalidOperationException($"step {step}: loss {totals.Loss}, gradient norm {gradNorm}; the last good checkpoint is step {checkpointStep} (lower --lr)");
            }
            if (batch.Count > 0) { optimizer.Step(lr); }
            policy.ZeroGradients();
            var trainSeconds = trainClock.Elapsed.TotalSeconds;
            state = state with { Step = step, ElapsedSeconds = elapsedBefore + clock.Elapsed.TotalSeconds };
            var tokens = Math.Max(1, totals.Tokens);
            var record = new DistillRecord
            {
                Step = step,
                Loss = totals.Loss / tokens,
                CrossEntropy = totals.CrossEntropy / tokens,
                Kl = totals.Kl / Math.Max(1, totals.KlTokens),
                Tokens = totals.Tokens,
                Accuracy = accuracy,
                LengthMean = length,
                Lr = lr,
                GradNorm = gradNorm,
                SampleSeconds = o.Mode == DistillMode.OnPolicy ? sampleSeconds : 0,
                TrainSeconds = trainSeconds,
                TrainTokensPerSecond = batch.Sum(s => (long)s.InputLength) / Math.Max(trainSeconds, 1e-9),
                ElapsedSeconds = state.ElapsedSeconds,
            };
            metrics.WriteLine(JsonSerializer.Serialize(record));
            metrics.Flush();
            OnStep?.Invoke(record);
            first ??= record;
            last = record;
            if (step % o.CheckpointEvery == 0 || step == steps) { Save(); }
        }
        if (checkpointStep < state.Step) { Save(); }
        return new DistillResult(state.Step, checkpointStep, first, last);
    }

    /// <summary>A sequence the student learns: prompt ids, completion ids and, per completion token, the teacher's
    /// top-k (logits mode; null rows: cross-entropy only).</summary>
    internal sealed record DistillSequence(int[] Prompt, int[] Completion, int[]?[] TopIds, float[]?[] TopLogProbs)
    {
        public int InputLength => Prompt.Length + Completion.Length - 1;
    }

    internal readonly record struct Totals(double Loss, double CrossEntropy, double Kl, long Tokens, long KlTokens);

    // What must hold before a step: the data (logits: its top-k and template) and the student's tokenizer and vocabulary
    // against the teacher's. Returns the data's meta (null for on-policy).
    private static DistillDataMeta? Check(DistillOptions o, string student)
    {
        var meta = RequireData(o);
        if (o.Mode == DistillMode.Logits && meta!.Settings.Template != o.Template)
        {
            throw new InvalidDataException($"--mode logits trains on the teacher's prompt ids, rendered with --template {meta.Settings.Template} when '{o.Data}' was made; pass --template {meta.Settings.Template}");
        }
        var tokenizer = TokenizerMatch.LoadStudent(student);
        var teacher = ByteLevelBpe.Load(o.Teacher);
        TokenizerMatch.EnsureSame(tokenizer, student, meta?.Tokenizer ?? TokenizerMatch.Fingerprint(teacher), meta?.Vocab ?? teacher.VocabSize, DistillOptions.Name(o.Mode));
        var (mine, theirs) = (ModelConfig.Load(student).VocabSize, ModelConfig.Load(o.Teacher).VocabSize);
        if (o.Mode == DistillMode.OnPolicy && mine != theirs)
        {
            throw new InvalidDataException($"--mode on-policy compares whole distributions: the teacher's vocab_size is {theirs}, the student's {mine}; use --mode sft or logits");
        }
        return meta;
    }

    // The teacher data's meta, checked against the settings: logits mode needs the top-k the data may lack.
    private static DistillDataMeta? RequireData(DistillOptions o)
    {
        if (o.Mode == DistillMode.OnPolicy) { return null; }
        if (!File.Exists(o.Data)) { throw new FileNotFoundException($"--data '{o.Data}': no such file (make it with `sharpseek distill data --teacher … --data {o.Data}`)", o.Data); }
        var meta = DistillData.ReadMeta(o.Data);
        if (o.Mode == DistillMode.Logits && meta is null) { throw new InvalidDataException($"--mode logits needs the teacher's token ids and log-probs: '{o.Data}' has no {Path.GetFileName(o.Data + DistillData.MetaSuffix)} (make the data with `distill data`)"); }
        if (o.Mode == DistillMode.Logits && meta!.Settings.TopLogProbs == 0) { throw new InvalidDataException($"--mode logits needs the teacher's top-k log-probs: '{o.Data}' was made with --top-logprobs 0; remake it with --top-logprobs k"); }
        return meta;
    }

    // A fresh run copies the student's config and tokenizer files (the directory is a model directory from the first
    // checkpoint on); a resume reads the saved state.
    private DistillState Prepare(string dir, string statePath, string? student)
    {
        if (Options.Resume)
        {
            if (!File.Exists(CheckpointCommit.Resolve(dir, DistillState.FileName))) { throw new FileNotFoundException($"no {DistillState.FileName} in '{dir}': nothing to resume (start without --resume)", statePath); }
            var saved = DistillState.Load(CheckpointCommit.Resolve(dir, DistillState.FileName));
            return saved with { Options = saved.Options with { Steps = Options.Steps ?? saved.Options.Steps, Resume = true, OutDir = dir } };
        }
        if (File.Exists(statePath)) { throw new InvalidOperationException($"'{dir}' already holds a distillation run at step {DistillState.Load(statePath).Step}; pass --resume to continue it or choose another --out"); }
        GrpoRun.CopyModelFiles(student!, dir);
        return new DistillState { Options = Options };
    }

    // logits mode's sequences: the teacher's ids where the line has them (EOS appended when the sample stopped on a
    // stop string), the student's encoding of the text otherwise (non-reasoning lines).
    private static List<DistillSequence> LogitsSequences(DistillOptions o, ByteLevelBpe tokenizer, string dir)
    {
        var lines = DistillData.ReadLines(o.Data);
        var eos = tokenizer.EosId ?? throw new InvalidDataException($"'{dir}': the tokenizer has no EOS token; every completion ends with it");
        var plain = lines.Any(l => l.Tokens is null) ? SftPacking.Encode(SftData.Read(o.Data, PromptFormats.Create(o.Template, dir)), tokenizer) : null;
        var list = new List<DistillSequence>(lines.Count);
        for (var i = 0; i < lines.Count; i++)
        {
            var l = lines[i];
            if (l.Tokens is null)
            {
                var (prompt, completion) = plain![i];
                list.Add(new DistillSequence(prompt, [.. completion, eos], new int[]?[completion.Length + 1], new float[]?[completion.Length + 1]));
                continue;
            }
            var ends = l.Tokens[^1] == eos;
            int[] tokens = ends ? l.Tokens : [.. l.Tokens, eos];
            var ids = new int[]?[tokens.Length];
            var lps = new float[]?[tokens.Length];
            for (var j = 0; j < l.Tokens.Length; j++) { (ids[j], lps[j]) = (l.TopIds?[j], l.TopLogProbs?[j]); }
            list.Add(new DistillSequence(l.PromptTokens!, tokens, ids, lps));
        }
        if (list.Count == 0) { throw new InvalidDataException($"'{o.Data}' holds no sample to learn from"); }
        return list;
    }

    // The sequences of a step: Batch of them in a seeded order per epoch, so a resumed run takes the same ones.
    private static List<DistillSequence> Batch(List<DistillSequence> all, long step, DistillOptions o)
    {
        var batch = new List<DistillSequence>(o.Batch);
        int[] order = [];
        var orderEpoch = -1;
        for (var k = (step - 1) * o.Batch; k < step * o.Batch; k++)
        {
            var epoch = (int)(k / all.Count);
            if (epoch != orderEpoch) // a step crosses at most a few epoch boundaries: each order is drawn once
            {
                order = [.. Enumerable.Range(0, all.Count)];
                new Random(unchecked((o.Seed * 1_000_003) + epoch)).Shuffle(order);
                orderEpoch = epoch;
            }
            batch.Add(all[order[(int)(k % all.Count)]]);
        }
        return batch;
    }

    // On-policy: the student samples G completions of P train prompts (seeded by step), scored for the log only.
    private static (List<DistillSequence> Batch, double Accuracy, double Length) Sample(BatchEngine engine, ByteLevelBpe tokenizer, ITaskSet tasks, IPromptFormat format,
        DistillOptions o, long step, CancellationToken cancel)
    {
        var problems = Enumerable.Range(0, o.Prompts).Select(i => tasks.Get(ProblemSplit.Train, ((step - 1) * o.Prompts) + i)).ToList();
        var rendered = problems.Select(format.Render).ToList();
        var rollout = new RolloutOptions { MaxNewTokens = o.MaxNewTokens, Temperature = o.Temperature };
        var rollouts = RolloutSampler.SampleAsync(engine, [.. rendered.Select(r => r.Encode(tokenizer))], o.Generations, rollout, (ulong)o.Seed, step, cancel: cancel).GetAwaiter().GetResult();
        var accuracy = new AccuracyReward();
        double right = 0;
        var batch = new List<DistillSequence>();
        foreach (var r in rollouts)
        {
            right += accuracy.Score(problems[r.Group], r.ToCompletion(tokenizer, rendered[r.Group].StartsInThink)) ?? 0;
            if (r.Completion.Length > 0) { batch.Add(new DistillSequence(r.Prompt, r.Completion, new int[]?[r.Completion.Length], new float[]?[r.Completion.Length])); }
        }
        return (batch, right / rollouts.Length, rollouts.Average(r => r.Completion.Length));
    }

    // Forward and backward over the step's sequences in micro-batches, gradients accumulating; every completion token
    // weighs 1 / (the step's completion tokens).
    internal static Totals Accumulate(Transformer student, Transformer? teacher, Tape tape, Tape teacherTape, List<DistillSequence> batch, DistillOptions o, double teacherTemperature)
    {
        var stepTokens = batch.Sum(s => s.Completion.Length);
        var totals = default(Totals);
        var result = new ForwardResult();
        var teacherResult = new ForwardResult();
        for (var start = 0; start < batch.Count; start += o.MicroBatch)
        {
            var count = Math.Min(o.MicroBatch, batch.Count - start);
            var (inputs, width) = GrpoUpdate.PadInputs(count, b => (batch[start + b].Prompt, batch[start + b].Completion));
            tape.Reset();
            var logits = student.Forward(tape, tape.Arena.FromSpan<int>(inputs, count, width), result, mtp: false).Logits;
            var values = tape.Value(logits).AsSpan<float>();
            var vocab = (int)tape.Value(logits).Shape.Last;
            Tensor? teacherLogits = null;
            if (teacher is not null)
            {
                teacherTape.Reset();
                teacherLogits = teacherTape.Value(teacher.Forward(teacherTape, teacherTape.Arena.FromSpan<int>(inputs, count, width), teacherResult, mtp: false).Logits);
            }
            var grad = tape.Arena.Allocate(DType.F32, tape.Value(logits).Shape);
            var g = grad.AsSpan<float>();
            g.Clear();
            var logp = new double[vocab];
            var teacherLogp = new double[vocab];
            var scale = 1.0 / stepTokens;
            for (var b = 0; b < count; b++)
            {
                var s = batch[start + b];
                for (var j = 0; j < s.Completion.Length; j++)
                {
                    var row = (b * width) + s.Prompt.Length - 1 + j;
                    DistillLoss.LogSoftmax(values.Slice(row * vocab, vocab), logp);
                    var gradRow = g.Slice(row * vocab, vocab);
                    double ce = 0, kl = 0, loss;
                    var hasKl = false;
                    if (teacherLogits is not null)
                    {
                        DistillLoss.LogSoftmax(teacherLogits.Value.AsSpan<float>().Slice(row * vocab, vocab), teacherLogp);
                        kl = DistillLoss.ReverseKl(logp, teacherLogp, gradRow, scale);
                        ce = -logp[s.Completion[j]];
                        loss = kl;
                        hasKl = true;
                    }
                    else if (s.TopIds[j] is { } ids && o.KlWeight > 0)
                    {
                        ce = DistillLoss.CrossEntropy(logp, s.Completion[j], gradRow, scale * (1 - o.KlWeight));
                        kl = DistillLoss.TopKForwardKl(logp, ids, s.TopLogProbs[j], teacherTemperature, gradRow, scale * o.KlWeight);
                        loss = ((1 - o.KlWeight) * ce) + (o.KlWeight * kl);
                        hasKl = true;
                    }
                    else
                    {
                        loss = ce = DistillLoss.CrossEntropy(logp, s.Completion[j], gradRow, scale);
                    }
                    totals = new Totals(totals.Loss + loss, totals.CrossEntropy + ce, totals.Kl + kl, totals.Tokens + 1, totals.KlTokens + (hasKl ? 1 : 0));
                }
            }
            tape.Backward(logits, grad);
        }
        return totals;
    }
}
