// GrpoRun.cs: `sharpseek rl`, GRPO with rule rewards (DeepSeekMath arXiv 2402.03300 §4; DeepSeek-R1 arXiv 2501.12948
// §2.2): each step takes P train problems by index, samples G completions of each on the batched engine — which reads
// the policy's F32 weights in place, so after an optimizer step the next rollout sees the new policy with no copy —
// scores them, turns rewards into group advantages, and runs μ passes of U optimizer updates over the batch. Optional:
// a k3 KL to a reference copy (with periodic reset), DAPO's dynamic sampling, masking or zeroing truncated completions.
// A non-finite loss or gradient skips the update and says at which step, keeping the last good checkpoint.
// Not here: the objective (Grpo/), sampling (Rollouts/), tasks and rewards. Tested by GrpoRunTests.
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Runtime;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Rl.Grpo;
using SharpSeek.Rl.Prompts;
using SharpSeek.Rl.Rewards;
using SharpSeek.Rl.Rollouts;
using SharpSeek.Rl.Tasks;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Training;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Runs;

/// <summary>What a run did.</summary>
public sealed record RlResult(long Step, long CheckpointStep, RlRecord? First, RlRecord? Last);

/// <summary>A GRPO run in a directory; <see cref="Run"/> trains to <see cref="RlOptions.Steps"/> or until cancelled.</summary>
public sealed class GrpoRun(RlOptions options, Action<string>? log = null)
{
    public const string MetricsFileName = "rl_metrics.jsonl";
    public const string CompletionsFileName = "completions.jsonl";

    private static readonly JsonSerializerOptions Line = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };
    private readonly Action<string> _log = log ?? (_ => { });

    public RlOptions Options { get; } = options;

    public Action<RlRecord>? OnStep { get; init; }

    /// <summary>A user's own rewards, added to the built-in ones with their weights (names must differ from theirs).</summary>
    public IReadOnlyList<(IReward Reward, double Weight)> ExtraRewards { get; init; } = [];

    /// <summary>Prompt tokens a KV slot holds beside max_new_tokens (within max_position_embeddings); a longer prompt is
    /// refused naming its problem.</summary>
    public int MaxPromptTokens { get; init; } = 512;

    /// <summary>The records of a run's rl_metrics.jsonl (or of the file), in order; a line torn by a kill is skipped.</summary>
    public static IReadOnlyList<RlRecord> ReadMetrics(string path)
    {
        if (Directory.Exists(path)) { path = Path.Combine(path, MetricsFileName); }
        var records = new List<RlRecord>();
        foreach (var line in File.ReadLines(path))
        {
            try
            {
                if (JsonSerializer.Deserialize<RlRecord>(line, Line) is { } r) { records.Add(r); }
            }
            catch (JsonException)
            {
                // a line torn by a kill
            }
        }
        return records;
    }

    public RlResult Run(CancellationToken cancel = default)
    {
        var dir = Options.OutDir;
        Directory.CreateDirectory(dir);
        RlCheckpoint.Recover(dir);
        var statePath = Path.Combine(dir, RlState.FileName);
        var state = Prepare(dir, statePath);
        var o = state.Options;
        o.Validate();
        var source = Options.Resume ? dir : o.Model;
        var config = ModelConfig.Load(dir);
        var tokenizer = ByteLevelBpe.Load(dir);
        var context = Math.Min(config.MaxPositionEmbeddings, MaxPromptTokens + o.MaxNewTokens);
        if (context - o.MaxNewTokens < 1) { throw new ArgumentException($"--max-new-tokens {o.MaxNewTokens} leaves no room for a prompt in the model's {config.MaxPositionEmbeddings} positions"); }

        using var policy = new ModelWeights(config, DType.F32, withGradients: true);
        using (var checkpoint = CheckpointDirectory.Open(source)) { policy.Load(checkpoint); }
        policy.UsePrecision(o.Precision);
        using var reference = o.Grpo.Beta != 0 ? new ModelWeights(config) : null;
        if (reference is not null)
        {
            if (Options.Resume) { RlCheckpoint.LoadReference(dir, reference); } else { CopyValues(policy, reference); }
        }
        using var model = new Transformer(policy, context);
        using var referenceModel = reference is null ? null : new Transformer(reference, context);
        using var optimizer = new AdamW(policy, new AdamWOptions { WeightDecay = o.WeightDecay, Moments = AdamWOptions.MomentsFor(o.Precision) });
        if (Options.Resume) { optimizer.Load(CheckpointCommit.Resolve(dir, RlCheckpoint.OptimizerFileName)); }

        var slots = o.Prompts * o.Generations;
        using var views = InferenceWeights.From(policy, WeightFormat.F32); // the policy's masters, read in place
        using var cache = new KvCache(config, slots, context);
        using var runner = new ModelRunner(views, cache);
        using var engine = new BatchEngine(runner, tokenizer, queueCapacity: slots);

        var tasks = TaskCatalog.Resolve(o.Task, o.Seed);
        var format = PromptFormats.Create(o.Template, o.Model);
        var rewards = Rewards(o, ExtraRewards);
        var rollout = new RolloutOptions { MaxNewTokens = o.MaxNewTokens, Temperature = o.Temperature, TopP = o.TopP };
        var schedule = LrSchedule.WarmupCosine(o.Lr, Math.Min(o.WarmupSteps, o.Steps), o.Steps, 1.0); // constant after warm-up
        using var arena = new Arena("rl-step");
        var tape = new Tape(arena);
        using var metrics = OpenMetrics(Path.Combine(dir, MetricsFileName), state.Step);
        KeepThroughStep(Path.Combine(dir, CompletionsFileName), state.Step);
        _log($"GRPO on {o.Task} from {source}: {policy.Unique.Sum(p => p.Value.ElementCount):N0} parameters, steps {state.Step + 1} .. {o.Steps}, "
            + $"{o.Prompts} prompts × {o.Generations} samples, ≤ {o.MaxNewTokens} new tokens, loss {o.Grpo.Loss}, β {o.Grpo.Beta}");

        var clock = Stopwatch.StartNew();
        var elapsedBefore = state.ElapsedSeconds;
        var checkpointStep = state.Step;
        RlRecord? first = null, last = null;
        while (state.Step < o.Steps && !cancel.IsCancellationRequested)
        {
            var step = state.Step + 1;
            Sampled sampled;
            try
            {
                sampled = SampleGroups(engine, tokenizer, tasks, format, rewards, rollout, o, context - o.MaxNewTokens, step, state.ProblemsUsed, _log, cancel);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                break; // sampling changes neither the weights nor the state: the last completed step is checkpointed below
            }
            catch when (checkpointStep < state.Step)
            {
                RlCheckpoint.Save(dir, config, policy, optimizer, reference, state); // keep the completed steps, then report
                throw;
            }
            var (groups, all, used, rolloutSeconds, rewardSeconds, generated) = sampled;
            var trainClock = Stopwatch.StartNew();
            var (sequences, summary) = Sequences(groups, o);
            if (sequences.Count == 0) { _log($"step {step}: no completion to train on ({all.Count} groups sampled, {groups.Count} kept; completions empty, or truncated and masked); raise --max-new-tokens or use --truncated zero|keep"); }
            var lr = schedule.At(step);
            var (update, gradNorm, skipped, trainTokens) = Train(model, referenceModel, optimizer, policy, tape, sequences, o, lr, step, checkpointStep);
            if (reference is not null && o.ReferenceResetEvery > 0 && step % o.ReferenceResetEvery == 0) { CopyValues(policy, reference); }
            var trainSeconds = trainClock.Elapsed.TotalSeconds;

            state = state with { Step = step, ProblemsUsed = used, ElapsedSeconds = elapsedBefore + clock.Elapsed.TotalSeconds, LastSkippedStep = skipped ? step : state.LastSkippedStep };
            var record = Record(step, all, rewards, summary, update, gradNorm, lr, skipped, generated, rolloutSeconds, rewardSeconds, trainSeconds, trainTokens, state.ElapsedSeconds);
            record = record with { DroppedGroups = all.Count - groups.Count, ZeroStdGroups = all.Count(g => !Informative(g)) / (double)Math.Max(1, all.Count) };
            metrics.WriteLine(JsonSerializer.Serialize(record, Line));
            metrics.Flush();
            if (o.LogCompletionsEvery > 0 && step % o.LogCompletionsEvery == 0) { LogCompletions(dir, step, groups, rewards); }
            OnStep?.Invoke(record);
            first ??= record;
            last = record;
            if (step % o.CheckpointEvery == 0 || step == o.Steps)
            {
                RlCheckpoint.Save(dir, config, policy, optimizer, reference, state);
                checkpointStep = step;
            }
        }
        if (checkpointStep < state.Step)
        {
            RlCheckpoint.Save(dir, config, policy, optimizer, reference, state);
            checkpointStep = state.Step;
        }
        return new RlResult(state.Step, checkpointStep, first, last);
    }

    /// <summary>One sampled completion with its problem, scores and (after <see cref="Sequences"/>) advantage.</summary>
    private sealed record Scored(Problem Problem, string Prompt, Rollout Rollout, string Text, RewardScores Scores, double? Total)
    {
        public double Advantage { get; set; }
    }

    // A fresh run copies the model's config and tokenizer files into the directory (so it is a model directory from
    // the first checkpoint on); a resume reads the saved state.
    private RlState Prepare(string dir, string statePath)
    {
        if (Options.Resume)
        {
            if (!File.Exists(CheckpointCommit.Resolve(dir, RlState.FileName))) { throw new FileNotFoundException($"no {RlState.FileName} in '{dir}': nothing to resume (start without --resume)", statePath); }
            var saved = RlState.Load(CheckpointCommit.Resolve(dir, RlState.FileName));
            var steps = Options.Steps > 0 ? Math.Max(Options.Steps, saved.Step) : saved.Options.Steps; // 0: the saved count
            return saved with { Options = saved.Options with { Steps = steps, Resume = true } };
        }
        Options.Validate();
        if (File.Exists(statePath)) { throw new InvalidOperationException($"'{dir}' already holds a GRPO run at step {RlState.Load(statePath).Step}; pass --resume to continue it or choose another --out"); }
        if (!File.Exists(Path.Combine(Options.Model, ByteLevelBpe.TokenizerFileName)))
        {
            throw new FileNotFoundException($"--model '{Options.Model}' has no {ByteLevelBpe.TokenizerFileName}; GRPO samples text and needs the model's tokenizer");
        }
        CopyModelFiles(Options.Model, dir);
        return new RlState { Options = Options };
    }

    private static RewardSet Rewards(RlOptions o, IReadOnlyList<(IReward, double)> extra)
    {
        var list = new List<(IReward, double)> { (new AccuracyReward(), o.AccuracyWeight), (new FormatReward(), o.FormatWeight), (new LanguageReward(), o.LanguageWeight) };
        if (o.OverlongCache > 0) { list.Add((new OverlongReward(o.MaxNewTokens, o.OverlongCache), 1.0)); }
        return new RewardSet([.. list, .. extra]);
    }

    // Samples P groups (more with dynamic sampling, which keeps only groups whose rewards differ) and scores them.
    private readonly record struct Sampled(List<Scored[]> Kept, List<Scored[]> All, long Used, double RolloutSeconds, double RewardSeconds, long Generated);

    // Whether a group's scorable rewards differ (it carries a learning signal).
    private static bool Informative(Scored[] group)
    {
        var scorable = group.Where(s => s.Total is not null).Select(s => s.Total!.Value).ToList();
        return scorable.Count >= 2 && scorable.Distinct().Count() > 1;
    }

    private static Sampled SampleGroups(BatchEngine engine, ByteLevelBpe tokenizer,
        ITaskSet tasks, IPromptFormat format, RewardSet rewards, RolloutOptions rollout, RlOptions o, int maxPrompt, long step, long used, Action<string> log, CancellationToken cancel)
    {
        var groups = new List<Scored[]>();
        var all = new List<Scored[]>();
        double rolloutSeconds = 0, rewardSeconds = 0;
        long generated = 0;
        for (var round = 0; round <= (o.DynamicSampling ? o.MaxRefills : 0) && groups.Count < o.Prompts; round++)
        {
            var problems = Enumerable.Range(0, o.Prompts).Select(i => tasks.Get(ProblemSplit.Train, used + i)).ToList();
            used += o.Prompts;
            var rendered = problems.Select(format.Render).ToList();
            var prompts = rendered.Select(r => r.Encode(tokenizer)).ToList();
            for (var i = prompts.Count - 1; i >= 0; i--) // a prompt the context cannot hold is skipped, and said
            {
                if (prompts[i].Length <= maxPrompt) { continue; }
                log($"step {step}: problem {problems[i].Id} skipped: its prompt has {prompts[i].Length} tokens, at most {maxPrompt} fit beside {o.MaxNewTokens} new tokens");
                (problems, rendered, prompts) = ([.. problems.Where((_, k) => k != i)], [.. rendered.Where((_, k) => k != i)], [.. prompts.Where((_, k) => k != i)]);
            }
            if (prompts.Count == 0)
            {
                throw new ArgumentException($"no prompt of step {step} fits: each is longer than the {maxPrompt} tokens left beside {o.MaxNewTokens} new tokens (try --template plain or fewer --max-new-tokens)");
            }
            var clock = Stopwatch.StartNew();
            var rollouts = RolloutSampler.SampleAsync(engine, prompts, o.Generations, rollout, (ulong)o.Seed, (step * (o.MaxRefills + 1)) + round, cancel: cancel).GetAwaiter().GetResult();
            rolloutSeconds += clock.Elapsed.TotalSeconds;
            generated += rollouts.Sum(r => (long)r.Completion.Length);
            clock.Restart();
            for (var i = 0; i < problems.Count; i++)
            {
                var group = new Scored[o.Generations];
                for (var j = 0; j < o.Generations; j++)
                {
                    var r = rollouts[(i * o.Generations) + j];
                    var completion = r.ToCompletion(tokenizer, rendered[i].StartsInThink); // end-of-sequence stripped before scoring
                    var scores = rewards.Score(problems[i], completion);
                    var total = r.Truncated && o.Truncated == TruncatedCompletions.Zero ? 0 : scores.Total;
                    group[j] = new Scored(problems[i], rendered[i].Text, r, completion.Text, scores, total);
                }
                all.Add(group);
                if (!o.DynamicSampling || Informative(group)) { groups.Add(group); }
                if (groups.Count == o.Prompts) { break; }
            }
            rewardSeconds += clock.Elapsed.TotalSeconds;
        }
        return new Sampled(groups, all, used, rolloutSeconds, rewardSeconds, generated);
    }

    // Advantages per group; the sequences the update trains on (empty and, with Mask, truncated completions left out).
    private static (List<PolicySequence> Sequences, GroupSummary Summary) Sequences(List<Scored[]> groups, RlOptions o)
    {
        var totals = groups.SelectMany(g => g).Select(s => s.Total).ToArray();
        var advantages = new double[totals.Length];
        var summary = totals.Length == 0 ? default : GroupAdvantages.Compute(totals, o.Generations, o.Grpo, advantages);
        var sequences = new List<PolicySequence>();
        var k = 0;
        foreach (var s in groups.SelectMany(g => g))
        {
            s.Advantage = advantages[k++];
            if (s.Rollout.Completion.Length == 0 || (s.Rollout.Truncated && o.Truncated == TruncatedCompletions.Mask)) { continue; }
            sequences.Add(new PolicySequence { Prompt = s.Rollout.Prompt, Completion = s.Rollout.Completion, OldLogProbs = s.Rollout.LogProbs, Advantage = s.Advantage });
        }
        return (sequences, summary);
    }

    // μ passes of U updates; a non-finite loss or gradient norm abandons the rest of the step's updates.
    private (UpdateTotals Totals, double GradNorm, bool Skipped, long Tokens) Train(Transformer model, Transformer? reference, AdamW optimizer, ModelWeights policy, Tape tape,
        List<PolicySequence> sequences, RlOptions o, double lr, long step, long checkpointStep)
    {
        if (sequences.Count == 0) { return (default, 0, false, 0); }
        if (reference is not null) { GrpoUpdate.ScoreReference(reference, tape, sequences, o.MicroBatch, o.Temperature); }
        var perUpdate = (sequences.Count + o.Updates - 1) / o.Updates;
        var sum = default(UpdateTotals);
        double gradNorm = 0;
        long tokens = 0;
        for (var pass = 0; pass < o.Iterations; pass++)
        {
            for (var start = 0; start < sequences.Count; start += perUpdate)
            {
                var batch = sequences.GetRange(start, Math.Min(perUpdate, sequences.Count - start));
                policy.ZeroGradients();
                UpdateTotals totals;
                try
                {
                    totals = GrpoUpdate.Accumulate(model, tape, batch, o.MicroBatch, o.Temperature, o.MaxNewTokens, o.Grpo, batchSequences: o.Prompts * o.Generations / o.Updates);
                }
                catch (ArithmeticException e)
                {
                    policy.ZeroGradients();
                    _log($"step {step}: {e.Message}; update skipped, the last good checkpoint is step {checkpointStep}");
                    return (sum, gradNorm, true, tokens);
                }
                gradNorm = GradClip.ClipGlobalNorm(policy, o.GradClip);
                if (!double.IsFinite(gradNorm))
                {
                    policy.ZeroGradients();
                    _log($"step {step}: gradient norm {gradNorm}; update skipped, the last good checkpoint is step {checkpointStep}");
                    return (sum, gradNorm, true, tokens);
                }
                optimizer.Step(lr);
                policy.ZeroGradients();
                sum = new UpdateTotals(sum.Objective + totals.Objective, sum.EntropySum + totals.EntropySum, Math.Max(sum.MaxLogProbDifference, pass == 0 && start == 0 ? totals.MaxLogProbDifference : 0));
                tokens += batch.Sum(s => (long)s.InputLength);
            }
        }
        return (sum, gradNorm, false, tokens);
    }

    private static RlRecord Record(long step, List<Scored[]> groups, RewardSet rewards, GroupSummary summary, UpdateTotals update, double gradNorm, double lr, bool skipped,
        long generated, double rolloutSeconds, double rewardSeconds, double trainSeconds, long trainTokens, double elapsed)
    {
        var all = groups.SelectMany(g => g).ToList();
        var totals = all.Where(s => s.Total is not null).Select(s => s.Total!.Value).ToList();
        var perReward = new Dictionary<string, double[]>();
        for (var k = 0; k < rewards.Rewards.Count; k++)
        {
            var values = all.Select(s => s.Scores.Values[k]).OfType<double>().ToList();
            perReward[rewards.Rewards[k].Name] = [Mean(values), Std(values)];
        }
        var lengths = all.Select(s => s.Rollout.Completion.Length).DefaultIfEmpty(0).ToList();
        var tokens = Math.Max(1, update.Objective.Tokens);
        return new RlRecord
        {
            Step = step,
            RewardMean = Mean(totals),
            RewardStd = Std(totals),
            Rewards = perReward,
            Accuracy = perReward["accuracy"][0],
            FormatRate = perReward["format"][0],
            ZeroStdGroups = summary.ZeroStdShare,
            SkippedGroups = summary.SkippedGroups,
            Unscorable = summary.UnscorableSamples,
            LengthMean = lengths.Average(),
            LengthMin = lengths.Min(),
            LengthMax = lengths.Max(),
            Truncated = all.Count == 0 ? 0 : all.Count(s => s.Rollout.Truncated) / (double)all.Count,
            Loss = update.Objective.Loss,
            Kl = update.MeanKl,
            ClipLow = update.Objective.ClippedLow / (double)tokens,
            ClipHigh = update.Objective.ClippedHigh / (double)tokens,
            MaxRatio = update.Objective.MaxRatio,
            Entropy = update.MeanEntropy,
            GradNorm = gradNorm,
            LogProbMismatch = update.MaxLogProbDifference,
            Lr = lr,
            RolloutTokensPerSecond = generated / Math.Max(rolloutSeconds, 1e-9),
            TrainTokensPerSecond = trainTokens / Math.Max(trainSeconds, 1e-9),
            RolloutSeconds = rolloutSeconds,
            RewardSeconds = rewardSeconds,
            TrainSeconds = trainSeconds,
            SkippedUpdate = skipped,
            ElapsedSeconds = elapsed,
        };
    }

    // completions.jsonl: one line per completion of the step (prompt, completion, each reward, the total, the advantage).
    private static void LogCompletions(string dir, long step, List<Scored[]> groups, RewardSet rewards)
    {
        var lines = new StringBuilder();
        foreach (var s in groups.SelectMany(g => g))
        {
            var scores = new Dictionary<string, double?>();
            for (var k = 0; k < rewards.Rewards.Count; k++) { scores[rewards.Rewards[k].Name] = s.Scores.Values[k]; }
            lines.Append(JsonSerializer.Serialize(new
            {
                step,
                problem = s.Problem.Id,
                prompt = s.Prompt,
                completion = s.Text,
                truncated = s.Rollout.Truncated,
                rewards = scores,
                reward = s.Total,
                advantage = s.Advantage,
            })).Append('\n');
        }
        File.AppendAllText(Path.Combine(dir, CompletionsFileName), lines.ToString());
    }

    /// <summary>Copies a model directory's config and tokenizer files into a run directory (a model directory from its
    /// first checkpoint on); the same directory is left as it is.</summary>
    internal static void CopyModelFiles(string model, string dir)
    {
        foreach (var file in new[] { CheckpointDirectory.ConfigFile, ByteLevelBpe.TokenizerFileName, "tokenizer_config.json" })
        {
            var from = Path.Combine(model, file);
            if (File.Exists(from) && Path.GetFullPath(from) != Path.GetFullPath(Path.Combine(dir, file))) { File.Copy(from, Path.Combine(dir, file), overwrite: true); }
        }
    }

    // A run's JSONL metrics, cut back to the steps the checkpoint covers, open for appending.
    internal static StreamWriter OpenMetrics(string path, long keepThroughStep)
    {
        KeepThroughStep(path, keepThroughStep);
        return new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
    }

    // A JSONL log of this run (metrics or completions) keeping only the lines of steps the checkpoint covers, so a
    // resumed run's logs read as if it never stopped; a line torn by a kill is dropped.
    internal static void KeepThroughStep(string path, long keepThroughStep)
    {
        if (!File.Exists(path)) { return; }
        var kept = new StringBuilder();
        foreach (var line in File.ReadLines(path))
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.GetProperty("step").GetInt64() <= keepThroughStep) { kept.Append(line).Append('\n'); }
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                // a line torn by a kill
            }
        }
        AtomicFile.WriteAllText(path, kept.ToString());
    }

    private static void CopyValues(ModelWeights from, ModelWeights to)
    {
        foreach (var p in from.Unique) { p.Value.AsSpan<float>().CopyTo(to.Get(p.Name).Value.AsSpan<float>()); }
    }

    private static double Mean(List<double> v) => v.Count == 0 ? 0 : v.Average();

    private static double Std(List<double> v)
    {
        if (v.Count < 2) { return 0; }
        var m = v.Average();
        return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / v.Count);
    }
}
