// ContextExtension.cs: DeepSeek-V3's long-context extension (arXiv:2412.19437 §4.3;
// `deepseek-ai/DeepSeek-V3:inference/model.py`, precompute_freqs_cis and the softmax scale): after pretraining, YaRN (Peng et al. 2023,
// arXiv:2309.00071) is written into the config — factor s, the original context, β_fast 32, β_slow 1, and mscale
// 0.1·ln(s) + 1 squared into the softmax scale (MLA's mscale_all_dim 1; a dense model's attention factor on cos/sin) —
// and the model trains briefly at the longer length with the batch in tokens unchanged and the final pretraining
// learning rate held constant. The same YaRN settings serve both stages (4K → 32K → 128K with s = 40 in the paper);
// the second stage keeps the first one's factor and original context. Not here: the frequencies (Model's RopeTables),
// the training loop (TrainingRun). Tested by ContextExtensionTests.
using System.Text.Json.Serialization;
using SharpSeek.Model;

namespace SharpSeek.Training.Runs;

/// <summary>One extension stage: the new context <see cref="To"/>, YaRN's factor over the original context.</summary>
public sealed record ContextExtension
{
    /// <summary>YaRN's β_fast and β_slow as DeepSeek-V3 sets them (α = 1, β = 32 in the YaRN paper's names).</summary>
    public const double BetaFast = 32, BetaSlow = 1;

    /// <summary>The context after this stage: max_position_embeddings and the training sequence length.</summary>
    [JsonPropertyName("to")] public int To { get; init; }

    /// <summary>YaRN's scale s (DeepSeek-V3: 40 for both stages).</summary>
    [JsonPropertyName("factor")] public double Factor { get; init; }

    /// <summary>The context the model was pretrained at (YaRN's original_max_position_embeddings).</summary>
    [JsonPropertyName("original")] public int Original { get; init; }

    /// <summary>The stage for a model whose config is <paramref name="config"/>, pretrained at sequences of
    /// <paramref name="trainedLength"/> tokens: a config that already has YaRN keeps its original context and, unless
    /// <paramref name="factor"/> is given, its factor; otherwise the factor defaults to <paramref name="to"/> /
    /// the original context.</summary>
    public static ContextExtension Plan(ModelConfig config, int trainedLength, int to, double? factor = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var yarn = config.UsesYarn ? config.RopeScaling : null;
        var original = yarn?.OriginalMaxPositionEmbeddings ?? trainedLength;
        if (config.RopeScaling is { Kind: not ("yarn" or "default") } other)
        {
            throw new ArgumentException($"the model's rope scaling is '{other.Kind}'; extension writes YaRN over plain RoPE or an earlier YaRN stage");
        }
        var previous = yarn is null ? trainedLength : config.MaxPositionEmbeddings;
        if (to <= previous) { throw new ArgumentException($"--to {to} must exceed the context the model already has ({previous} tokens)"); }
        var s = factor ?? yarn?.Factor ?? (double)to / original;
        if (!(s >= 1) || double.IsInfinity(s)) { throw new ArgumentException($"--factor must be a finite value ≥ 1; got {s}"); }
        return new ContextExtension { To = to, Factor = s, Original = original };
    }

    /// <summary><paramref name="config"/> with YaRN's rope_scaling and max_position_embeddings = <see cref="To"/>.</summary>
    public ModelConfig Apply(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var rope = new RopeScaling
        {
            Type = "yarn",
            RopeType = config.IsDense ? "yarn" : null,
            Factor = Factor,
            OriginalMaxPositionEmbeddings = Original,
            BetaFast = BetaFast,
            BetaSlow = BetaSlow,
            Mscale = 1.0,
            MscaleAllDim = config.IsDense ? 0 : 1.0,                  // MLA: mscale² in the softmax scale; dense: HF's attention factor on cos/sin
            RopeTheta = config.RopeScaling?.RopeTheta,
        };
        return config with { RopeScaling = rope, MaxPositionEmbeddings = To };
    }

    /// <summary>The training run of this stage from the model in <paramref name="modelDir"/> into <paramref name="outDir"/>:
    /// the base run's options where the directory is a run (its data, tokens per step, seed, balance and precision),
    /// sequences of <see cref="To"/> tokens as many as keep the tokens per step (one at least), a micro-batch that keeps
    /// the tokens per pass at most the base run's (one sequence at least; accumulation makes up the rest), and a constant
    /// learning rate: <paramref name="lr"/>, or else the base run's final one (<see cref="FinalLearningRate"/>).</summary>
    public RunOptions Options(RunOptions? baseRun, string modelDir, string outDir, long steps, double? lr = null)
    {
        var b = baseRun ?? new RunOptions();
        var sequences = Math.Max(1, b.BatchTokens / To);                       // per step, as near the base run's tokens as To allows
        var micro = (int)Math.Clamp((long)b.MicroBatch * b.SeqLen / To, 1, sequences);
        while (sequences % micro != 0) { micro--; }
        return b with
        {
            Init = modelDir,
            Extend = this,
            OutDir = outDir,
            Steps = steps,
            SeqLen = To,
            BatchTokens = sequences * To,
            MicroBatch = micro,
            Lr = lr ?? FinalLearningRate(b, modelDir),
            WarmupSteps = 0,
            MinLrRatio = 1,
            EvalEvery = (int)Math.Clamp(steps / 4, 1, int.MaxValue),
            CheckpointEvery = (int)Math.Min(steps, int.MaxValue),
            PreparedData = false,
            Resume = false,
        };
    }

    /// <summary>The learning rate the run in <paramref name="modelDir"/> last stepped at (its metrics.jsonl), or else the
    /// end of <paramref name="baseRun"/>'s schedule (Lr · MinLrRatio: for a directory that is no run, the defaults').</summary>
    public static double FinalLearningRate(RunOptions baseRun, string modelDir)
    {
        ArgumentNullException.ThrowIfNull(baseRun);
        var records = File.Exists(Path.Combine(modelDir, MetricsLog.FileName)) ? MetricsLog.Read(modelDir) : [];
        return records.Count > 0 ? records[^1].Lr : baseRun.Lr * baseRun.MinLrRatio;
    }

    /// <summary>The saved options of the run in <paramref name="modelDir"/>, or null when it is not a run directory.</summary>
    public static RunOptions? BaseRun(string modelDir)
    {
        var path = Path.Combine(modelDir, RunState.FileName);
        return File.Exists(path) ? RunState.Load(path).Options : null;
    }
}
