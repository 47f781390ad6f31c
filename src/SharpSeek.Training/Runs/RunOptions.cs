// RunOptions.cs: every knob of a training run, with the defaults of the built-in job (the small preset on the generated
// reasoning corpus, about ten minutes on two cores). Saved inside trainer_state.json so that --resume continues with the
// same settings. Not here: the loop (TrainingRun), the command line (TrainCommand). Tested by TrainingRunTests.
using System.Text.Json.Serialization;
using SharpSeek.Model.Layers;

namespace SharpSeek.Training.Runs;

/// <summary>The settings of a training run. Sizes are in tokens and sequences; steps count optimizer updates.</summary>
public sealed record RunOptions
{
    /// <summary>A preset name (tiny, small, dense-1m, 16B, 671B) or a config.json path.</summary>
    [JsonPropertyName("config")] public string Config { get; init; } = "small";

    /// <summary>Text or .parquet files, or directories of them; empty means the generated reasoning corpus.</summary>
    [JsonPropertyName("data")] public IReadOnlyList<string> Data { get; init; } = [];

    /// <summary>A model directory (config.json, weights, tokenizer.json) to start from instead of a random initialization
    /// of <see cref="Config"/>: fine-tuning, e.g. a Hugging Face qwen2/llama checkpoint or an earlier run.</summary>
    [JsonPropertyName("init")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Init { get; init; }

    /// <summary>Documents of the generated corpus when <see cref="Data"/> is empty.</summary>
    [JsonPropertyName("corpus_documents")] public int CorpusDocuments { get; init; } = 20_000;

    /// <summary>The generated corpus's task mix (<see cref="Tasks.TaskMix.Parse"/>, e.g. "add:1-4,sub:1-3"); null for
    /// the default mix of every family.</summary>
    [JsonPropertyName("corpus_tasks")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CorpusTasks { get; init; }

    /// <summary>The share of documents replaced by passkey documents (Data/Passkey.cs) of up to <see cref="SeqLen"/>
    /// tokens, so the model learns to retrieve over the lengths it trains on; 0 for none.</summary>
    [JsonPropertyName("passkey_share")] public double PasskeyShare { get; init; }

    /// <summary>With <see cref="Init"/>: a context-extension stage, whose YaRN settings and longer context go into the
    /// run's config.json; null for an ordinary run.</summary>
    [JsonPropertyName("extend")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ContextExtension? Extend { get; init; }

    /// <summary>With <see cref="Init"/>: train on the shards already in <c>data/</c> under the run directory (written
    /// by the caller, e.g. fine-tuning examples with their loss masks) instead of building them from texts.</summary>
    [JsonPropertyName("prepared_data")] public bool PreparedData { get; init; }

    /// <summary>The run directory, which is also a model directory.</summary>
    [JsonPropertyName("out")] public string OutDir { get; init; } = Path.Combine("runs", "small");

    /// <summary>Optimizer steps in the whole run (the LR schedule spans them).</summary>
    [JsonPropertyName("steps")] public long Steps { get; init; } = 240;

    /// <summary>Tokens per optimizer step: MicroBatch · SeqLen · (gradient-accumulation micro-batches).</summary>
    [JsonPropertyName("batch_tokens")] public int BatchTokens { get; init; } = 4096;

    /// <summary>Sequences per forward/backward pass.</summary>
    [JsonPropertyName("micro_batch")] public int MicroBatch { get; init; } = 8;

    [JsonPropertyName("seq_len")] public int SeqLen { get; init; } = 256;

    /// <summary>Peak learning rate of the warmup-cosine schedule.</summary>
    [JsonPropertyName("lr")] public double Lr { get; init; } = 2e-3;

    [JsonPropertyName("warmup_steps")] public long WarmupSteps { get; init; } = 20;

    /// <summary>Learning-rate schedule after the warm-up: "cosine" (decay over the whole run) or "wsd" (warmup-stable-decay:
    /// constant, then a cosine decay over the last 20% of the steps).</summary>
    [JsonPropertyName("schedule")] public string Schedule { get; init; } = "cosine";

    /// <summary>The schedule ends at Lr · MinLrRatio.</summary>
    [JsonPropertyName("min_lr_ratio")] public double MinLrRatio { get; init; } = 0.1;

    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.1;

    /// <summary>Global gradient-norm clip.</summary>
    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;

    [JsonPropertyName("seed")] public int Seed { get; init; } = 1;

    /// <summary>Evaluate on held-out batches every this many steps (and at the end); 0 never.</summary>
    [JsonPropertyName("eval_every")] public int EvalEvery { get; init; } = 40;

    [JsonPropertyName("eval_batches")] public int EvalBatches { get; init; } = 4;

    /// <summary>Checkpoint every this many steps (and always at the end).</summary>
    [JsonPropertyName("checkpoint_every")] public int CheckpointEvery { get; init; } = 40;

    /// <summary>How MoE load is balanced: the auxiliary-loss-free bias (with the small sequence-wise loss), the V2
    /// expert-level auxiliary loss, or nothing.</summary>
    [JsonPropertyName("balance")]
    [JsonConverter(typeof(JsonStringEnumConverter<BalanceMode>))]
    public BalanceMode Balance { get; init; } = BalanceMode.AuxLossFree;

    /// <summary>Train the MTP module (λ = 0.3) or leave its loss out.</summary>
    [JsonPropertyName("mtp")] public bool Mtp { get; init; } = true;

    /// <summary>The Linears' training GEMMs: F32, BF16 inputs, or DeepSeek-V3's FP8 recipe (ModelWeights.UsePrecision).</summary>
    [JsonPropertyName("precision")]
    [JsonConverter(typeof(JsonStringEnumConverter<LinearPrecision>))]
    public LinearPrecision Precision { get; init; } = LinearPrecision.Fp32;

    /// <summary>Under FP8, the recipe's departures from the paper's (Fp8Recipe.Parse: exact, hopper-accumulator,
    /// no-promotion, tensor-scales, block-gradients, pow2-scales, keep-activations, swiglu-cache, o-proj-e5m6,
    /// fp8-dispatch); "" for the paper's recipe.</summary>
    [JsonPropertyName("fp8_recipe")] public string Fp8Recipe { get; init; } = "";

    /// <summary>Continue the run found in <see cref="OutDir"/>.</summary>
    [JsonIgnore] public bool Resume { get; init; }

    /// <summary>Micro-batches accumulated per optimizer step; throws naming the sizes when they do not divide.</summary>
    public int AccumulationSteps()
    {
        var perPass = (long)MicroBatch * SeqLen;
        if (MicroBatch < 1 || SeqLen < 2) { throw new ArgumentException($"micro-batch must be ≥ 1 and seq-len ≥ 2; got {MicroBatch} and {SeqLen}"); }
        if (BatchTokens < perPass || BatchTokens % perPass != 0)
        {
            throw new ArgumentException($"batch-tokens {BatchTokens} must be a positive multiple of micro-batch · seq-len = {MicroBatch} · {SeqLen} = {perPass}");
        }
        return (int)(BatchTokens / perPass);
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Steps < 1) { throw new ArgumentException($"steps must be at least 1; got {Steps}"); }
        AccumulationSteps();
        if (!(Lr > 0) || double.IsInfinity(Lr)) { throw new ArgumentException($"lr must be a positive finite number; got {Lr}"); }
        if (WarmupSteps < 0) { throw new ArgumentException($"warmup steps must be ≥ 0; got {WarmupSteps}"); }
        if (Schedule is not ("cosine" or "wsd")) { throw new ArgumentException($"schedule must be 'cosine' or 'wsd'; got '{Schedule}'"); }
        if (MinLrRatio is < 0 or > 1) { throw new ArgumentException($"min lr ratio must lie in [0, 1]; got {MinLrRatio}"); }
        if (GradClip <= 0) { throw new ArgumentException($"grad clip must be positive; got {GradClip}"); }
        if (EvalEvery < 0 || EvalBatches < 1) { throw new ArgumentException($"eval-every must be ≥ 0 and eval batches ≥ 1; got {EvalEvery} and {EvalBatches}"); }
        if (CheckpointEvery < 1) { throw new ArgumentException($"checkpoint-every must be ≥ 1; got {CheckpointEvery}"); }
        if (Data.Count == 0 && CorpusDocuments < 1) { throw new ArgumentException($"the generated corpus needs at least 1 document; got {CorpusDocuments}"); }
        if (!(PasskeyShare is >= 0 and <= 1)) { throw new ArgumentException($"--passkey (the share of passkey documents) must lie in [0, 1]; got {PasskeyShare}"); }
        if (Extend is { } x && (Init is null || SeqLen > x.To)) { throw new ArgumentException($"a context extension needs the model to start from (init) and seq-len ≤ {x.To}; got init {Init ?? "none"}, seq-len {SeqLen}"); }
        if (PreparedData && Init is null) { throw new ArgumentException("prepared data is for fine-tuning: it needs the model to start from (init)"); }
        if (Tensors.Ops.Fp8Recipe.Parse(Fp8Recipe) != default && Precision != LinearPrecision.Fp8) { throw new ArgumentException($"an FP8 recipe ('{Fp8Recipe}') needs precision fp8; got {Precision.OptionName()}"); }
        if (CorpusTasks is not null)
        {
            if (Data.Count > 0) { throw new ArgumentException("--tasks chooses the generated corpus's problems; it cannot be used with --data"); }
            Tasks.TaskMix.Parse(CorpusTasks);
        }
    }
}
