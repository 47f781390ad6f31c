// DistillData.cs: `sharpseek distill data`, DeepSeek-R1's distillation data (arXiv 2501.12948 §2.4, §2.3.3): the teacher
// samples k completions of each train problem of the task mix on the batched engine, rejection sampling keeps the right,
// well-formed, readable, distinct ones (RejectionSampling), and the kept ones go to a JSONL file anyone can read and
// reuse: the prompt's question and the completion's text (what SFT renders with the student's own template), plus the
// teacher's token ids and its top-k log-probs at each completion position (what logits mode learns from when the student
// shares the teacher's tokenizer). A user's non-reasoning lines are appended as they are. Resumable: each finished batch
// is appended to <out>.partial and counted in <out>.progress.json; a rerun with the same settings continues after the
// last counted batch, and the finished file is renamed into place with <out>.meta.json beside it. Not here: sampling and
// the verdicts (RejectionSampling), training on the file (DistillRun). Tested by DistillTests.
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SharpSeek.Model;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Rl.Eval;
using SharpSeek.Rl.Prompts;
using SharpSeek.Rl.Sft;
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Distill;

/// <summary>The settings of teacher data generation; all but <see cref="Teacher"/>'s path are saved with the data.</summary>
public sealed record DistillDataOptions
{
    [JsonPropertyName("teacher")] public string Teacher { get; init; } = "";

    /// <summary>The dataset to write (.jsonl).</summary>
    [JsonIgnore] public string Out { get; init; } = "";

    /// <summary>Task names with levels (TaskCatalog.Resolve) or a .jsonl file of problems.</summary>
    [JsonPropertyName("task")] public string Task { get; init; } = "add:1-4";

    /// <summary>How the teacher is prompted: r1zero, plain or chat (the teacher's chat template).</summary>
    [JsonPropertyName("template")] public string Template { get; init; } = "r1zero";

    [JsonPropertyName("problems")] public int Problems { get; init; } = 2000;

    /// <summary>Samples per problem (k).</summary>
    [JsonPropertyName("samples")] public int Samples { get; init; } = 4;

    [JsonPropertyName("max_new_tokens")] public int MaxNewTokens { get; init; } = 160;

    [JsonPropertyName("temperature")] public double Temperature { get; init; } = 0.6;

    [JsonPropertyName("top_p")] public double TopP { get; init; } = 0.95;

    /// <summary>The teacher's most likely tokens kept per completion position, with their log-probs at
    /// <see cref="Temperature"/> (0: none; logits mode needs them).</summary>
    [JsonPropertyName("top_logprobs")] public int TopLogProbs { get; init; } = 8;

    [JsonPropertyName("seed")] public int Seed { get; init; } = 1;

    /// <summary>A JSONL file of non-reasoning {"prompt", "completion"} or chat lines appended to the data.</summary>
    [JsonPropertyName("non_reasoning")] public string? NonReasoning { get; init; }

    /// <summary>The engine's queue holds this many times its slots in waiting samples, and a batch is a queue's worth:
    /// slots refill as samples finish, so only each batch's last samples run part-empty.</summary>
    [JsonIgnore] public int QueueBatches { get; init; } = 8;

    /// <summary>Fail early when none of at least this many first problems' samples was kept.</summary>
    [JsonIgnore] public int EarlyCheckProblems { get; init; } = 64;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Teacher)) { throw new ArgumentException("--teacher: the teacher model directory is required"); }
        if (!File.Exists(Path.Combine(Teacher, "config.json"))) { throw new FileNotFoundException($"--teacher '{Teacher}' is not a model directory (no config.json)", Path.Combine(Teacher, "config.json")); }
        if (string.IsNullOrWhiteSpace(Out)) { throw new ArgumentException("--data: the dataset path is required"); }
        if (Problems < 1) { throw new ArgumentOutOfRangeException(nameof(Problems), Problems, "--problems must be at least 1"); }
        if (Samples < 1) { throw new ArgumentOutOfRangeException(nameof(Samples), Samples, "--samples (k) must be at least 1"); }
        if (QueueBatches < 1) { throw new ArgumentOutOfRangeException(nameof(QueueBatches), QueueBatches, "the queue holds at least one batch of slots"); }
        new Rollouts.RolloutOptions { MaxNewTokens = MaxNewTokens, Temperature = Temperature, TopP = TopP, TopLogProbs = TopLogProbs }.Validate();
        if (!(Temperature > 0)) { throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "--temperature must be positive: the teacher's samples are its distribution"); }
        if (NonReasoning is { } file && !File.Exists(file)) { throw new FileNotFoundException($"--non-reasoning '{file}': no such file", file); }
        TaskCatalog.Resolve(Task, Seed);
        PromptFormats.Create(Template, Teacher);
    }
}

/// <summary>What was made, saved as &lt;out&gt;.meta.json: the settings, the teacher's tokenizer, the rejection report.</summary>
public sealed record DistillDataMeta
{
    [JsonPropertyName("settings")] public required DistillDataOptions Settings { get; init; }

    /// <summary>The teacher's tokenizer (<see cref="TokenizerMatch.Fingerprint"/>): logits mode checks the student's against it.</summary>
    [JsonPropertyName("tokenizer")] public required string Tokenizer { get; init; }

    [JsonPropertyName("vocab")] public int Vocab { get; init; }

    /// <summary>The teacher tokenizer's added tokens (special or not): the student's tokenizer must express those the data holds.</summary>
    [JsonPropertyName("added_tokens")] public IReadOnlyList<string> AddedTokens { get; init; } = [];

    [JsonPropertyName("report")] public required RejectionReport Report { get; init; }

    [JsonPropertyName("non_reasoning")] public int NonReasoning { get; init; }

    /// <summary>Problems done (the progress file; the whole count once finished).</summary>
    [JsonPropertyName("problems_done")] public int ProblemsDone { get; init; }

    /// <summary>Bytes of the partial file the progress counts (lines a kill left after them are cut).</summary>
    [JsonPropertyName("partial_bytes")] public long PartialBytes { get; init; }
}

/// <summary>One line of the dataset as logits mode reads it: the teacher's prompt and completion ids and, per
/// completion token, its top-k (ids, log-probs at the sampling temperature); a non-reasoning line has no ids.</summary>
public sealed record DistillLine(string Prompt, string Completion, int[]? PromptTokens, int[]? Tokens, int[][]? TopIds, float[][]? TopLogProbs);

/// <summary>Makes, reads and checks distillation datasets.</summary>
public static class DistillData
{
    public const string MetaSuffix = ".meta.json";
    public const string PartialSuffix = ".partial";
    public const string ProgressSuffix = ".progress.json";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>The meta file of a finished dataset, or null when <paramref name="path"/> has none.</summary>
    public static DistillDataMeta? ReadMeta(string path) => File.Exists(path + MetaSuffix) ? ReadState(path + MetaSuffix) : null;

    private static DistillDataMeta ReadState(string file)
    {
        try
        {
            return JsonSerializer.Deserialize<DistillDataMeta>(File.ReadAllText(file), Json) ?? throw new InvalidDataException($"{file}: empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: not a distill data record ({e.Message}); delete it to start over", e);
        }
    }

    /// <summary>Generates the dataset, or continues an interrupted generation with the same settings; returns the meta of
    /// the finished file (the saved one when it is already there). Stops after the batch in flight when
    /// <paramref name="cancel"/> fires and returns null (rerun to continue). Throws before any sampling for bad settings,
    /// and as soon as the first <see cref="DistillDataOptions.EarlyCheckProblems"/> problems gave no kept sample.</summary>
    public static DistillDataMeta? Run(DistillDataOptions o, Action<string>? log = null, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(o);
        log ??= _ => { };
        o.Validate();
        var (partial, progressPath) = (o.Out + PartialSuffix, o.Out + ProgressSuffix);
        if (File.Exists(o.Out) && !File.Exists(o.Out + MetaSuffix) && File.Exists(progressPath))
        {
            Finish(o, ReadState(progressPath)); // stopped between the rename and the meta file
        }
        if (File.Exists(o.Out))
        {
            var done = ReadMeta(o.Out) ?? throw new InvalidOperationException($"'{o.Out}' exists but has no {Path.GetFileName(o.Out + MetaSuffix)}: it was not made by distill data; choose another --data or delete it");
            if (!SameSettings(done.Settings, o)) { throw new InvalidOperationException($"'{o.Out}' was made with other settings ({Describe(done.Settings)}); delete it or choose another --data"); }
            log($"{o.Out}: already made ({done.Report.Kept} samples kept of {done.Report.Samples}); reusing it");
            return done;
        }
        var teacher = ByteLevelBpe.Load(o.Teacher);
        var state = File.Exists(progressPath) ? ReadState(progressPath) : null;
        if (state is not null && !SameSettings(state.Settings, o))
        {
            throw new InvalidOperationException($"'{partial}' was begun with other settings ({Describe(state.Settings)}); rerun with those, or delete {Path.GetFileName(partial)} and {Path.GetFileName(progressPath)} to start over");
        }
        var fingerprint = TokenizerMatch.Fingerprint(teacher);
        state ??= new DistillDataMeta
        {
            Settings = Saved(o),
            Tokenizer = fingerprint,
            Vocab = teacher.VocabSize,
            AddedTokens = [.. teacher.AddedTokens.Select(t => t.Content)],
            Report = RejectionReport.Empty,
        };
        if (state.Tokenizer != fingerprint) { throw new InvalidOperationException($"the teacher in '{o.Teacher}' has another tokenizer than the one '{partial}' was begun with; delete the partial files to start over"); }
        var directory = Path.GetDirectoryName(Path.GetFullPath(o.Out))!;
        Directory.CreateDirectory(directory);
        Truncate(partial, state.PartialBytes);
        if (state.ProblemsDone > 0) { log($"{o.Out}: resuming after {state.ProblemsDone} problems ({state.Report.Kept} samples kept so far)"); }

        try
        {
            using var engine = Evaluation.LoadEngine(o.Teacher, o.Samples, o.MaxNewTokens, queueSlots: o.QueueBatches);
            var tasks = TaskCatalog.Resolve(o.Task, o.Seed);
            var format = PromptFormats.Create(o.Template, o.Teacher);
            var rejection = new RejectionOptions { Problems = o.Problems, Samples = o.Samples, MaxNewTokens = o.MaxNewTokens, Temperature = o.Temperature, TopP = o.TopP, Seed = o.Seed, TopLogProbs = o.TopLogProbs };
            RejectionSampling.Run(engine, teacher, tasks, format, rejection, progress, state.ProblemsDone, (done, kept, report) =>
            {
                var lines = new StringBuilder();
                foreach (var k in kept) { lines.Append(Line(k)).Append('\n'); }
                state = Append(partial, state, lines.ToString()) with { ProblemsDone = done, Report = state.Report.Add(report) };
                Save(progressPath, state);
                if (done >= Math.Min(o.EarlyCheckProblems, o.Problems)) { EnsureKept(state.Report, done, o); }
            }, cancel);
            if (state.ProblemsDone < o.Problems && cancel.IsCancellationRequested) { return null; }
            EnsureKept(state.Report, state.ProblemsDone, o);
        }
        catch (InvalidOperationException) when (state.Report.Kept == 0)
        {
            // Nothing worth keeping: the next try (another task or teacher) starts clean.
            File.Delete(partial);
            File.Delete(progressPath);
            throw;
        }
        if (o.NonReasoning is { } extra && state.NonReasoning == 0)
        {
            var lines = File.ReadAllLines(extra).Where(l => !string.IsNullOrWhiteSpace(l)).ToList();
            SftData.Read(extra, new PlainPrompt()); // every line checked before it is mixed in
            state = Append(partial, state, string.Join('\n', lines) + "\n") with { NonReasoning = lines.Count };
            Save(progressPath, state);
        }
        File.Move(partial, o.Out, overwrite: false);
        return Finish(o, state);
    }

    // The partial file with text appended (flushed to disk) and the state counting its bytes.
    private static DistillDataMeta Append(string partial, DistillDataMeta state, string text)
    {
        var bytes = new UTF8Encoding(false).GetBytes(text);
        using (var stream = new FileStream(partial, FileMode.Append, FileAccess.Write))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        return state with { PartialBytes = state.PartialBytes + bytes.Length };
    }

    // The data file is in place: its meta, then the progress file goes.
    private static DistillDataMeta Finish(DistillDataOptions o, DistillDataMeta state)
    {
        Save(o.Out + MetaSuffix, state);
        File.Delete(o.Out + ProgressSuffix);
        return state;
    }

    // The progress or meta file, written whole.
    private static void Save(string path, DistillDataMeta state) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(state, Json) + "\n");

    /// <summary>A kept sample's line: prompt, completion and id as rejection sampling writes them, plus the teacher's
    /// prompt and completion ids and the top-k per completion token (log-probs to 4 decimals).</summary>
    public static string Line(KeptSample kept)
    {
        var line = RejectionSampling.Fields(kept);
        var r = kept.Rollout;
        line["prompt_tokens"] = r.Prompt;
        line["tokens"] = r.Completion;
        if (r.Top is { } top)
        {
            line["top_ids"] = top.Select(t => t.Select(x => x.Token).ToArray()).ToArray();
            line["top_logprobs"] = top.Select(t => t.Select(x => Math.Round(x.LogProb, 4)).ToArray()).ToArray();
        }
        return JsonSerializer.Serialize(line, RejectionSampling.LineJson);
    }

    /// <summary>Every line of a dataset with the teacher's ids where it has them; a line's error names file:line.</summary>
    public static IReadOnlyList<DistillLine> ReadLines(string path) => ProblemFile.ReadObjects(path, "distillation samples", (root, _, where) =>
    {
        string Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        int[] Ints(JsonElement e, string name) => e.ValueKind == JsonValueKind.Array && e.EnumerateArray().All(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out _))
            ? [.. e.EnumerateArray().Select(x => x.GetInt32())]
            : throw new InvalidDataException($"{where}: \"{name}\" must be an array of token ids");
        float[] Floats(JsonElement e, string name) => e.ValueKind == JsonValueKind.Array && e.EnumerateArray().All(x => x.ValueKind == JsonValueKind.Number)
            ? [.. e.EnumerateArray().Select(x => (float)x.GetDouble())]
            : throw new InvalidDataException($"{where}: \"{name}\" must hold arrays of numbers");
        T[] Rows<T>(JsonElement e, string name, Func<JsonElement, string, T> row) => e.ValueKind == JsonValueKind.Array
            ? [.. e.EnumerateArray().Select(x => row(x, name))]
            : throw new InvalidDataException($"{where}: \"{name}\" must be an array with one entry per completion token");
        var prompt = root.TryGetProperty("prompt_tokens", out var p) ? Ints(p, "prompt_tokens") : null;
        var tokens = root.TryGetProperty("tokens", out var t) ? Ints(t, "tokens") : null;
        int[][]? topIds = null;
        float[][]? topLp = null;
        if (root.TryGetProperty("top_ids", out var ids) && root.TryGetProperty("top_logprobs", out var lps))
        {
            topIds = Rows(ids, "top_ids", Ints);
            topLp = Rows(lps, "top_logprobs", Floats);
            if (tokens is null || topIds.Length != tokens.Length || topLp.Length != tokens.Length || topIds.Zip(topLp).Any(z => z.First.Length != z.Second.Length || z.First.Length == 0))
            {
                throw new InvalidDataException($"{where}: \"top_ids\" and \"top_logprobs\" must hold one non-empty list of equal length per completion token");
            }
        }
        if ((prompt is null) != (tokens is null) || prompt is { Length: 0 } || tokens is { Length: 0 })
        {
            throw new InvalidDataException($"{where}: \"prompt_tokens\" and \"tokens\" come together, each non-empty");
        }
        return new DistillLine(Text("prompt"), Text("completion"), prompt, tokens, topIds, topLp);
    });

    // An empty dataset would train nothing: said as soon as it is clear, with what to change.
    private static void EnsureKept(RejectionReport r, int done, DistillDataOptions o)
    {
        if (r.Kept > 0) { return; }
        throw new InvalidOperationException($"the teacher in '{o.Teacher}' kept no sample of the first {done} problems ({r.Samples} samples: wrong {r.Wrong}, format {r.BadFormat}, unreadable {r.Unreadable}, truncated {r.Truncated}): "
            + "it does not solve --task in R1's format; choose a task it solves (eval --model <teacher>), a stronger teacher, or more --max-new-tokens");
    }

    // Saved settings (full paths) against the given ones: the teacher and the non-reasoning file by full path.
    private static bool SameSettings(DistillDataOptions saved, DistillDataOptions o) =>
        saved == Saved(o) with { Out = saved.Out, EarlyCheckProblems = saved.EarlyCheckProblems, QueueBatches = saved.QueueBatches };

    private static DistillDataOptions Saved(DistillDataOptions o) =>
        o with { Teacher = Path.GetFullPath(o.Teacher), NonReasoning = o.NonReasoning is { } f ? Path.GetFullPath(f) : null };

    private static string Describe(DistillDataOptions s) =>
        $"teacher {s.Teacher}, task {s.Task}, template {s.Template}, {s.Problems} problems × {s.Samples}, ≤ {s.MaxNewTokens} new tokens, T {s.Temperature}, top-p {s.TopP}, top {s.TopLogProbs}, seed {s.Seed}, non-reasoning {s.NonReasoning ?? "none"}";

    private static void Truncate(string path, long bytes)
    {
        if (!File.Exists(path))
        {
            if (bytes > 0) { throw new InvalidDataException($"'{path}' is gone but its progress file counts {bytes} bytes of it; delete the progress file to start over"); }
            return;
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        if (stream.Length < bytes) { throw new InvalidDataException($"'{path}' holds {stream.Length} bytes but its progress file counts {bytes}; delete both to start over"); }
        stream.SetLength(bytes);
    }
}
