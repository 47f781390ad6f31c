// ModelConfig.Json.cs: reading and writing config.json in HF's layout (sorted keys, 2-space indent), both rope spellings,
// unknown keys kept for the round trip, duplicate keys refused, absent keys filled with their family's HF defaults and
// reported (ModelFamilies), a dense config written without the DeepSeek-only keys, and the presets (configs/*.json,
// also embedded in this assembly). Not here: the fields (ModelConfig.cs), the rules (ModelConfig.Validate.cs and each
// family in Families/). Tested by ModelConfigTests.
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpSeek.Model;

public sealed partial record ModelConfig
{
    private const string ResourcePrefix = "SharpSeek.Model.configs.";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, IndentSize = 2 };

    /// <summary>The presets every build carries: tiny (tests), small (the default training job), 16B and 671B (official).</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["tiny", "small", "dense-1m", "dense-2m", "dense-8m", "dense-25m", "16B", "671B"];

    /// <summary>Parses config.json text and validates it. Throws <see cref="InvalidDataException"/> naming the bad field.</summary>
    public static ModelConfig Parse(string json, string source = "config")
    {
        var config = ParseUnvalidated(json, source);
        config.Validate();
        return config;
    }

    /// <summary>Reads and validates a config.json file (or the config.json inside a model directory).</summary>
    public static ModelConfig Load(string path)
    {
        if (Directory.Exists(path)) { path = Path.Combine(path, "config.json"); }
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>A preset by name ("tiny", "small", "16B", "671B", also "config_671B") or a path to a config file or model
    /// directory. Names prefer the copy embedded in this assembly, then <c>configs/</c> above the program or the current directory.</summary>
    public static ModelConfig LoadPreset(string nameOrPath)
    {
        if (File.Exists(nameOrPath) || Directory.Exists(nameOrPath)) { return Load(nameOrPath); }
        string[] fileNames = [$"{nameOrPath}.json", $"config_{nameOrPath}.json", nameOrPath];
        var assembly = typeof(ModelConfig).Assembly;
        foreach (var fileName in fileNames)
        {
            using var stream = assembly.GetManifestResourceStream(ResourcePrefix + fileName);
            if (stream is not null)
            {
                using var reader = new StreamReader(stream, Encoding.UTF8);
                return Parse(reader.ReadToEnd(), $"preset {nameOrPath}");
            }
        }
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                foreach (var fileName in fileNames)
                {
                    var candidate = Path.Combine(dir.FullName, "configs", fileName);
                    if (File.Exists(candidate)) { return Load(candidate); }
                }
            }
        }
        throw new FileNotFoundException(
            $"no config file or preset named '{nameOrPath}' (presets: {string.Join(", ", PresetNames)})", nameOrPath);
    }

    /// <summary>This config as HF writes config.json: keys sorted, 2-space indent, unknown keys included.</summary>
    public string ToJson()
    {
        var node = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        if (IsDense)
        {
            foreach (var key in ModelFamilies.DeepSeekOnlyKeys) { node.Remove(key); }
            if (RopeScaling is null) { node.Remove("rope_scaling"); }
            if (Family == ModelFamily.Qwen2)
            {
                // Qwen2Config has neither (its q/k/v bias is fixed); Llama's are its own keys
                node.Remove("attention_bias");
                node.Remove("pretraining_tp");
            }
        }
        if (EosTokenIds is { Length: > 1 } ids) { node["eos_token_id"] = new JsonArray([.. ids.Select(i => (JsonNode?)i)]); }
        if (RopeParametersSpelling && node.Remove("rope_scaling", out var rope)) { node["rope_parameters"] = rope; }
        return Sorted(node).ToJsonString(Json) + "\n";
    }

    /// <summary>Writes <see cref="ToJson"/> atomically: a temporary file in the same directory, then a rename over <paramref name="path"/>.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());

    // Records compare arrays and dictionaries by reference; two configs are equal when they write the same JSON.
    public bool Equals(ModelConfig? other) => other is not null && ToJson() == other.ToJson();

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToJson());

    internal static ModelConfig ParseUnvalidated(string json, string source)
    {
        try
        {
            // A key given twice is refused (naming it) rather than one of its values silently winning.
            if (JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) is not JsonObject node)
            {
                throw new InvalidDataException($"{source}: expected a JSON object");
            }
            var v5Spelling = false;
            // transformers v5 renamed rope_scaling to rope_parameters; if both are there, a non-null rope_scaling wins and
            // rope_parameters stays an unknown key.
            if (node.ContainsKey("rope_parameters") && node["rope_scaling"] is null)
            {
                node.Remove("rope_scaling");
                node.Remove("rope_parameters", out var rope);
                node["rope_scaling"] = rope;
                v5Spelling = true;
            }
            var modelType = node["model_type"] is JsonValue type && type.TryGetValue<string>(out var name) ? name
                : node.ContainsKey("model_type") ? throw new InvalidDataException($"{source}: config field 'model_type' = {node["model_type"]?.ToJsonString() ?? "null"}: expected a string")
                : "deepseek_v3";
            // transformers types eos_token_id int | list[int] (Llama 3.x Instruct lists several): the first is the model's
            // end of sequence here, the list is kept for the round trip.
            int[]? eosList = null;
            if (node["eos_token_id"] is JsonArray eos)
            {
                eosList = [.. eos.Select(e => e is JsonValue v && v.TryGetValue<int>(out var id) ? id
                    : throw new InvalidDataException($"{source}: config field 'eos_token_id' = {eos.ToJsonString()}: expected a token id or a list of token ids"))];
                node["eos_token_id"] = eosList.Length > 0 ? eosList[0] : null;
            }
            // HF reads num_key_value_heads: null as "absent" (the family default)
            if (node.ContainsKey("num_key_value_heads") && node["num_key_value_heads"] is null) { node.Remove("num_key_value_heads"); }
            var family = ModelFamilies.ModelTypes.Contains(modelType) ? ModelFamilies.Of(modelType)
                : throw new InvalidDataException($"{source}: config field 'model_type' = \"{modelType}\": expected one of {string.Join(", ", ModelFamilies.ModelTypes.Select(t => $"\"{t}\""))}");
            var defaulted = ModelFamilies.FillDefaults(family, node);
            var config = node.Deserialize<ModelConfig>(Json) ?? throw new InvalidDataException($"{source}: null config");
            config = config with { RopeParametersSpelling = v5Spelling, DefaultedKeys = defaulted, EosTokenIds = eosList };
            if (!node.ContainsKey("rope_theta") && config.RopeScaling?.RopeTheta is { } theta)
            {
                config = config with { RopeTheta = theta };
            }
            return config;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }
    }

    private static JsonObject Sorted(JsonObject node)
    {
        var sorted = new JsonObject();
        foreach (var key in node.Select(p => p.Key).Order(StringComparer.Ordinal).ToList())
        {
            var value = node[key]?.DeepClone();
            sorted[key] = value is JsonObject inner ? Sorted(inner) : value;
        }
        return sorted;
    }
}
