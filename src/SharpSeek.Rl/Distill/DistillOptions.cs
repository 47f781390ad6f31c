// DistillOptions.cs: everything `sharpseek distill train` is told, saved in distill_state.json so --resume continues with
// the same settings. Not here: the loop (DistillRun). Tested by DistillTests.
using System.Text.Json.Serialization;
using SharpSeek.Rl.Prompts;

namespace SharpSeek.Rl.Distill;

/// <summary>How the student learns from the teacher.</summary>
public enum DistillMode
{
    /// <summary>R1's way: SFT on the teacher's kept samples, text re-encoded with the student's tokenizer and template.</summary>
    Sft,

    /// <summary>SFT plus a forward KL to the teacher's stored top-k log-probs at each completion token (shared tokenizer).</summary>
    Logits,

    /// <summary>The student samples; the loss is the reverse KL to the teacher's distribution at each sampled position (shared tokenizer).</summary>
    OnPolicy,
}

/// <summary>The settings of a distillation training run.</summary>
public sealed record DistillOptions
{
    [JsonPropertyName("teacher")] public string Teacher { get; init; } = "";

    /// <summary>A preset name, a config.json or a model directory (<see cref="Students.Resolve"/>).</summary>
    [JsonPropertyName("student")] public string Student { get; init; } = "";

    /// <summary>The teacher's dataset (sft and logits modes).</summary>
    [JsonPropertyName("data")] public string Data { get; init; } = "";

    [JsonPropertyName("out")] public string OutDir { get; init; } = Path.Combine("runs", "distill");

    [JsonPropertyName("mode")] public DistillMode Mode { get; init; } = DistillMode.Sft;

    /// <summary>The student's prompt format (sft renders the data's text with it; on-policy prompts with it).</summary>
    [JsonPropertyName("template")] public string Template { get; init; } = "r1zero";

    /// <summary>Prompts of on-policy mode (task names with levels, or a .jsonl file).</summary>
    [JsonPropertyName("task")] public string Task { get; init; } = "add:1-4";

    /// <summary>Passes over the data (sft, logits); the step count follows unless <see cref="Steps"/> is set.</summary>
    [JsonPropertyName("epochs")] public double Epochs { get; init; } = 2;

    /// <summary>Optimizer steps (on-policy needs it; sft and logits take it instead of the epochs).</summary>
    [JsonPropertyName("steps")] public long? Steps { get; init; }

    [JsonPropertyName("lr")] public double Lr { get; init; } = 3e-4;

    [JsonPropertyName("warmup_steps")] public long WarmupSteps { get; init; } = 10;

    /// <summary>Sequences per optimizer step (logits), or per SFT step's packed windows' tokens / seq-len.</summary>
    [JsonPropertyName("batch")] public int Batch { get; init; } = 32;

    [JsonPropertyName("micro_batch")] public int MicroBatch { get; init; } = 16;

    /// <summary>SFT's window length (examples packed whole).</summary>
    [JsonPropertyName("seq_len")] public int SeqLen { get; init; } = 256;

    /// <summary>α in (1 − α)·CE + α·KL of logits mode.</summary>
    [JsonPropertyName("kl_weight")] public double KlWeight { get; init; } = 0.5;

    /// <summary>On-policy prompts per step (P).</summary>
    [JsonPropertyName("prompts")] public int Prompts { get; init; } = 16;

    /// <summary>On-policy samples per prompt.</summary>
    [JsonPropertyName("generations")] public int Generations { get; init; } = 4;

    [JsonPropertyName("max_new_tokens")] public int MaxNewTokens { get; init; } = 160;

    /// <summary>The student's sampling temperature in on-policy mode (1: its own distribution).</summary>
    [JsonPropertyName("temperature")] public double Temperature { get; init; } = 1.0;

    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;

    [JsonPropertyName("seed")] public int Seed { get; init; } = 1;

    [JsonPropertyName("checkpoint_every")] public int CheckpointEvery { get; init; } = 25;

    [JsonIgnore] public bool Resume { get; init; }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Student) && !Resume) { throw new ArgumentException("--student: a preset (dense-2m, dense-8m, dense-25m), a config.json or a model directory is required"); }
        if (Mode != DistillMode.Sft || !Resume)
        {
            if (string.IsNullOrWhiteSpace(Teacher)) { throw new ArgumentException("--teacher: the teacher model directory is required"); }
        }
        if (Mode != DistillMode.OnPolicy && string.IsNullOrWhiteSpace(Data)) { throw new ArgumentException($"--mode {Name(Mode)} trains on the teacher's data: --data is required (make it with `distill data`)"); }
        if (Mode == DistillMode.OnPolicy && Steps is null) { throw new ArgumentException("--mode on-policy samples as it goes: give --steps"); }
        if (!PromptFormats.Names.Contains(Template)) { throw new ArgumentException($"--template must be one of {string.Join(", ", PromptFormats.Names)}; got '{Template}'"); }
        if (!(Epochs > 0) || double.IsInfinity(Epochs)) { throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "--epochs must be a positive number"); }
        if (Steps is < 1) { throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "--steps must be at least 1"); }
        if (!(Lr > 0)) { throw new ArgumentOutOfRangeException(nameof(Lr), Lr, "--lr must be positive"); }
        if (Batch < 1 || MicroBatch < 1) { throw new ArgumentOutOfRangeException(nameof(Batch), $"--batch and --micro-batch must be at least 1; got {Batch} and {MicroBatch}"); }
        if (!(KlWeight is >= 0 and <= 1)) { throw new ArgumentOutOfRangeException(nameof(KlWeight), KlWeight, "--kl-weight (α of (1 − α)·CE + α·KL) must be in [0, 1]"); }
        if (Prompts < 1 || Generations < 1) { throw new ArgumentOutOfRangeException(nameof(Prompts), $"--prompts and --generations must be at least 1; got {Prompts} and {Generations}"); }
        if (CheckpointEvery < 1) { throw new ArgumentOutOfRangeException(nameof(CheckpointEvery), CheckpointEvery, "--checkpoint-every must be at least 1"); }
        new Rollouts.RolloutOptions { MaxNewTokens = MaxNewTokens, Temperature = Temperature }.Validate();
        if (Mode == DistillMode.OnPolicy && !(Temperature > 0)) { throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "on-policy samples at a positive --temperature"); }
    }

    /// <summary>The mode as the command line spells it.</summary>
    public static string Name(DistillMode mode) => mode switch { DistillMode.Sft => "sft", DistillMode.Logits => "logits", _ => "on-policy" };

    /// <summary>The mode a command-line word names.</summary>
    public static DistillMode Parse(string mode) => mode switch
    {
        "sft" => DistillMode.Sft,
        "logits" => DistillMode.Logits,
        "on-policy" => DistillMode.OnPolicy,
        _ => throw new ArgumentException($"--mode must be sft, logits or on-policy; got '{mode}'"),
    };
}
