// MetricsRecord.cs: one line of metrics.jsonl: a step's loss parts, learning rate, gradient norm, throughput, the tokens
// each routed expert received per MoE layer with its MaxVio, and the eval loss when the step evaluated.
// Not here: reading and writing the file (MetricsLog). Tested by MetricsLogTests.
using System.Text.Json.Serialization;

namespace SharpSeek.Training.Runs;

/// <summary>The metrics of one optimizer step.</summary>
public sealed record MetricsRecord
{
    [JsonPropertyName("step")] public long Step { get; init; }

    /// <summary>The objective: main + MTP + balance terms, averaged over the micro-batches.</summary>
    [JsonPropertyName("loss")] public double Loss { get; init; }

    /// <summary>Next-token cross-entropy of the main head.</summary>
    [JsonPropertyName("main_loss")] public double MainLoss { get; init; }

    [JsonPropertyName("mtp_loss")] public double MtpLoss { get; init; }

    [JsonPropertyName("balance_loss")] public double BalanceLoss { get; init; }

    [JsonPropertyName("lr")] public double Lr { get; init; }

    /// <summary>Global gradient norm before clipping.</summary>
    [JsonPropertyName("grad_norm")] public double GradNorm { get; init; }

    /// <summary>Tokens trained on so far.</summary>
    [JsonPropertyName("tokens")] public long Tokens { get; init; }

    [JsonPropertyName("tokens_per_s")] public double TokensPerSecond { get; init; }

    /// <summary>Seconds of training so far, across resumes.</summary>
    [JsonPropertyName("elapsed_s")] public double ElapsedSeconds { get; init; }

    /// <summary>The decoder-layer index of each MoE layer (the MTP block counts as layer num_hidden_layers).</summary>
    [JsonPropertyName("moe_layers")] public int[] MoeLayers { get; init; } = [];

    /// <summary>Tokens routed to each expert in this step, per MoE layer: (moe layers, E).</summary>
    [JsonPropertyName("expert_load")] public long[][] ExpertLoad { get; init; } = [];

    /// <summary>Per MoE layer: max load / mean load − 1 (0 is perfect balance).</summary>
    [JsonPropertyName("max_vio")] public double[] MaxVio { get; init; } = [];

    /// <summary>Main cross-entropy on the held-out batches, on steps that evaluated.</summary>
    [JsonPropertyName("eval_loss")] public double? EvalLoss { get; init; }
}
