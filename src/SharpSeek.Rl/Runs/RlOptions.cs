// RlOptions.cs: everything `sharpseek rl` is told, saved in rl_state.json so --resume continues with the same settings.
// Defaults are small-model ones (DAPO's clip-higher and token-level loss, no KL, format weight a tenth of accuracy as
// TinyZero's 0.1/1.0 split keeps it). Not here: the loop (GrpoRun). Tested by GrpoRunTests.
using System.Text.Json.Serialization;
using SharpSeek.Model.Layers;
using SharpSeek.Rl.Grpo;
using SharpSeek.Rl.Prompts;

namespace SharpSeek.Rl.Runs;

/// <summary>How a completion that hit the new-token limit enters the update.</summary>
public enum TruncatedCompletions
{
    /// <summary>Left out of the loss (DAPO's overlong filtering; TRL's mask_truncated_completions).</summary>
    Mask,

    /// <summary>Scored 0 whatever its rewards say (Dr. GRPO).</summary>
    Zero,

    /// <summary>Scored and trained like any other.</summary>
    Keep,
}

/// <summary>The settings of a GRPO run.</summary>
public sealed record RlOptions
{
    /// <summary>The starting checkpoint (a model directory with its tokenizer).</summary>
    [JsonPropertyName("model")] public string Model { get; init; } = "";

    [JsonPropertyName("out")] public string OutDir { get; init; } = Path.Combine("runs", "rl");

    /// <summary>A task name for TaskCatalog.Resolve, or a .jsonl file.</summary>
    [JsonPropertyName("task")] public string Task { get; init; } = "arithmetic";

    /// <summary>r1zero (DeepSeek-R1's Table 1 template), plain ("User: …\nAssistant:") or chat (the model's chat
    /// template).</summary>
    [JsonPropertyName("template")] public string Template { get; init; } = "r1zero";

    /// <summary>Steps to reach; with <see cref="Resume"/>, 0 keeps the saved run's.</summary>
    [JsonPropertyName("steps")] public long Steps { get; init; } = 100;

    /// <summary>Prompts per step (P); the step samples P·G completions.</summary>
    [JsonPropertyName("prompts")] public int Prompts { get; init; } = 16;

    /// <summary>Completions per prompt (G).</summary>
    [JsonPropertyName("generations")] public int Generations { get; init; } = 8;

    [JsonPropertyName("max_new_tokens")] public int MaxNewTokens { get; init; } = 128;

    [JsonPropertyName("temperature")] public double Temperature { get; init; } = 1.0;

    [JsonPropertyName("top_p")] public double TopP { get; init; } = 1.0;

    [JsonPropertyName("lr")] public double Lr { get; init; } = 1e-4;

    [JsonPropertyName("warmup_steps")] public long WarmupSteps { get; init; } = 5;

    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; }

    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;

    /// <summary>μ: passes over each rollout batch (μ &gt; 1 makes the ratio and its clip matter).</summary>
    [JsonPropertyName("iterations")] public int Iterations { get; init; } = 1;

    /// <summary>Optimizer updates per pass: the rollout batch split into this many mini-batches.</summary>
    [JsonPropertyName("updates")] public int Updates { get; init; } = 1;

    /// <summary>Sequences per forward (gradient accumulation inside an update).</summary>
    [JsonPropertyName("micro_batch")] public int MicroBatch { get; init; } = 16;

    [JsonPropertyName("grpo")] public GrpoOptions Grpo { get; init; } = new();

    /// <summary>Every this many steps the reference policy becomes the current one (0: never; R1-Zero used 400).</summary>
    [JsonPropertyName("reference_reset_every")] public int ReferenceResetEvery { get; init; }

    /// <summary>DAPO dynamic sampling: drop groups whose rewards are all equal and sample more prompts to refill.</summary>
    [JsonPropertyName("dynamic_sampling")] public bool DynamicSampling { get; init; }

    /// <summary>Extra sampling rounds dynamic sampling may take per step before training on what it has.</summary>
    [JsonPropertyName("max_refills")] public int MaxRefills { get; init; } = 3;

    [JsonPropertyName("truncated")] public TruncatedCompletions Truncated { get; init; } = TruncatedCompletions.Mask;

    [JsonPropertyName("accuracy_weight")] public double AccuracyWeight { get; init; } = 1.0;

    [JsonPropertyName("format_weight")] public double FormatWeight { get; init; } = 0.1;

    /// <summary>Weight of the language-consistency reward (R1 §2.3.2; 0 leaves it out of the total, still logged).</summary>
    [JsonPropertyName("language_weight")] public double LanguageWeight { get; init; }

    /// <summary>DAPO's soft overlong penalty over the last this many tokens before max_new_tokens (0: off).</summary>
    [JsonPropertyName("overlong_cache")] public int OverlongCache { get; init; }

    [JsonPropertyName("seed")] public int Seed { get; init; } = 1;

    [JsonPropertyName("checkpoint_every")] public int CheckpointEvery { get; init; } = 10;

    /// <summary>Every this many steps the step's completions, rewards and advantages go to completions.jsonl (0: never).</summary>
    [JsonPropertyName("log_completions_every")] public int LogCompletionsEvery { get; init; } = 10;

    /// <summary>The policy's training GEMMs (F32, BF16 inputs or DeepSeek-V3's FP8 recipe); rollouts run on the engine
    /// over the F32 masters whatever this is.</summary>
    [JsonPropertyName("precision")]
    [JsonConverter(typeof(JsonStringEnumConverter<LinearPrecision>))]
    public LinearPrecision Precision { get; init; } = LinearPrecision.Fp32;

    [JsonIgnore] public bool Resume { get; init; }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Model) && !Resume) { throw new ArgumentException("--model: the starting checkpoint is required"); }
        if (!PromptFormats.Names.Contains(Template)) { throw new ArgumentException($"--template must be one of {string.Join(", ", PromptFormats.Names)}; got '{Template}'"); }
        if (Steps < 1) { throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "--steps must be at least 1"); }
        if (Prompts < 1) { throw new ArgumentOutOfRangeException(nameof(Prompts), Prompts, "--prompts must be at least 1"); }
        if (Generations < 2) { throw new ArgumentOutOfRangeException(nameof(Generations), Generations, "--generations (G) must be at least 2: a group of one has no baseline"); }
        if (Updates < 1 || Prompts * Generations % Updates != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Updates), Updates, $"--updates must divide the {Prompts * Generations} sequences of a step (prompts × generations) into equal mini-batches");
        }
        if (Iterations < 1) { throw new ArgumentOutOfRangeException(nameof(Iterations), Iterations, "--iterations (μ) must be at least 1"); }
        if (MicroBatch < 1) { throw new ArgumentOutOfRangeException(nameof(MicroBatch), MicroBatch, "--micro-batch must be at least 1"); }
        if (!(Temperature > 0)) { throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "--temperature must be positive: GRPO samples and takes its log-probs at it"); }
        if (!(Lr > 0)) { throw new ArgumentOutOfRangeException(nameof(Lr), Lr, "--lr must be positive"); }
        if (OverlongCache < 0 || OverlongCache >= MaxNewTokens) { throw new ArgumentOutOfRangeException(nameof(OverlongCache), OverlongCache, $"--overlong-cache must be in [0, max new tokens {MaxNewTokens})"); }
        if (CheckpointEvery < 1) { throw new ArgumentOutOfRangeException(nameof(CheckpointEvery), CheckpointEvery, "--checkpoint-every must be at least 1"); }
        Grpo.Validate();
        new Rollouts.RolloutOptions { MaxNewTokens = MaxNewTokens, Temperature = Temperature, TopP = TopP }.Validate();
    }
}
