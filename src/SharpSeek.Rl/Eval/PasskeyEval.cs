// PasskeyEval.cs: `sharpseek eval --task passkey`, the needle-in-a-haystack check of a long-context model (DeepSeek-V3,
// arXiv:2412.19437 §4.3, Fig. 8; the passkey test of Mohtashami & Jaggi 2023, arXiv:2305.16300 §4.2): for each context
// length and needle depth, the longest prompts that fit it with their 8 answer tokens, each with a fresh random key,
// completed greedily; a trial is right when the first number of the completion is the key. Lengths past the model's context are reported as
// out of reach, not run. Beside it, the next-token loss by position bucket over windows of generated text as long as
// the longest length that fits (F32 weights whatever --dtype), the check that positions past the pretraining context are
// not worse than early ones.
// Not here: the prompts (Training's Data/Passkey.cs), the heatmap (the CLI's plot). Tested by PasskeyEvalTests.
using System.Text.RegularExpressions;
using SharpSeek.Inference.Engine;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Rl.Rollouts;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;
using SharpSeek.Training.Data;

namespace SharpSeek.Rl.Eval;

/// <summary>The grid of a passkey evaluation.</summary>
public sealed record PasskeyOptions
{
    /// <summary>Tokens generated after each prompt, counted in its length.</summary>
    public const int AnswerTokens = 8;

    /// <summary>Context lengths in tokens: the prompt and the answer's tokens together.</summary>
    public IReadOnlyList<int> Lengths { get; init; } = [256, 512, 1024, 2048, 4096];

    /// <summary>Needle depths, evenly spaced from the start (0) to the end (1) of the filler.</summary>
    public int Depths { get; init; } = 5;

    /// <summary>Prompts (keys) per length and depth.</summary>
    public int Trials { get; init; } = 5;

    /// <summary>Windows of generated text for the loss by position (0: skip it).</summary>
    public int LossWindows { get; init; } = 4;

    public int Seed { get; init; } = 1;

    public void Validate()
    {
        if (Lengths.Count == 0 || Lengths.Any(l => l <= AnswerTokens)) { throw new ArgumentException($"--lengths needs at least one length, each above the {AnswerTokens} answer tokens; got {string.Join(" ", Lengths)}"); }
        if (Depths < 1) { throw new ArgumentException($"--depths must be at least 1; got {Depths}"); }
        if (Trials < 1) { throw new ArgumentException($"--trials must be at least 1; got {Trials}"); }
        if (LossWindows < 0) { throw new ArgumentException($"loss windows must be ≥ 0; got {LossWindows}"); }
    }
}

/// <summary>One cell of the heatmap: <see cref="Accuracy"/> is null where the length is past the model's context.</summary>
public sealed record PasskeyCell(int Length, double Depth, int Trials, int Correct, double? Accuracy);

/// <summary>Mean next-token loss (nats) of the positions in [Start, End) over the windows.</summary>
public sealed record PositionLoss(int Start, int End, double Loss);

/// <summary>A model's passkey accuracy per length and depth, and its loss by position.</summary>
public sealed record PasskeyReport(string Model, int Context, IReadOnlyList<PasskeyCell> Cells, IReadOnlyList<PositionLoss> LossByPosition, double Seconds);

/// <summary>Runs the passkey evaluation.</summary>
public static partial class PasskeyEval
{
    /// <summary>Evaluates the model in <paramref name="dir"/>; <paramref name="progress"/> gets (prompts done, prompts).</summary>
    public static PasskeyReport Run(string dir, PasskeyOptions options, WeightFormat format = WeightFormat.F32, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var config = ModelConfig.Load(dir);
        var context = config.MaxPositionEmbeddings;
        var lengths = options.Lengths.Distinct().Order().ToArray();
        var inReach = lengths.Where(l => l <= context).ToArray();
        var depths = Enumerable.Range(0, options.Depths).Select(i => options.Depths == 1 ? 0.5 : i / (double)(options.Depths - 1)).ToArray();
        var cells = new List<PasskeyCell>();
        using (var engine = BatchEngine.Load(dir, new BatchEngineOptions { Format = format, MaxConcurrency = options.Trials, QueueCapacity = options.Trials, MaxContext = context }))
        {
            var tokenizer = engine.Tokenizer ?? throw new FileNotFoundException($"'{dir}' has no tokenizer.json; the passkey prompts are text", Path.Combine(dir, ByteLevelBpe.TokenizerFileName));
            var done = 0;
            var total = inReach.Length * depths.Length * options.Trials;
            foreach (var length in lengths)
            {
                for (var d = 0; d < depths.Length; d++)
                {
                    if (!inReach.Contains(length))
                    {
                        cells.Add(new PasskeyCell(length, depths[d], 0, 0, null));
                        continue;
                    }
                    var keys = new int[options.Trials];
                    var prompts = new int[options.Trials][];
                    for (var t = 0; t < options.Trials; t++) { (keys[t], prompts[t]) = Trial(tokenizer, options.Seed, length, d, depths[d], t); }
                    var rollouts = RolloutSampler.SampleAsync(engine, prompts, 1, new RolloutOptions { MaxNewTokens = PasskeyOptions.AnswerTokens, Temperature = 0, StopStrings = ["\n"] }, (ulong)options.Seed, 0)
                        .GetAwaiter().GetResult();
                    var correct = rollouts.Select((r, t) => FirstNumber(tokenizer.Decode(r.Completion)) == keys[t].ToString(System.Globalization.CultureInfo.InvariantCulture)).Count(c => c);
                    cells.Add(new PasskeyCell(length, depths[d], options.Trials, correct, correct / (double)options.Trials));
                    done += options.Trials;
                    progress?.Invoke(done, total);
                }
            }
        }
        var losses = options.LossWindows > 0 && inReach.Length > 0 ? LossByPosition(dir, config, inReach, options) : [];
        return new PasskeyReport(Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)), context, cells, losses, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Trial <paramref name="trial"/> of a cell: its key (a function of the seed, the length, the depth's index
    /// and the trial alone) and its prompt's ids, the longest that leaves <see cref="PasskeyOptions.AnswerTokens"/> of
    /// <paramref name="length"/> for the answer. Throws naming the length when no prompt fits.</summary>
    public static (int Key, int[] Prompt) Trial(ByteLevelBpe tokenizer, int seed, int length, int depthIndex, double depth, int trial)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var rng = new SplitMix64(SplitMix64.Mix(SplitMix64.Mix(SplitMix64.Mix((uint)seed, (ulong)length), (ulong)depthIndex), (ulong)trial));
        var key = Passkey.Key(ref rng);
        var budget = length - PasskeyOptions.AnswerTokens;
        var shortest = tokenizer.EncodePrompt(Passkey.Prompt(key, 0, depth)).Length;
        if (shortest > budget)
        {
            throw new ArgumentException($"--lengths {length} is too short: a passkey prompt needs at least {shortest + PasskeyOptions.AnswerTokens} tokens with this tokenizer (the prompt and {PasskeyOptions.AnswerTokens} answer tokens)");
        }
        return (key, tokenizer.EncodePrompt(Passkey.PromptOfLength(s => tokenizer.EncodePrompt(s).Length, key, budget, depth).Prompt));
    }

    /// <summary>The first run of digits in <paramref name="completion"/>, or null.</summary>
    public static string? FirstNumber(string completion)
    {
        var m = Digits().Match(completion);
        return m.Success ? m.Value : null;
    }

    // Windows of the longest in-reach length over held-out generated documents (a seed no training run uses by
    // default), packed as training packs them; the mean loss per bucket between consecutive lengths.
    private static List<PositionLoss> LossByPosition(string dir, ModelConfig config, int[] lengths, PasskeyOptions o)
    {
        var window = lengths[^1];
        var tokenizer = ByteLevelBpe.Load(dir);
        var stream = new List<int>();
        var eos = tokenizer.EosId;
        foreach (var text in ReasoningCorpus.Generate(o.Seed + 104_729, int.MaxValue))
        {
            if (eos is { } e) { stream.Add(e); }
            stream.AddRange(tokenizer.Encode(text));
            if (stream.Count > (o.LossWindows * window) + 1) { break; }
        }
        using var weights = new ModelWeights(config, DType.F32, withGradients: false);
        using (var checkpoint = CheckpointDirectory.Open(dir)) { weights.Load(checkpoint); }
        using var model = new Transformer(weights, window);
        using var arena = new Arena("passkey-loss");
        var tape = new Tape(arena) { GradEnabled = false };
        var sums = new double[window];
        for (var w = 0; w < o.LossWindows; w++)
        {
            tape.Reset();
            var tokens = stream.GetRange(w * window, window + 1).ToArray();
            var x = arena.FromSpan<int>(tokens.AsSpan(0, window), 1, window);
            var targets = arena.FromSpan<int>(tokens.AsSpan(1, window), window);
            var logProbs = tape.Value(TokenLogProbOp.Apply(tape, model.Forward(tape, x, new ForwardResult(), mtp: false).Logits, targets)).AsSpan<float>(); // (T)
            for (var p = 0; p < window; p++) { sums[p] -= logProbs[p]; }
        }
        var bounds = new[] { 0 }.Concat(lengths).ToArray();
        return [.. bounds.Zip(bounds.Skip(1)).Where(b => b.Second > b.First)
            .Select(b => new PositionLoss(b.First, b.Second, sums.AsSpan(b.First, b.Second - b.First).ToArray().Average() / o.LossWindows))];
    }

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Digits();
}
