// WeightNames.cs: the one place that knows the HF checkpoint names (huggingface/transformers:src/transformers/models/deepseek_v3/modeling_deepseek_v3.py; deepseek-ai/DeepSeek-V3:README_WEIGHTS.md): it builds each layer object with its
// .NET-named fields from "model.layers.{i}.self_attn.kv_a_proj_with_mqa.weight" and friends, and maps the MTP modules'
// copies of the embedding and head onto the main tensors. Not here: allocation (ModelWeights), file formats.
// Tested by ModelWeightsTests.
using SharpSeek.Model.Layers;

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

    /// <summary>Decoder layer <paramref name="layer"/> (main or MTP) with its parameters looked up by name.</summary>
    public static Block Block(ModelConfig c, int layer, Func<string, Parameter> get)
    {
        var p = Layer(layer);
        Parameter P(string name) => get(p + name);
        Linear L(string name) => new() { Weight = get(p + name) };
        var attention = new Mla
        {
            Config = c,
            Layer = layer,
            WqA = c.UsesQLora ? L("self_attn.q_a_proj.weight") : null,
            QNorm = c.UsesQLora ? new RmsNorm { Weight = P("self_attn.q_a_layernorm.weight"), Eps = RmsNorm.LatentEps } : null,
            WqB = c.UsesQLora ? L("self_attn.q_b_proj.weight") : null,
            Wq = c.UsesQLora ? null : L("self_attn.q_proj.weight"),
            WkvA = L("self_attn.kv_a_proj_with_mqa.weight"),
            KvNorm = new RmsNorm { Weight = P("self_attn.kv_a_layernorm.weight"), Eps = RmsNorm.LatentEps },
            WkvB = L("self_attn.kv_b_proj.weight"),
            Wo = L("self_attn.o_proj.weight"),
        };
        return new Block
        {
            Index = layer,
            InputNorm = Norm(c, P("input_layernorm.weight")),
            Attention = attention,
            PostAttentionNorm = Norm(c, P("post_attention_layernorm.weight")),
            Mlp = c.IsMoeLayer(layer) ? null : Mlp(p + "mlp.", get),
            Moe = c.IsMoeLayer(layer) ? Moe(c, p + "mlp.", get) : null,
        };
    }

    /// <summary>MTP module stored as layer <paramref name="layer"/> (≥ num_hidden_layers).</summary>
    public static Mtp Mtp(ModelConfig c, int layer, Func<string, Parameter> get)
    {
        var p = Layer(layer);
        return new Mtp
        {
            EmbeddingNorm = Norm(c, get(p + "enorm.weight")),
            HiddenNorm = Norm(c, get(p + "hnorm.weight")),
            EhProj = new Linear { Weight = get(p + "eh_proj.weight") },
            Block = Block(c, layer, get),
            HeadNorm = Norm(c, get(p + "shared_head.norm.weight")),
        };
    }

    private static RmsNorm Norm(ModelConfig c, Parameter weight) => new() { Weight = weight, Eps = c.RmsNormEps };

    private static Mlp Mlp(string prefix, Func<string, Parameter> get) => new()
    {
        Gate = new Linear { Weight = get(prefix + "gate_proj.weight") },
        Up = new Linear { Weight = get(prefix + "up_proj.weight") },
        Down = new Linear { Weight = get(prefix + "down_proj.weight") },
    };

    private static Moe Moe(ModelConfig c, string prefix, Func<string, Parameter> get) => new()
    {
        Gate = new Gate
        {
            Config = c,
            Weight = get(prefix + "gate.weight"),
            CorrectionBias = c.HasCorrectionBias ? get(prefix + "gate.e_score_correction_bias") : null,
        },
        Experts = [.. Enumerable.Range(0, c.RoutedExperts).Select(e => Mlp(prefix + $"experts.{e}.", get))],
        Shared = c.SharedExperts > 0 ? Mlp(prefix + "shared_experts.", get) : null,
    };
}
