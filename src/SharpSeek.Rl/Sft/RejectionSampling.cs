// RejectionSampling.cs: R1's rejection sampling (arXiv 2501.12948 §2.3.3): k samples per train-split problem from a
// checkpoint, kept only when the answer is right, the format exact, the chain of thought readable (fully in the target
// script) and the sample not cut off, duplicates dropped; the kept ones are SFT examples and a JSONL file anyone can read
// and reuse ({"prompt": question, "completion": …}). Not here: sampling (Rollouts/), the rewards (Rewards/), training
// on the data (SftRun.cs). Tested by R1PipelineTests.
using System.Text.Json;
using SharpSeek.Inference.Engine;
using SharpSeek.Model;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Rl.Prompts;
using SharpSeek.Rl.Rewards;
using SharpSeek.Rl.Rollouts;
using SharpSeek.Rl.Tasks;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Sft;

/// <summary>The settings of rejection sampling.</summary>
public sealed record RejectionOptions
{
    /// <summary>Train-split problems to sample (distinct problems, in index order).</summary>
    public int Problems { get; init; } = 1000;

    /// <summary>Samples per problem (k).</summary>
    public int Samples { get; init; } = 4;

    public int MaxNewTokens { get; init; } = 192;

    public double Temperature { get; init; } = 0.6;

    public double TopP { get; init; } = 0.95;

    public int Seed { get; init; } = 1;

    /// <summary>Also keep the sampler's n most likely tokens per completion position (distillation's soft targets).</summary>
    public int TopLogProbs { get; init; }
}

/// <summary>A kept sample: its problem, the completion as stored (self-contained: with the think block's opening tag),
/// and the rollout it came from (the sampled token ids, their log-probs and any top log-probs).</summary>
public sealed record KeptSample(Problem Problem, string Completion, Rollout Rollout);

/// <summary>What rejection sampling kept and why the rest went.</summary>
public sealed record RejectionReport(int Problems, int Samples, int Kept, int Wrong, int BadFormat, int Unreadable, int Truncated, int Duplicates, double Seconds, double TokensPerSecond)
{
    /// <summary>Nothing sampled yet.</summary>
    public static RejectionReport Empty { get; } = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>Sampled tokens (end-of-sequence tokens included).</summary>
    public long Tokens { get; init; }

    /// <summary>The two reports' counts, seconds and tokens added, the rate over both.</summary>
    public RejectionReport Add(RejectionReport other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var seconds = Seconds + other.Seconds;
        var tokens = Tokens + other.Tokens;
        return new RejectionReport(Problems + other.Problems, Samples + other.Samples, Kept + other.Kept, Wrong + other.Wrong, BadFormat + other.BadFormat,
            Unreadable + other.Unreadable, Truncated + other.Truncated, Duplicates + other.Duplicates, seconds, tokens / Math.Max(seconds, 1e-9))
        { Tokens = tokens };
    }
}

/// <summary>Why a sample is kept or not, in the order the checks run.</summary>
public enum SampleVerdict
{
    Kept,
    Truncated,
    Wrong,
    BadFormat,
    Unreadable,
}

/// <summary>Samples, filters and writes.</summary>
public static class RejectionSampling
{
    // Lines stay readable: "<think>" and "+" as they are (the file is data, never HTML).
    internal static readonly JsonSerializerOptions LineJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly AccuracyReward Accuracy = new();
    private static readonly FormatReward Format = new();
    private static readonly LanguageReward Language = new();

    /// <summary>The verdict on one sample: cut off, a wrong (or unscorable) answer, a format that is not exactly one think
    /// block then one answer block, or a chain of thought not fully in the Latin script is rejected.</summary>
    public static SampleVerdict Judge(Problem problem, Completion completion) =>
        completion.Truncated ? SampleVerdict.Truncated
        : Accuracy.Score(problem, completion) != 1 ? SampleVerdict.Wrong
        : Format.Score(problem, completion) != 1 ? SampleVerdict.BadFormat
        : Language.Score(problem, completion) != 1 ? SampleVerdict.Unreadable
        : SampleVerdict.Kept;

    /// <summary>Samples <see cref="RejectionOptions.Samples"/> completions of each of the first
    /// <see cref="RejectionOptions.Problems"/> distinct train problems of <paramref name="tasks"/> and keeps the good
    /// ones. <paramref name="progress"/> gets (problems done, problems). A sample's seed depends on its problem's index
    /// and the run seed only, so a run that starts at <paramref name="firstProblem"/> (a resumed one) draws what the
    /// whole run would have; <paramref name="onBatch"/> gets each batch's kept samples and report as it finishes, with
    /// the problems done so far.</summary>
    public static (IReadOnlyList<KeptSample> Kept, RejectionReport Report) Run(BatchEngine engine, ByteLevelBpe tokenizer,
        ITaskSet tasks, IPromptFormat format, RejectionOptions options, Action<int, int>? progress = null, int firstProblem = 0,
        Action<int, IReadOnlyList<KeptSample>, RejectionReport>? onBatch = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Problems < 1 || options.Samples < 1) { throw new ArgumentException($"rejection sampling needs at least one problem and one sample; got {options.Problems} and {options.Samples}"); }
        var problems = DistinctProblems.Take(tasks, ProblemSplit.Train, options.Problems);
        var kept = new List<KeptSample>();
        var total = RejectionReport.Empty;
        // As many problems a batch as the engine's queue holds samples of: the slots refill from the queue as samples
        // finish, so only a batch's last samples run in a part-empty batch (a queue of several slots' worth shortens
        // that tail); every batch starts on an idle engine, so what it samples depends on its requests alone.
        var batch = Math.Max(1, Math.Max(engine.MaxConcurrency, engine.QueueCapacity) / options.Samples);
        var rollout = new RolloutOptions { MaxNewTokens = options.MaxNewTokens, Temperature = options.Temperature, TopP = options.TopP, TopLogProbs = options.TopLogProbs };
        for (var start = Math.Max(0, firstProblem); start < problems.Count && !cancel.IsCancellationRequested; start += batch)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var chunk = problems.Skip(start).Take(batch).ToList();
            var rendered = chunk.Select(format.Render).ToList();
            // Not cancelled inside a batch: a stop takes effect between batches, where the caller can keep what was done.
            var sampled = RolloutSampler.SampleAsync(engine, [.. rendered.Select(r => r.Encode(tokenizer))], options.Samples, rollout, (ulong)options.Seed, 0, firstPrompt: start, CancellationToken.None)
                .GetAwaiter().GetResult();
            var seen = new HashSet<(string, string)>(); // a problem's samples all fall in its batch
            var batchKept = new List<KeptSample>();
            int wrong = 0, badFormat = 0, unreadable = 0, truncated = 0, duplicates = 0;
            long tokens = 0;
            foreach (var r in sampled)
            {
                tokens += r.Completion.Length;
                var problem = chunk[r.Group];
                var completion = r.ToCompletion(tokenizer, rendered[r.Group].StartsInThink);
                switch (Judge(problem, completion))
                {
                    case SampleVerdict.Truncated: truncated++; continue;
                    case SampleVerdict.Wrong: wrong++; continue;
                    case SampleVerdict.BadFormat: badFormat++; continue;
                    case SampleVerdict.Unreadable: unreadable++; continue;
                    default: break;
                }
                // Stored self-contained: with the think block's opening tag even where the prompt had opened it.
                var text = (completion.StartsInThink ? "<think>\n" : "") + completion.Text.TrimStart();
                if (seen.Add((problem.Id, text))) { batchKept.Add(new KeptSample(problem, text, r)); } else { duplicates++; }
            }
            var seconds = clock.Elapsed.TotalSeconds;
            var report = new RejectionReport(chunk.Count, chunk.Count * options.Samples, batchKept.Count, wrong, badFormat, unreadable, truncated, duplicates, seconds,
                tokens / Math.Max(seconds, 1e-9))
            { Tokens = tokens };
            total = total.Add(report);
            kept.AddRange(batchKept);
            var done = Math.Min(start + batch, problems.Count);
            onBatch?.Invoke(done, batchKept, report);
            progress?.Invoke(done, problems.Count);
        }
        return (kept, total);
    }

    /// <summary>Writes the kept samples as JSONL lines {"prompt": question, "completion": …, "id": …} through a
    /// temporary file and a rename.</summary>
    public static void Write(string path, IReadOnlyList<KeptSample> kept)
    {
        ArgumentNullException.ThrowIfNull(kept);
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            foreach (var k in kept) { writer.WriteLine(Line(k)); }
        });
    }

    /// <summary>A kept sample's JSONL line: {"prompt": question, "completion": …, "id": …}.</summary>
    public static string Line(KeptSample kept) => JsonSerializer.Serialize(Fields(kept), LineJson);

    /// <summary>The line's fields, in order: prompt (the question), completion, id.</summary>
    internal static Dictionary<string, object> Fields(KeptSample kept)
    {
        ArgumentNullException.ThrowIfNull(kept);
        return new Dictionary<string, object> { ["prompt"] = kept.Problem.Question, ["completion"] = kept.Completion, ["id"] = kept.Problem.Id };
    }
}
