// WeightNames.cs: the HF checkpoint names every family shares (model.embed_tokens, model.norm, lm_head, the
// "model.layers.{i}." prefix; huggingface/transformers:src/transformers/models/deepseek_v3/modeling_deepseek_v3.py), and
// the MTP modules' stored copies of the embedding and head mapped onto the main tensors (deepseek-ai/DeepSeek-V3:
// README_WEIGHTS.md). Not here: the names inside a layer and the objects built from them (each family in Families/),
// allocation (ModelWeights), file formats. Tested by ModelWeightsTests.
namespace SharpSeek.Model.Checkpoint;

public static class WeightNames
{
    public const string Embedding = "model.embed_tokens.weight";
    public const string FinalNorm = "model.norm.weight";
    public const string Head = "lm_head.weight";

    public static string Layer(int layer) => $"model.layers.{layer}.";

    /// <summary>The main tensor an MTP module's stored copy stands for (its embed_tokens and shared_head.head), else null.</summary>
    public static string? SharedAlias(ModelConfig c, string name)
    {
        for (var layer = c.NumHiddenLayers; layer < c.TotalLayers; layer++)
        {
            if (name == Layer(layer) + "embed_tokens.weight") { return Embedding; }
            if (name == Layer(layer) + "shared_head.head.weight") { return c.TieWordEmbeddings ? Embedding : Head; }
        }
        return null;
    }
}
