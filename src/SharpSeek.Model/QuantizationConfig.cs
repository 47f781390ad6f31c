// QuantizationConfig.cs: the `quantization_config` object of the FP8 release. Not here: the FP8 codecs (Tensors),
// checkpoint loading. Tested by ModelConfigTests.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SharpSeek.Model;

/// <summary>FP8 storage of the release: E4M3 Linear weights with one F32 <c>weight_scale_inv</c> per
/// <c>weight_block_size</c> block (128×128), activations quantized dynamically (deepseek-ai/DeepSeek-V3:README_WEIGHTS.md).</summary>
public sealed record QuantizationConfig
{
    [JsonPropertyName("activation_scheme")]
    public string ActivationScheme { get; init; } = "dynamic";

    [JsonPropertyName("fmt")]
    public string Fmt { get; init; } = "e4m3";

    [JsonPropertyName("quant_method")]
    public string QuantMethod { get; init; } = "fp8";

    /// <summary>[rows, columns] of one scale block.</summary>
    [JsonPropertyName("weight_block_size")]
    public int[] WeightBlockSize { get; init; } = [128, 128];

    /// <summary>Keys this record does not know (e.g. <c>scale_fmt</c> of V3.1), kept so a save writes them back.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}
