// RopeLayout.cs: which entries of a head RoPE rotates together. Tested by RopeTests.
namespace SharpSeek.Tensors.Kernels;

/// <summary>The pairing of a head's d entries into d/2 rotated pairs.</summary>
public enum RopeLayout
{
    /// <summary>Pairs (2i, 2i+1): DeepSeek-V3's checkpoints (`deepseek-ai/DeepSeek-V3:inference/model.py`, apply_rotary_emb).</summary>
    Interleaved,

    /// <summary>Pairs (i, i + d/2), HF's rotate_half (`huggingface/transformers:src/transformers/models/llama/modeling_llama.py`): Llama, Qwen2.</summary>
    Half,
}
