// ModelFamily.cs: the model families a config can name through `model_type`. Tested by DenseFamilyTests.
namespace SharpSeek.Model;

/// <summary>Which architecture a <see cref="ModelConfig"/> describes.</summary>
public enum ModelFamily
{
    /// <summary>DeepSeek-V3 (`model_type` deepseek_v3): MLA, DeepSeekMoE, MTP.</summary>
    DeepSeekV3,

    /// <summary>Qwen2 (`model_type` qwen2): dense GQA decoder with q/k/v bias.</summary>
    Qwen2,

    /// <summary>Llama (`model_type` llama): dense GQA decoder, optional biases, Llama-3 RoPE scaling.</summary>
    Llama,
}
