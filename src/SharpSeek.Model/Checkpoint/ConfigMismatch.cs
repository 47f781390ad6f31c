// ConfigMismatch.cs: one readable error for a checkpoint whose tensors disagree with its config.json, instead of one
// line per tensor: the first line gives the cause, the first config field the stored shapes contradict (found by probing
// the few tensors whose dimensions are plain config fields, and the layer count), or else how many tensors differ; then
// the count and the first Shown problems. Not here: finding the problems (CheckpointDirectory.Check). Tested by
// CheckpointDirectoryTests.
using System.Text.Json.Nodes;

namespace SharpSeek.Model.Checkpoint;

/// <summary>Summarizes <see cref="CheckpointDirectory.Check"/>'s problems for a person.</summary>
public static class ConfigMismatch
{
    /// <summary>Problems listed at most; the rest are counted.</summary>
    public const int Shown = 5;

    /// <summary>Throws <see cref="InvalidDataException"/> with <see cref="Describe"/>'s message unless the checkpoint holds
    /// exactly the tensors of <paramref name="config"/> (<see cref="CheckpointDirectory.Check"/>). Allocates no weights.</summary>
    public static void EnsureMatches(CheckpointDirectory checkpoint, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var expected = ParameterShapes.For(config);
        var problems = checkpoint.Check(expected);
        // A tied model whose file also stores lm_head.weight (some exports write the tied tensor twice): transformers ties
        // the head to the embedding, so the stored copy is unused; accepted when it is the embedding bit for bit.
        const string head = WeightNames.Head, embedding = WeightNames.Embedding;
        if (config.TieWordEmbeddings && checkpoint.Contains(head) && checkpoint.Contains(embedding))
        {
            var same = checkpoint.SameTensor(head, embedding);
            problems = [.. problems.Where(p => !same || !p.StartsWith($"unexpected: {head} ", StringComparison.Ordinal))
                .Select(p => p.StartsWith($"unexpected: {head} ", StringComparison.Ordinal)
                    ? $"{p}: tie_word_embeddings is true but the stored lm_head.weight is not model.embed_tokens.weight; set tie_word_embeddings to false to use it"
                    : p)];
        }
        if (problems.Count > 0) { throw new InvalidDataException(Describe(checkpoint, config, expected.Count, problems)); }
    }

    /// <summary>"dir: the checkpoint does not match config.json: cause", then the counts and the first <see cref="Shown"/> problems.</summary>
    public static string Describe(CheckpointDirectory checkpoint, ModelConfig config, int expectedTensors, IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(problems);
        var differ = problems.Count(p => p.StartsWith("missing: ", StringComparison.Ordinal) || p.StartsWith("shape mismatch: ", StringComparison.Ordinal));
        var counted = $"{differ} of {expectedTensors} tensors do not match config.json";
        var cause = Cause(checkpoint, config);
        var listed = problems.Count == 1 ? "1 problem:" : problems.Count <= Shown ? $"{problems.Count} problems:" : $"{problems.Count} problems, the first {Shown}:";
        return $"{checkpoint.DirectoryPath}: the checkpoint does not match its config.json: {cause ?? counted}\n"
            + $"{(cause is null ? "" : counted + "; ")}{listed}\n  " + string.Join("\n  ", problems.Take(Shown))
            + (problems.Count > Shown ? $"\n  ... and {problems.Count - Shown} more" : "");
    }

    /// <summary>The first config field the stored tensors contradict, as "config.json has hidden_size = 7168 (...), but
    /// the tensors say 32 (model.embed_tokens.weight is stored [265, 32])"; null when no probe finds one.</summary>
    public static string? Cause(CheckpointDirectory checkpoint, ModelConfig c)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(c);
        var layers = Enumerable.Range(0, c.NumHiddenLayers);
        string L(int? i, string name) => $"model.layers.{i}.{name}";
        int? dense = layers.Where(i => !c.IsMoeLayer(i)).Select(i => (int?)i).FirstOrDefault();
        int? moe = layers.Where(c.IsMoeLayer).Select(i => (int?)i).FirstOrDefault();
        long h = c.NumAttentionHeads, hd = c.AttentionHeadDim;
        (string Field, long Value, string? Tensor, int Dim)[] probes = c.IsDense ?
        [
            ("vocab_size", c.VocabSize, "model.embed_tokens.weight", 0),
            ("hidden_size", c.HiddenSize, "model.embed_tokens.weight", 1),
            ("hidden_size", c.HiddenSize, "model.norm.weight", 0),
            ("num_attention_heads × head_dim", h * hd, L(0, "self_attn.q_proj.weight"), 0),
            ("num_key_value_heads × head_dim", c.NumKeyValueHeads * hd, L(0, "self_attn.k_proj.weight"), 0),
            ("intermediate_size", c.IntermediateSize, L(0, "mlp.gate_proj.weight"), 0),
        ] :
        [
            ("vocab_size", c.VocabSize, "model.embed_tokens.weight", 0),
            ("hidden_size", c.HiddenSize, "model.embed_tokens.weight", 1),
            ("hidden_size", c.HiddenSize, "model.norm.weight", 0),
            ("q_lora_rank", c.QLoraRank ?? 0, c.UsesQLora ? L(0, "self_attn.q_a_layernorm.weight") : null, 0),
            ("kv_lora_rank", c.KvLoraRank, L(0, "self_attn.kv_a_layernorm.weight"), 0),
            ("kv_lora_rank + qk_rope_head_dim", (long)c.KvLoraRank + c.QkRopeHeadDim, L(0, "self_attn.kv_a_proj_with_mqa.weight"), 0),
            ("num_attention_heads × v_head_dim", h * c.VHeadDim, L(0, "self_attn.o_proj.weight"), 1),
            ("num_attention_heads × (qk_nope_head_dim + v_head_dim)", h * ((long)c.QkNopeHeadDim + c.VHeadDim), L(0, "self_attn.kv_b_proj.weight"), 0),
            ("num_attention_heads × (qk_nope_head_dim + qk_rope_head_dim)", h * ((long)c.QkNopeHeadDim + c.QkRopeHeadDim),
                L(0, c.UsesQLora ? "self_attn.q_b_proj.weight" : "self_attn.q_proj.weight"), 0),
            ("intermediate_size", c.IntermediateSize, dense is null ? null : L(dense, "mlp.gate_proj.weight"), 0),
            ("n_routed_experts", c.RoutedExperts, moe is null ? null : L(moe, "mlp.gate.weight"), 0),
            ("moe_intermediate_size", c.MoeIntermediateSize, moe is null ? null : L(moe, "mlp.experts.0.gate_proj.weight"), 0),
            ("moe_intermediate_size × n_shared_experts", (long)c.MoeIntermediateSize * c.SharedExperts, moe is null ? null : L(moe, "mlp.shared_experts.gate_proj.weight"), 0),
        ];
        foreach (var (field, value, tensor, dim) in probes)
        {
            if (tensor is null || !checkpoint.Contains(tensor)) { continue; }
            long[] shape;
            try
            {
                shape = checkpoint.Info(tensor).Shape;
            }
            catch (InvalidDataException)
            {
                continue; // a shard at fault: Check lists it
            }
            if (shape.Length > dim && shape[dim] != value)
            {
                return $"config.json has {field} = {value}{Default(checkpoint, field)}, but the tensors say {shape[dim]} ({tensor} is stored {SafeTensorInfo.Format(shape)})";
            }
        }
        var stored = checkpoint.Names.Select(LayerOf).Where(i => i >= 0).DefaultIfEmpty(-1).Max() + 1;
        if (stored != c.TotalLayers)
        {
            var what = c.IsDense ? $"num_hidden_layers = {c.NumHiddenLayers}" : $"num_hidden_layers + num_nextn_predict_layers = {c.NumHiddenLayers} + {c.NumNextnPredictLayers}";
            return $"config.json has {what}{Default(checkpoint, "num_hidden_layers")}, "
                + $"but the tensors have {stored} layers (model.layers.0 .. model.layers.{stored - 1})";
        }
        return null;
    }

    // "model.layers.12.mlp..." → 12; anything else → -1.
    private static int LayerOf(string name)
    {
        const string Prefix = "model.layers.";
        if (!name.StartsWith(Prefix, StringComparison.Ordinal)) { return -1; }
        var end = name.IndexOf('.', Prefix.Length);
        return end > Prefix.Length && int.TryParse(name.AsSpan(Prefix.Length, end - Prefix.Length), out var i) ? i : -1;
    }

    // " (the default: config.json does not set it)" when the field is a plain key absent from the file.
    private static string Default(CheckpointDirectory checkpoint, string field)
    {
        try
        {
            var path = CheckpointCommit.Resolve(checkpoint.DirectoryPath, CheckpointDirectory.ConfigFile);
            return field.Contains(' ', StringComparison.Ordinal) || JsonNode.Parse(File.ReadAllText(path)) is not JsonObject o || o.ContainsKey(field)
                ? "" : " (the default: config.json does not set it)";
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
