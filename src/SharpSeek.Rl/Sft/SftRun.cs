// SftRun.cs: supervised fine-tuning from a model directory: load the examples, render them with the prompt format,
// tokenize with the model's tokenizer, pack them with loss masks into data/ of the run directory (a few held out for the
// eval loss), then train with the pretraining loop (Training's TrainingRun) from the model's weights. The run directory
// is a model directory; --resume continues it exactly as pretraining does. Not here: the examples (SftData.cs), packing
// (SftPacking.cs), the loop. Tested by SftTests.
using System.Globalization;
using SharpSeek.Model.Layers;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Rl.Prompts;
using SharpSeek.Training.Data;
using SharpSeek.Training.Runs;

namespace SharpSeek.Rl.Sft;

/// <summary>The settings of a fine-tuning run.</summary>
public sealed record SftOptions
{
    /// <summary>The model directory to start from.</summary>
    public string Model { get; init; } = "";

    /// <summary>A .jsonl file or built-in task names (<see cref="SftData.Load"/>).</summary>
    public string Data { get; init; } = "";

    public string OutDir { get; init; } = "";

    /// <summary>r1zero, plain or chat (<see cref="PromptFormats"/>).</summary>
    public string Template { get; init; } = "r1zero";

    /// <summary>Examples drawn from built-in tasks (a file gives all its lines).</summary>
    public int Examples { get; init; } = 2000;

    /// <summary>Passes over the training examples; the step count follows from it unless <see cref="Steps"/> is set.</summary>
    public double Epochs { get; init; } = 2;

    public long? Steps { get; init; }

    public int SeqLen { get; init; } = 256;

    public int MicroBatch { get; init; } = 8;

    public int BatchTokens { get; init; } = 4096;

    public double Lr { get; init; } = 5e-4;

    public long WarmupSteps { get; init; } = 10;

    public int Seed { get; init; } = 1;

    public int EvalEvery { get; init; } = 20;

    public int CheckpointEvery { get; init; } = 50;

    /// <summary>The Linears' training GEMMs (F32, BF16 inputs or DeepSeek-V3's FP8 recipe).</summary>
    public LinearPrecision Precision { get; init; }

    /// <summary>About one prompt in this many is held out for the eval loss, with every example of it (none when the
    /// hash picks none; all but the first when it picks all).</summary>
    public int HeldOutOneIn { get; init; } = 20;
}

/// <summary>Prepares and runs a fine-tuning run.</summary>
public static class SftRun
{
    /// <summary>Writes data/train.tokens and data/eval.tokens into <see cref="SftOptions.OutDir"/> and returns the
    /// training loop's options. Throws before writing anything when the directory already holds a run, and when no
    /// example fits a window.</summary>
    public static RunOptions Prepare(SftOptions o, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(o);
        log ??= _ => { };
        if (string.IsNullOrWhiteSpace(o.Model)) { throw new ArgumentException("--model: the model to fine-tune is required"); }
        if (string.IsNullOrWhiteSpace(o.OutDir)) { throw new ArgumentException("--out: the run directory is required"); }
        if (!(o.Epochs > 0) || double.IsInfinity(o.Epochs)) { throw new ArgumentException($"--epochs must be a positive number; got {o.Epochs}"); }
        if (o.HeldOutOneIn < 2) { throw new ArgumentException($"held-out one in {o.HeldOutOneIn}: expected at least 2"); }
        if (File.Exists(Path.Combine(o.OutDir, RunState.FileName)))
        {
            throw new InvalidOperationException($"'{o.OutDir}' already holds a run; pass --resume to continue it or choose another --out");
        }
        var tokenizer = ByteLevelBpe.Load(o.Model);
        var eosId = tokenizer.EosId ?? throw new InvalidDataException($"'{o.Model}': the tokenizer has no EOS token; fine-tuning ends every completion with it");
        var format = PromptFormats.Create(o.Template, o.Model);
        var examples = SftData.Load(o.Data, format, o.Examples, o.Seed);
        var encoded = SftPacking.Encode(examples, tokenizer);
        var heldOut = Enumerable.Range(0, encoded.Count).Where(i => IsHeldOut(examples[i].Prompt, o)).ToHashSet();
        if (heldOut.Count == encoded.Count) { heldOut.Remove(0); }
        var train = SftPacking.Pack([.. encoded.Where((_, i) => !heldOut.Contains(i))], o.SeqLen, eosId);
        var eval = SftPacking.Pack([.. encoded.Where((_, i) => heldOut.Contains(i))], o.SeqLen, eosId);
        if (train.Examples == 0)
        {
            throw new ArgumentException($"no training example fits --seq-len {o.SeqLen} (prompt + completion + EOS); {train.Skipped} were longer: raise --seq-len (at most the model's max_position_embeddings)");
        }
        var data = Path.Combine(o.OutDir, "data");
        Directory.CreateDirectory(data);
        SftPacking.Write(Path.Combine(data, DatasetBuilder.TrainFileName), train, eosId);
        SftPacking.Write(Path.Combine(data, DatasetBuilder.EvalFileName), eval, eosId);
        var windows = train.Windows(o.SeqLen);
        var steps = o.Steps ?? Math.Max(1, (long)Math.Ceiling(o.Epochs * windows * o.SeqLen / o.BatchTokens));
        var skipped = train.Skipped + eval.Skipped;
        log(string.Create(CultureInfo.InvariantCulture,
            $"sft data: {train.Examples} training examples ({train.TargetTokens:N0} target tokens) in {windows} windows of {o.SeqLen}, {eval.Examples} held out{(skipped > 0 ? $"; skipped {skipped} longer than a window" : "")}"));
        return new RunOptions
        {
            Init = o.Model,
            PreparedData = true,
            OutDir = o.OutDir,
            Steps = steps,
            BatchTokens = o.BatchTokens,
            MicroBatch = o.MicroBatch,
            SeqLen = o.SeqLen,
            Lr = o.Lr,
            WarmupSteps = Math.Min(o.WarmupSteps, steps),
            Seed = o.Seed,
            EvalEvery = o.EvalEvery,
            EvalBatches = 1 << 20, // every held-out window, not a sample of them
            CheckpointEvery = o.CheckpointEvery,
            Precision = o.Precision,
        };
    }

    // A fixed hash of the prompt's text (FNV-1a) and the seed: the split is the same whenever the run is prepared, and
    // examples with one prompt (a problem drawn twice, several kept samples of it) fall on the same side, so the eval
    // loss never reads a prompt the run trains on.
    private static bool IsHeldOut(string prompt, SftOptions o) => SplitMix64.Mix(SplitMix64.HashText(prompt), (ulong)o.Seed) % (ulong)o.HeldOutOneIn == 0;
}
