// RopeScaling.cs: the `rope_scaling` (transformers v5: `rope_parameters`) object of an HF config. Not here: the YaRN
// frequencies (Layers/Rope.cs), validation (ModelConfig.Validate). Tested by ModelConfigTests.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SharpSeek.Model;

/// <summary>RoPE scaling parameters as HF writes them. DeepSeek-V3 uses YaRN: factor s, the original context,
/// the beta_fast/beta_slow correction range, and the two mscale factors (YaRN paper (Peng et al. 2023) §3; DeepSeek-V3 technical report §4.3).</summary>
public sealed record RopeScaling
{
    /// <summary>Old spelling of the rope type ("yarn"); newer configs write <see cref="RopeType"/> as well or instead.</summary>
    [JsonPropertyName("type")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Type { get; init; }

    [JsonPropertyName("rope_type")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? RopeType { get; init; }

    [JsonPropertyName("factor")]
    public double Factor { get; init; } = 1.0;

    [JsonPropertyName("original_max_position_embeddings")]
    public int OriginalMaxPositionEmbeddings { get; init; } = 4096;

    [JsonPropertyName("beta_fast")]
    public double BetaFast { get; init; } = 32;

    [JsonPropertyName("beta_slow")]
    public double BetaSlow { get; init; } = 1;

    [JsonPropertyName("mscale")]
    public double Mscale { get; init; } = 1.0;

    [JsonPropertyName("mscale_all_dim")]
    public double MscaleAllDim { get; init; }

    /// <summary>transformers v5 moves <c>rope_theta</c> into <c>rope_parameters</c>; null when it is top-level.</summary>
    [JsonPropertyName("rope_theta")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? RopeTheta { get; init; }

    /// <summary>Keys this record does not know, kept so a save writes them back.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>The rope type, whichever key spells it: "yarn" or "default" (plain RoPE).</summary>
    [JsonIgnore]
    public string Kind => RopeType ?? Type ?? "default";
}
