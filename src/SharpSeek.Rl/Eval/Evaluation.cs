// Evaluation.cs: `sharpseek eval`, DeepSeek-R1's protocol (arXiv 2501.12948 §3.1, "Evaluation Setup"): k samples per
// held-out problem at temperature 0.6 / top-p 0.95, pass@1 as the mean correctness over the k samples, cons@k as the
// majority vote of their answers, the unbiased pass@k, and the greedy answer beside them; the format rate and the mean
// completion length too, overall and per difficulty level. Problems are the task's held-out split, each once (small
// levels repeat problems across indexes). Samples are seeded per (seed, problem, sample) and queued together, so a run
// is reproducible whatever the engine's slot count. Countdown answers vote by their expression's text, so different
// correct expressions split the vote. Not here: the rewards (Rewards/), the estimator (PassAtK). Tested by
// EvaluationTests (pass@k) and EvalCommandTests (the whole protocol).
using SharpSeek.Inference.Engine;
using SharpSeek.Model;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Rl.Prompts;
using SharpSeek.Rl.Rewards;
using SharpSeek.Rl.Rollouts;
using SharpSeek.Rl.Tasks;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Eval;

/// <summary>What to evaluate and how.</summary>
public sealed record EvalOptions
{
    /// <summary>Held-out problems at most (distinct).</summary>
    public int Problems { get; init; } = 100;

    /// <summary>Samples per problem (k).</summary>
    public int Samples { get; init; } = 4;

    public double Temperature { get; init; } = 0.6;

    public double TopP { get; init; } = 0.95;

    public int MaxNewTokens { get; init; } = 160;

    /// <summary>Also one greedy completion per problem.</summary>
    public bool Greedy { get; init; } = true;

    public int Seed { get; init; } = 1;

    /// <summary>Prompt template: r1zero, plain or chat (<see cref="PromptFormats"/>).</summary>
    public string Template { get; init; } = "r1zero";
}

/// <summary>One line of the report: a difficulty level, or "all". <c>LanguageRate</c> is the mean language-consistency
/// score of the samples (the share of chain-of-thought words in the Latin script, R1 §2.3.2).</summary>
public sealed record EvalRow(string Level, int Problems, double Pass1, double ConsK, double PassK, double? GreedyAccuracy, double FormatRate, double LanguageRate, double MeanLength, int Unscorable);

/// <summary>A model's scores on a task's held-out problems.</summary>
public sealed record EvalReport(string Task, int Samples, double Temperature, double TopP, IReadOnlyList<EvalRow> Rows, double Seconds, double TokensPerSecond);

/// <summary>Runs R1's evaluation on a batched engine.</summary>
public static class Evaluation
{
    /// <summary>A batched engine over the model in <paramref name="dir"/> for sampling <paramref name="perProblem"/>
    /// completions of many problems at once (one problem's at least, up to 128 slots) of at most
    /// <paramref name="maxNewTokens"/> tokens after a prompt of up to 512; its queue holds <paramref name="queueSlots"/>
    /// times the slots in waiting requests. Throws when the directory has no tokenizer.</summary>
    public static BatchEngine LoadEngine(string dir, int perProblem, int maxNewTokens, WeightFormat format = WeightFormat.F32, int queueSlots = 1)
    {
        var slots = Math.Max(perProblem, Math.Min(16 * perProblem, 128));
        var context = Math.Min(ModelConfig.Load(dir).MaxPositionEmbeddings, 512 + maxNewTokens);
        var engine = BatchEngine.Load(dir, new BatchEngineOptions { Format = format, MaxConcurrency = slots, QueueCapacity = slots * queueSlots, MaxContext = context });
        if (engine.Tokenizer is null)
        {
            engine.Dispose();
            throw new FileNotFoundException($"'{dir}' has no tokenizer.json; evaluation and sampling read and write text", Path.Combine(dir, "tokenizer.json"));
        }
        return engine;
    }

    /// <summary>Evaluates; <paramref name="modelDir"/> supplies the chat template when <see cref="EvalOptions.Template"/>
    /// is chat (without it, DeepSeek's built-in template).</summary>
    public static EvalReport Run(BatchEngine engine, ByteLevelBpe tokenizer, ITaskSet tasks, EvalOptions options, Action<int, int>? progress = null, string? modelDir = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Samples < 1) { throw new ArgumentOutOfRangeException(nameof(options), options.Samples, "--samples must be at least 1"); }
        var problems = DistinctProblems.Take(tasks, ProblemSplit.HeldOut, options.Problems);
        if (problems.Count == 0) { throw new InvalidOperationException($"task '{tasks.Name}' has no held-out problems to evaluate"); }
        var format = PromptFormats.Create(options.Template, modelDir ?? "");
        var accuracy = new AccuracyReward();
        var formatReward = new FormatReward();
        var language = new LanguageReward();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var results = new List<ProblemResult>(problems.Count);
        long tokens = 0;
        var batch = Math.Max(1, engine.MaxConcurrency / (options.Samples + (options.Greedy ? 1 : 0)));
        for (var start = 0; start < problems.Count; start += batch)
        {
            var chunk = problems.Skip(start).Take(batch).ToList();
            var rendered = chunk.Select(format.Render).ToList();
            var prompts = rendered.Select(r => r.Encode(tokenizer)).ToList();
            var sampled = RolloutSampler.SampleAsync(engine, prompts, options.Samples,
                new RolloutOptions { MaxNewTokens = options.MaxNewTokens, Temperature = options.Temperature, TopP = options.TopP }, (ulong)options.Seed, 0, firstPrompt: start).GetAwaiter().GetResult();
            var greedy = options.Greedy
                ? RolloutSampler.SampleAsync(engine, prompts, 1, new RolloutOptions { MaxNewTokens = options.MaxNewTokens, Temperature = 0 }, (ulong)options.Seed, 0, firstPrompt: start).GetAwaiter().GetResult()
                : null;
            tokens += sampled.Sum(r => (long)r.Completion.Length) + (greedy?.Sum(r => (long)r.Completion.Length) ?? 0);
            for (var i = 0; i < chunk.Count; i++)
            {
                Completion Of(Rollout r) => r.ToCompletion(tokenizer, rendered[i].StartsInThink);
                var samples = sampled.Skip(i * options.Samples).Take(options.Samples).Select(Of).ToList();
                var correct = samples.Select(c => accuracy.Score(chunk[i], c)).ToList();
                var vote = Majority(samples);
                results.Add(new ProblemResult(
                    chunk[i],
                    correct.Any(c => c is null) ? null : correct.Count(c => c == 1),
                    vote is null ? 0 : accuracy.Score(chunk[i], vote.Value) ?? 0,
                    greedy is null ? null : accuracy.Score(chunk[i], Of(greedy[i])),
                    samples.Average(c => formatReward.Score(chunk[i], c) ?? 0),
                    samples.Average(c => language.Score(chunk[i], c) ?? 0),
                    samples.Average(c => (double)c.Tokens)));
            }
            progress?.Invoke(Math.Min(start + batch, problems.Count), problems.Count);
        }
        var rows = results.GroupBy(r => r.Problem.Level).OrderBy(g => g.Key).Select(g => Row($"{g.Key}", [.. g], options)).ToList();
        if (rows.Count > 1) { rows.Add(Row("all", results, options)); }
        return new EvalReport(tasks.Name, options.Samples, options.Temperature, options.TopP, rows, clock.Elapsed.TotalSeconds, tokens / Math.Max(clock.Elapsed.TotalSeconds, 1e-9));
    }

    private sealed record ProblemResult(Problem Problem, int? Correct, double Consensus, double? Greedy, double Format, double Language, double Length);

    // The completion whose answer most samples gave (numbers compared by value, other answers by their trimmed text;
    // ties to the earliest); null when no sample has an answer.
    private static Completion? Majority(List<Completion> samples)
    {
        var votes = samples.Select((c, i) => (Completion: c, Index: i, Key: Key(CompletionTags.LastAnswer(c.Text)))).Where(v => v.Key is not null).ToList();
        return votes.Count == 0 ? null : votes.GroupBy(v => v.Key!).OrderByDescending(g => g.Count()).ThenBy(g => g.Min(v => v.Index)).First().First().Completion;
    }

    private static string? Key(string? answer) => answer is null ? null : NumericAnswer.TryParse(answer, out var value) ? value.ToString() : answer.Trim();

    private static EvalRow Row(string level, List<ProblemResult> results, EvalOptions o)
    {
        var scorable = results.Where(r => r.Correct is not null).ToList();
        double Mean(IEnumerable<double> v) => v.DefaultIfEmpty(double.NaN).Average();
        return new EvalRow(
            level,
            results.Count,
            Mean(scorable.Select(r => (double)r.Correct!.Value / o.Samples)),
            Mean(scorable.Select(r => r.Consensus)),
            Mean(scorable.Select(r => PassAtK.Estimate(o.Samples, r.Correct!.Value, o.Samples))),
            o.Greedy ? Mean(scorable.Select(r => r.Greedy ?? 0)) : null,
            Mean(results.Select(r => r.Format)),
            Mean(results.Select(r => r.Language)),
            Mean(results.Select(r => r.Length)),
            results.Count - scorable.Count);
    }
}
