// InfoCommand.cs: `sharpseek info --config <preset|path> [--json]`, the parameter and KV-cache accounting of a config.
// Not here: the counting (SharpSeek.Model/ParameterShapes.cs). Tested by InfoCommandTests.
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpSeek.Model;

namespace SharpSeek.Cli.Commands;

internal static class InfoCommand
{
    private static readonly (string Label, ParameterComponent Component)[] Rows =
    [
        ("embedding", ParameterComponent.Embedding),
        ("attention", ParameterComponent.Attention),
        ("dense MLP", ParameterComponent.DenseMlp),
        ("routed experts", ParameterComponent.RoutedExperts),
        ("shared experts", ParameterComponent.SharedExperts),
        ("router", ParameterComponent.Router),
        ("norms", ParameterComponent.Norms),
        ("head", ParameterComponent.Head),
    ];

    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "Preset (tiny, small, dense-1m, 16B, 671B), config.json path or model directory.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("info", "Parameter counts (total, activated per token, per component, MTP) and KV-cache bytes per token of a config.")
        {
            config,
            json,
        };
        command.SetAction(parse => Run(parse.GetValue(config)!, parse.GetValue(json), Console.Out, Console.Error));
        return command;
    }

    private static int Run(string name, bool json, TextWriter output, TextWriter errors)
    {
        ModelConfig config;
        ParameterCounts counts;
        try
        {
            config = ModelConfig.LoadPreset(name);
            ModelFootprint.EnsureEnumerable(config, name); // a config too large to enumerate, refused naming the file
            counts = ParameterShapes.Count(config);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            errors.WriteLine($"error: {e.Message}");
            return 1;
        }
        ConfigWarnings.Write(config, errors);
        var kv = KvCacheSize.For(config);
        if (json) { WriteJson(output, name, config, counts, kv); } else { WriteText(output, name, config, counts, kv); }
        return 0;
    }

    private static void WriteText(TextWriter o, string name, ModelConfig c, ParameterCounts n, KvCacheSize kv)
    {
        var dense = Enumerable.Range(0, c.NumHiddenLayers).Count(i => !c.IsMoeLayer(i));
        if (c.IsDense)
        {
            o.WriteLine($"config {name}: {c.ModelType}, {c.NumHiddenLayers} dense layers, d={c.HiddenSize}, vocab {c.VocabSize}, " +
                $"GQA {c.NumAttentionHeads} query / {c.NumKeyValueHeads} kv heads of {c.AttentionHeadDim}, intermediate {c.IntermediateSize}, " +
                $"{(c.TieWordEmbeddings ? "tied" : "untied")} embeddings, rope {c.RopeScaling?.Kind ?? "default"} θ={c.RopeTheta}");
        }
        else
        {
            o.WriteLine($"config {name}: {c.NumHiddenLayers} layers ({dense} dense, {c.NumHiddenLayers - dense} MoE) + {c.MtpDepth} MTP, " +
                $"d={c.HiddenSize}, vocab {c.VocabSize}, {c.NumAttentionHeads} heads, {(c.UsesQLora ? $"q_lora_rank {c.QLoraRank}" : "q_proj (no q-lora)")}, kv_lora_rank {c.KvLoraRank}");
            o.WriteLine($"router: {c.Router} ({c.TopKMethod}, {c.ScoringFunc}{(c.HasCorrectionBias ? " + correction bias" : "")}), " +
                $"top-{c.ExpertsPerToken} of {c.RoutedExperts} routed{(c.ExpertGroups > 1 ? $" in {c.ExpertGroups} groups ({c.TopKGroups} per token)" : "")}, {c.SharedExperts} shared");
        }
        o.WriteLine($"parameters: {Human(n.Total)} total, {Human(n.Activated)} activated per token ({n.Total:N0} / {n.Activated:N0}); " +
            $"{Human(n.ActivatedWithoutEmbedding)} activated without the embedding lookup");
        o.WriteLine();
        o.WriteLine($"  {"main model",-18}{"total",16}{"",18}{"activated/token",18}");
        foreach (var (label, component) in Rows)
        {
            o.WriteLine($"  {label,-18}{Human(n.Main[component]),16}{n.Main[component],18:N0}{Human(n.MainActivated[component]),18}");
        }
        o.WriteLine($"  {"total",-18}{Human(n.Total),16}{n.Total,18:N0}{Human(n.Activated),18}");
        o.WriteLine();
        if (c.MtpDepth > 0)
        {
            o.WriteLine($"MTP ({c.MtpDepth} module{(c.MtpDepth > 1 ? "s" : "")}): {Human(n.Mtp.Total)} stored ({n.Mtp.Total:N0}), " +
                $"{Human(n.MtpUnique)} unique without the copied embedding and head ({n.MtpUnique:N0}), eh_proj {Human(n.Mtp.MtpProjection)}");
        }
        o.WriteLine($"checkpoint: {n.WeightTensors:N0} weight tensors, {Human(n.StoredWeights)} elements" +
            (c.QuantizationConfig is null ? "" : $"; FP8 layout adds {n.ScaleTensors:N0} weight_scale_inv tensors ({n.ScaleElements:N0} F32)"));
        o.WriteLine();
        o.WriteLine($"KV cache per token ({c.NumHiddenLayers} layers){"elements",14}{"BF16",14}{"F32",14}");
        var own = c.IsDense ? $"GQA ({c.NumKeyValueHeads} kv heads, k and v)" : "MLA (c_kv + k_pe)";
        o.WriteLine($"  {own,-30}{kv.MlaElementsPerToken,10:N0}{Bytes(kv.MlaBytesPerToken(2)),14}{Bytes(kv.MlaBytesPerToken(4)),14}");
        o.WriteLine($"  {$"MHA ({c.NumAttentionHeads} heads, k and v)",-30}{kv.MhaElementsPerToken,10:N0}{Bytes(kv.MhaBytesPerToken(2)),14}{Bytes(kv.MhaBytesPerToken(4)),14}");
        o.WriteLine($"  {(c.IsDense ? "GQA" : "MLA")} caches {kv.Ratio:F1}x less than MHA");
    }

    private static void WriteJson(TextWriter o, string name, ModelConfig c, ParameterCounts n, KvCacheSize kv)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("config", name);
            w.WriteString("model_type", c.ModelType);
            w.WriteString("router", c.Router.ToString());
            w.WriteNumber("total", n.Total);
            w.WriteNumber("activated", n.Activated);
            w.WriteNumber("activated_without_embedding", n.ActivatedWithoutEmbedding);
            Breakdown(w, "components", n.Main);
            Breakdown(w, "activated_components", n.MainActivated);
            w.WriteStartObject("mtp");
            w.WriteNumber("modules", c.MtpDepth);
            w.WriteNumber("stored", n.Mtp.Total);
            w.WriteNumber("unique", n.MtpUnique);
            w.WriteEndObject();
            w.WriteNumber("weight_tensors", n.WeightTensors);
            w.WriteNumber("stored_weights", n.StoredWeights);
            w.WriteNumber("fp8_scale_tensors", n.ScaleTensors);
            w.WriteNumber("fp8_scale_elements", n.ScaleElements);
            w.WriteStartObject("kv_cache_per_token");
            w.WriteNumber("mla_elements", kv.MlaElementsPerToken);
            w.WriteNumber("mha_elements", kv.MhaElementsPerToken);
            w.WriteNumber("mla_bytes_bf16", kv.MlaBytesPerToken(2));
            w.WriteNumber("mla_bytes_f32", kv.MlaBytesPerToken(4));
            w.WriteNumber("mha_bytes_bf16", kv.MhaBytesPerToken(2));
            w.WriteNumber("mha_bytes_f32", kv.MhaBytesPerToken(4));
            w.WriteNumber("ratio", Math.Round(kv.Ratio, 3));
            w.WriteEndObject();
            w.WriteStartArray("unknown_keys");
            foreach (var key in c.UnknownKeys) { w.WriteStringValue(key); }
            w.WriteEndArray();
            w.WriteStartObject("defaulted_keys");
            foreach (var (key, value) in c.DefaultedKeys) { w.WriteString(key, value); }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        o.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static void Breakdown(Utf8JsonWriter w, string name, ParameterBreakdown b)
    {
        w.WriteStartObject(name);
        foreach (var component in Enum.GetValues<ParameterComponent>())
        {
            w.WriteNumber(JsonNamingPolicy.SnakeCaseLower.ConvertName(component.ToString()), b[component]);
        }
        w.WriteEndObject();
    }

    // One decimal, rounded down, so 37.55B prints as the "37.5B" a reader compares with the paper's 37B.
    internal static string Human(long n)
    {
        var (scale, suffix) = n switch { >= 1_000_000_000 => (1e9, "B"), >= 1_000_000 => (1e6, "M"), >= 1_000 => (1e3, "K"), _ => (1.0, "") };
        return suffix.Length == 0 ? n.ToString(CultureInfo.InvariantCulture) : $"{Math.Floor(n / scale * 10) / 10:F1}{suffix}";
    }

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1 << 20 => $"{bytes / 1048576.0:F2} MiB",
        >= 1 << 10 => $"{bytes / 1024.0:F1} KiB",
        _ => $"{bytes} B",
    };
}
