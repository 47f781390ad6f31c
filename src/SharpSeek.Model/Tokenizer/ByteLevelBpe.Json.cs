// ByteLevelBpe.Json.cs: HF tokenizer.json + tokenizer_config.json in and out. Reads BPE models with the ByteLevel
// pre-tokenizer (GPT-2) or Sequence[Split..., ByteLevel] (DeepSeek-V3, Qwen2), both merges spellings ("a b" and
// ["a","b"]), added tokens; anything else fails naming the feature. Writes HF's layout atomically.
// Not here: encoding (ByteLevelBpe.cs). Tested by TokenizerJsonTests and TokenizerRealVocabParityTests (loads the real
// DeepSeek-V3 and Qwen3 files).
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SharpSeek.Model.Tokenizer;

public sealed partial class ByteLevelBpe
{
    public const string TokenizerFileName = "tokenizer.json";
    public const string ConfigFileName = "tokenizer_config.json";

    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Reads an HF tokenizer.json (or the one inside a model directory) and, when present beside it,
    /// tokenizer_config.json for the BOS/EOS/pad tokens. Throws <see cref="InvalidDataException"/> naming an unsupported
    /// feature or a malformed field, <see cref="FileNotFoundException"/> for a missing file.</summary>
    public static ByteLevelBpe Load(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, TokenizerFileName) : path;
        if (!File.Exists(file)) { throw new FileNotFoundException($"tokenizer file '{file}' not found; expected a tokenizer.json or a directory holding one", file); }
        var config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, ConfigFileName);
        var settings = File.Exists(config) ? ParseSettings(File.ReadAllText(config), config) : TokenizerSettings.None;
        return Parse(File.ReadAllText(file), file, settings);
    }

    /// <summary>Writes tokenizer.json and tokenizer_config.json into <paramref name="directory"/> (created if needed),
    /// each through a temporary file and a rename.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        AtomicFile.WriteAllBytes(Path.Combine(directory, TokenizerFileName), TokenizerJson());
        AtomicFile.WriteAllBytes(Path.Combine(directory, ConfigFileName), ConfigJson());
    }

    internal static ByteLevelBpe Parse(string json, string source, TokenizerSettings settings)
    {
        using var doc = Document(json, source);
        var root = Expect(doc.RootElement, JsonValueKind.Object, "the top level", source);
        var model = Expect(Property(root, "model"), JsonValueKind.Object, "'model'", source);
        var type = OptionalString(model, "type", source) ?? "BPE";
        if (type != "BPE") { throw Unsupported(source, $"model type '{type}'", "BPE"); }
        if (Property(model, "dropout").ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)) { throw Unsupported(source, "model.dropout", "null"); }
        foreach (var affix in (string[])["continuing_subword_prefix", "end_of_word_suffix"])
        {
            if (OptionalString(model, affix, source) is { Length: > 0 } value) { throw Unsupported(source, $"model.{affix} '{value}'", "null"); }
        }
        foreach (var flag in (string[])["byte_fallback", "ignore_merges"])
        {
            if (OptionalBool(model, flag, source)) { throw Unsupported(source, $"model.{flag} = true", "false"); }
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in Expect(Property(model, "vocab"), JsonValueKind.Object, "'model.vocab'", source).EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id)) { throw Malformed(source, $"model.vocab['{entry.Name}']", "an integer id"); }
            vocab[entry.Name] = id;
        }
        var merges = new List<(string, string)>();
        foreach (var merge in Expect(Property(model, "merges"), JsonValueKind.Array, "'model.merges'", source).EnumerateArray())
        {
            merges.Add(ParseMerge(merge, merges.Count, source));
        }

        var nfc = ParseNormalizer(Property(root, "normalizer"), source);
        var (splits, useRegex) = ParsePreTokenizer(Property(root, "pre_tokenizer"), source);
        var decoder = Property(root, "decoder");
        var decoderType = decoder.ValueKind == JsonValueKind.Object ? OptionalString(decoder, "type", source) : null;
        if (decoderType != "ByteLevel") { throw Unsupported(source, $"decoder '{decoderType ?? "null"}'", "ByteLevel"); }

        var added = new List<AddedToken>();
        var addedTokens = Property(root, "added_tokens");
        if (addedTokens.ValueKind != JsonValueKind.Undefined && addedTokens.ValueKind != JsonValueKind.Null)
        {
            foreach (var t in Expect(addedTokens, JsonValueKind.Array, "'added_tokens'", source).EnumerateArray())
            {
                Expect(t, JsonValueKind.Object, "an added_tokens entry", source);
                var content = OptionalString(t, "content", source) ?? throw Malformed(source, "added_tokens[].content", "a string");
                var id = Property(t, "id");
                if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out var tokenId)) { throw Malformed(source, $"added token '{content}' id", "an integer"); }
                foreach (var option in (string[])["single_word", "lstrip", "rstrip"])
                {
                    if (OptionalBool(t, option, source)) { throw Unsupported(source, $"added token '{content}' option {option} = true", "false"); }
                }
                added.Add(new AddedToken(tokenId, content, OptionalBool(t, "special", source)));
            }
        }
        return new ByteLevelBpe(vocab, merges, added, splits, useRegex, nfc, settings);
    }

    internal static TokenizerSettings ParseSettings(string json, string source)
    {
        using var doc = Document(json, source);
        var root = Expect(doc.RootElement, JsonValueKind.Object, "the top level", source);
        var maxLength = Property(root, "model_max_length");
        int? max = maxLength.ValueKind == JsonValueKind.Number && maxLength.TryGetDouble(out var m) && m is >= 1 and < int.MaxValue ? (int)m : null;
        return new TokenizerSettings(TokenName(root, "bos_token", source), TokenName(root, "eos_token", source), TokenName(root, "pad_token", source), max,
            ReadChatTemplate(Property(root, "chat_template"), source))
        {
            AddBosToken = Property(root, "add_bos_token").ValueKind == JsonValueKind.True,
        };
    }

    /// <summary>tokenizer_config.json's chat_template: a string, or HF's list of {"name", "template"} (the one named
    /// "default" is taken); null when absent.</summary>
    public static string? ReadChatTemplate(JsonElement value, string source)
    {
        if (value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) { return null; }
        if (value.ValueKind == JsonValueKind.String) { return value.GetString(); }
        if (value.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in value.EnumerateArray())
            {
                if (entry.ValueKind == JsonValueKind.Object && OptionalString(entry, "name", source) == "default") { return OptionalString(entry, "template", source); }
            }
        }
        throw Malformed(source, "chat_template", "a string or a list of {\"name\", \"template\"} holding one named \"default\"");
    }

    // HF writes these as a plain string or as {"__type": "AddedToken", "content": ...}.
    private static string? TokenName(JsonElement root, string name, string source)
    {
        var value = Property(root, name);
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object => OptionalString(value, "content", source),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => throw Malformed(source, name, "a string, an object with 'content', or null"),
        };
    }

    private static (string, string) ParseMerge(JsonElement merge, int rank, string source)
    {
        if (merge.ValueKind == JsonValueKind.String)
        {
            var parts = merge.GetString()!.Split(' ');
            if (parts.Length == 2) { return (parts[0], parts[1]); }
        }
        else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
            && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
        {
            return (merge[0].GetString()!, merge[1].GetString()!);
        }
        throw Malformed(source, $"model.merges[{rank}]", "\"left right\" or [\"left\", \"right\"]");
    }

    private static bool ParseNormalizer(JsonElement normalizer, string source)
    {
        if (normalizer.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) { return false; }
        var type = normalizer.ValueKind == JsonValueKind.Object ? OptionalString(normalizer, "type", source) : null;
        if (type == "NFC") { return true; }
        if (type == "Sequence" && Property(normalizer, "normalizers") is { ValueKind: JsonValueKind.Array } list)
        {
            var nfc = false;
            foreach (var inner in list.EnumerateArray()) { nfc |= ParseNormalizer(inner, source); }
            return nfc;
        }
        throw Unsupported(source, $"normalizer '{type ?? normalizer.ValueKind.ToString()}'", "null or NFC");
    }

    private static (List<string> Splits, bool UseRegex) ParsePreTokenizer(JsonElement pre, string source)
    {
        const string Expected = "ByteLevel or Sequence[Split (Isolated)..., ByteLevel]";
        var type = pre.ValueKind == JsonValueKind.Object ? OptionalString(pre, "type", source) : null;
        if (type == "ByteLevel") { return ([], ByteLevelOptions(pre, source)); }
        if (type != "Sequence") { throw Unsupported(source, $"pre_tokenizer '{type ?? "null"}'", Expected); }
        var items = Expect(Property(pre, "pretokenizers"), JsonValueKind.Array, "'pre_tokenizer.pretokenizers'", source).EnumerateArray().ToList();
        var splits = new List<string>();
        for (var i = 0; i < items.Count; i++)
        {
            var itemType = items[i].ValueKind == JsonValueKind.Object ? OptionalString(items[i], "type", source) : null;
            if (itemType == "ByteLevel" && i == items.Count - 1) { return (splits, ByteLevelOptions(items[i], source)); }
            if (itemType != "Split") { throw Unsupported(source, $"pre_tokenizer Sequence item {i} '{itemType ?? "null"}'", Expected); }
            var behavior = OptionalString(items[i], "behavior", source);
            if (behavior != "Isolated") { throw Unsupported(source, $"Split behavior '{behavior}'", "Isolated"); }
            if (OptionalBool(items[i], "invert", source)) { throw Unsupported(source, "Split invert = true", "false"); }
            var pattern = Expect(Property(items[i], "pattern"), JsonValueKind.Object, "Split 'pattern'", source);
            splits.Add(OptionalString(pattern, "Regex", source) ?? Regex.Escape(OptionalString(pattern, "String", source)
                ?? throw Malformed(source, "Split pattern", "{\"Regex\": ...} or {\"String\": ...}")));
        }
        throw Unsupported(source, "pre_tokenizer Sequence without a final ByteLevel", Expected);
    }

    private static bool ByteLevelOptions(JsonElement byteLevel, string source)
    {
        if (OptionalBool(byteLevel, "add_prefix_space", source)) { throw Unsupported(source, "ByteLevel pre_tokenizer add_prefix_space = true", "false"); }
        return Property(byteLevel, "use_regex").ValueKind != JsonValueKind.False; // HF's default is true
    }

    private static JsonDocument Document(string json, string source)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not valid JSON ({e.Message})", e);
        }
    }

    private static JsonElement Property(JsonElement obj, string name) => obj.TryGetProperty(name, out var value) ? value : default;

    private static JsonElement Expect(JsonElement value, JsonValueKind kind, string what, string source) =>
        value.ValueKind == kind ? value : throw Malformed(source, what, $"a JSON {kind.ToString().ToLowerInvariant()}, found {value.ValueKind}");

    private static string? OptionalString(JsonElement obj, string name, string source) => Property(obj, name) switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
        _ => throw Malformed(source, $"'{name}'", "a string or null"),
    };

    private static bool OptionalBool(JsonElement obj, string name, string source) => Property(obj, name).ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False or JsonValueKind.Null or JsonValueKind.Undefined => false,
        _ => throw Malformed(source, $"'{name}'", "true or false"),
    };

    private static InvalidDataException Unsupported(string source, string feature, string expected) =>
        new($"{source}: unsupported tokenizer feature: {feature} (expected {expected})");

    private static InvalidDataException Malformed(string source, string what, string expected) =>
        new($"{source}: {what} is malformed; expected {expected}");

    private byte[] TokenizerJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            foreach (var t in _added)
            {
                w.WriteStartObject();
                w.WriteNumber("id", t.Id);
                w.WriteString("content", t.Content);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", !t.Special);
                w.WriteBoolean("special", t.Special);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (Nfc)
            {
                w.WriteStartObject("normalizer");
                w.WriteString("type", "NFC");
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("normalizer");
            }
            w.WritePropertyName("pre_tokenizer");
            if (_splitPatterns.Length == 0)
            {
                WriteByteLevel(w, addPrefixSpace: false, trimOffsets: true, ByteLevelUseRegex);
            }
            else
            {
                w.WriteStartObject();
                w.WriteString("type", "Sequence");
                w.WriteStartArray("pretokenizers");
                foreach (var pattern in _splitPatterns)
                {
                    w.WriteStartObject();
                    w.WriteString("type", "Split");
                    w.WriteStartObject("pattern");
                    w.WriteString("Regex", pattern);
                    w.WriteEndObject();
                    w.WriteString("behavior", "Isolated");
                    w.WriteBoolean("invert", false);
                    w.WriteEndObject();
                }
                WriteByteLevel(w, addPrefixSpace: false, trimOffsets: false, ByteLevelUseRegex);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            // The ByteLevel post-processor and decoder options only shape offsets and spaces HF never adds here.
            w.WritePropertyName("post_processor");
            WriteByteLevel(w, addPrefixSpace: true, trimOffsets: false, useRegex: true);
            w.WritePropertyName("decoder");
            WriteByteLevel(w, addPrefixSpace: true, trimOffsets: true, useRegex: true);
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteNull("continuing_subword_prefix");
            w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            foreach (var (token, id) in _vocab.OrderBy(e => e.Value)) { w.WriteNumber(token, id); }
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (var (left, right) in _merges)
            {
                w.WriteStartArray();
                w.WriteStringValue(left);
                w.WriteStringValue(right);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    private static void WriteByteLevel(Utf8JsonWriter w, bool addPrefixSpace, bool trimOffsets, bool useRegex)
    {
        w.WriteStartObject();
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", addPrefixSpace);
        w.WriteBoolean("trim_offsets", trimOffsets);
        w.WriteBoolean("use_regex", useRegex);
        w.WriteEndObject();
    }

    private byte[] ConfigJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteBoolean("add_bos_token", false);
            w.WriteBoolean("add_eos_token", false);
            foreach (var (name, value) in (ReadOnlySpan<(string, string?)>)[("bos_token", BosToken), ("eos_token", EosToken), ("pad_token", PadToken)])
            {
                if (value is null) { w.WriteNull(name); } else { w.WriteString(name, value); }
            }
            w.WriteBoolean("clean_up_tokenization_spaces", false);
            if (ModelMaxLength is { } max) { w.WriteNumber("model_max_length", max); }
            if (ChatTemplate is null) { w.WriteNull("chat_template"); } else { w.WriteString("chat_template", ChatTemplate); }
            w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
            w.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

}
