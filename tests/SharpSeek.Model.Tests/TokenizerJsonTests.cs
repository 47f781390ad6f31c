// TokenizerJsonTests.cs: HF tokenizer.json in and out: a hand-written file (both merges spellings, an added token, GPT-2
// and Sequence[Split, ByteLevel] pre-tokenizers, NFC) gives ids worked out by hand; save -> load encodes identically;
// unsupported features fail naming the feature; add_bos_token decides a prompt's first id. Not here: encoding details
// (TokenizerTests).
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Model.Tests;

public sealed class TokenizerJsonTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"sharpseek-tok-{Guid.NewGuid():N}");

    public TokenizerJsonTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Byte symbols take ids 0..255 in byte order; merges by rank: he(256) ll(257) hell(258) Ġh(259, never reachable
    // in "hello": he ranks first) hello(260) Ã©="é"(261) 34(262). The added token <|end|> has id 300, outside the vocab.
    private static JsonObject HandWritten(JsonNode? preTokenizer = null, JsonNode? normalizer = null)
    {
        var vocab = new JsonObject();
        for (var b = 0; b < 256; b++) { vocab[TokenizerTests.ByteSymbol(b)] = b; }
        string[] merged = ["he", "ll", "hell", "Ġh", "hello", "Ã©", "34"];
        for (var i = 0; i < merged.Length; i++) { vocab[merged[i]] = 256 + i; }
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(new JsonObject
            {
                ["id"] = 300,
                ["content"] = "<|end|>",
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = true,
            }),
            ["normalizer"] = normalizer,
            ["pre_tokenizer"] = preTokenizer ?? new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray("h e", new JsonArray("l", "l"), "he ll", new JsonArray("Ġ", "h"), "hell o", new JsonArray("Ã", "©"), "3 4"),
            },
        };
    }

    private static JsonObject SplitThenByteLevel(params string[] patterns)
    {
        var items = new JsonArray();
        foreach (var p in patterns)
        {
            items.Add(new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = p }, ["behavior"] = "Isolated", ["invert"] = false });
        }
        items.Add(new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false });
        return new JsonObject { ["type"] = "Sequence", ["pretokenizers"] = items };
    }

    private ByteLevelBpe Write(JsonNode json, string? config = null)
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), json.ToJsonString());
        if (config is not null) { File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), config); }
        return ByteLevelBpe.Load(_dir);
    }

    [Fact]
    public void Load_HandWrittenGpt2Layout_GivesHandComputedIds()
    {
        var bpe = Write(HandWritten());
        // "hello" -> he, ll, hell, hello; " hello" -> Ġ + hello (Ġh has a worse rank than he); "<|end|>" whole;
        // "\n" -> byte 10; "café" -> c a f + é (Ã©); "12345" is one GPT-2 piece, so 3 and 4 merge.
        int[] expected = [260, 32, 260, 300, 10, 99, 97, 102, 261, 32, 49, 50, 262, 53];
        Assert.Equal(expected, bpe.Encode("hello hello<|end|>\ncafé 12345"));
        Assert.Equal("hello hello<|end|>\ncafé 12345", bpe.Decode(expected));
        Assert.Equal(301, bpe.VocabSize);
        Assert.Equal(7, bpe.Merges.Count);
        Assert.Equal(("Ã", "©"), bpe.Merges[5]);
        Assert.Equal(300, bpe.TokenToId("<|end|>"));
        Assert.Equal("Ġh", bpe.IdToToken(259));
        Assert.Null(bpe.TokenToId("hello world"));
        Assert.Null(bpe.BosId);
    }

    [Fact]
    public void Load_SplitSequence_KeepsGapsAndSplitsInOrder()
    {
        // Split 1 isolates runs of up to 3 digits ("123" | "45" | " ab" kept as the gap); split 2 then cuts " ab" again.
        var bpe = Write(HandWritten(SplitThenByteLevel(@"\p{N}{1,3}", @" ?\p{L}+|\s+")));
        Assert.Equal([49, 50, 51, 52, 53, 32, 97, 98, 32, 260], bpe.Encode("12345 ab hello"));
        Assert.Equal([@"\p{N}{1,3}", @" ?\p{L}+|\s+"], bpe.SplitPatterns);
        Assert.False(bpe.ByteLevelUseRegex);
    }

    // The build keeps ICU on (no InvariantGlobalization) so that an NFC normalizer composes e + U+0301 into é, as HF does.
    [Fact]
    public void Load_NfcNormalizer_Composes()
    {
        var bpe = Write(HandWritten(normalizer: new JsonObject { ["type"] = "NFC" }));
        Assert.True(bpe.Nfc);
        int[] raw = [99, 97, 102, 101, 0xCC, 0x81];
        Assert.Equal(raw, Write(HandWritten()).Encode("cafe\u0301"));
        Assert.Equal([99, 97, 102, 261], bpe.Encode("cafe\u0301"));
    }

    [Fact]
    public void Load_TokenizerConfig_ReadsStringAndObjectSpellings()
    {
        const string Config = """{"bos_token": {"__type": "AddedToken", "content": "<|end|>"}, "eos_token": "<|end|>", "pad_token": null, "model_max_length": 1e30}""";
        var bpe = Write(HandWritten(), Config);
        Assert.Equal(300, bpe.BosId);
        Assert.Equal(300, bpe.EosId);
        Assert.Null(bpe.PadId);
        Assert.Null(bpe.ModelMaxLength);
    }

    [Fact]
    public void SaveLoad_EncodesIdentically()
    {
        var trained = BpeTrainer.Train(TokenizerCorpus.Generate(seed: 3, lines: 1500), 500, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek with { ModelMaxLength = 4096 });
        trained.Save(_dir);
        var loaded = ByteLevelBpe.Load(Path.Combine(_dir, "tokenizer.json"));
        Assert.Equal(trained.Merges, loaded.Merges);
        Assert.Equal(trained.AddedTokens, loaded.AddedTokens);
        Assert.Equal(trained.VocabSize, loaded.VocabSize);
        Assert.Equal((trained.BosId, trained.EosId, trained.PadId, 4096), (loaded.BosId, loaded.EosId, loaded.PadId, loaded.ModelMaxLength));
        var random = new Random(5);
        var texts = TokenizerCorpus.Generate(seed: 4, lines: 100).Concat(Enumerable.Range(0, 100).Select(_ => TokenizerCorpus.RandomString(random, 30)))
            .Append($"{DeepSeekTokens.User}hi{DeepSeekTokens.Assistant}{DeepSeekTokens.Think}\n");
        foreach (var text in texts) { Assert.Equal(trained.Encode(text), loaded.Encode(text)); }
        Assert.Equal(["tokenizer.json", "tokenizer_config.json"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Save_WritesHfLayout()
    {
        var trained = BpeTrainer.Train(TokenizerCorpus.Generate(seed: 3, lines: 300), 300, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek);
        trained.Save(_dir);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "tokenizer.json")));
        var root = doc.RootElement;
        Assert.Equal("1.0", root.GetProperty("version").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("normalizer").ValueKind);
        Assert.Equal("Sequence", root.GetProperty("pre_tokenizer").GetProperty("type").GetString());
        Assert.Equal("ByteLevel", root.GetProperty("decoder").GetProperty("type").GetString());
        var model = root.GetProperty("model");
        Assert.Equal("BPE", model.GetProperty("type").GetString());
        Assert.Equal(trained.Merges.Count, model.GetProperty("merges").GetArrayLength());
        Assert.Equal(2, model.GetProperty("merges")[0].GetArrayLength());
        Assert.Equal(trained.VocabSize, model.GetProperty("vocab").EnumerateObject().Count());
        var bos = root.GetProperty("added_tokens").EnumerateArray().Single(t => t.GetProperty("content").GetString() == DeepSeekTokens.Bos);
        Assert.True(bos.GetProperty("special").GetBoolean());
        Assert.Equal(trained.BosId, bos.GetProperty("id").GetInt32());
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "tokenizer_config.json")));
        Assert.Equal(DeepSeekTokens.Eos, config.RootElement.GetProperty("eos_token").GetString());
        Assert.Equal(DeepSeekChatTemplate.Source, config.RootElement.GetProperty("chat_template").GetString());
        Assert.Equal(DeepSeekChatTemplate.Source, ByteLevelBpe.Load(_dir).ChatTemplate);
    }

    [Theory]
    [InlineData("model type 'Unigram'", "model", "type", "\"Unigram\"")]
    [InlineData("model type 'WordPiece'", "model", "type", "\"WordPiece\"")]
    [InlineData("model.byte_fallback", "model", "byte_fallback", "true")]
    [InlineData("model.continuing_subword_prefix '##'", "model", "continuing_subword_prefix", "\"##\"")]
    [InlineData("normalizer 'Lowercase'", null, "normalizer", """{"type": "Lowercase"}""")]
    [InlineData("pre_tokenizer 'Metaspace'", null, "pre_tokenizer", """{"type": "Metaspace", "replacement": "▁"}""")]
    [InlineData("add_prefix_space", null, "pre_tokenizer", """{"type": "ByteLevel", "add_prefix_space": true}""")]
    [InlineData("Split behavior 'Removed'", null, "pre_tokenizer", """{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Removed", "invert": false}, {"type": "ByteLevel"}]}""")]
    [InlineData("decoder 'WordPiece'", null, "decoder", """{"type": "WordPiece"}""")]
    public void Load_UnsupportedFeature_FailsNamingIt(string feature, string? parent, string key, string value)
    {
        var json = HandWritten();
        var target = parent is null ? json : json[parent]!.AsObject();
        target[key] = JsonNode.Parse(value);
        var e = Assert.Throws<InvalidDataException>(() => Write(json));
        Assert.Contains("unsupported tokenizer feature", e.Message, StringComparison.Ordinal);
        Assert.Contains(feature, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_AddedTokenStripOption_FailsNamingIt()
    {
        var json = HandWritten();
        json["added_tokens"]![0]!["lstrip"] = true;
        var e = Assert.Throws<InvalidDataException>(() => Write(json));
        Assert.Contains("added token '<|end|>' option lstrip", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MergeOutsideVocab_FailsNamingTheMerge()
    {
        var json = HandWritten();
        json["model"]!["merges"]!.AsArray().Add("x y");
        var e = Assert.Throws<InvalidDataException>(() => Write(json));
        Assert.Contains("merge 7 ('x' 'y') needs 'xy'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingByteSymbol_FailsNamingTheByte()
    {
        var json = HandWritten();
        json["model"]!["vocab"]!.AsObject().Remove("Ċ");
        var e = Assert.Throws<InvalidDataException>(() => Write(json));
        Assert.Contains("byte 0x0A", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"model": {"type": "BPE", "vocab": [], "merges": []}}""", "'model.vocab' is malformed")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": "1"}, "merges": []}}""", "model.vocab['a'] is malformed")]
    [InlineData("{\"model\": ", "not valid JSON")]
    public void Load_MalformedFile_FailsNamingTheField(string text, string expected)
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), text);
        var e = Assert.Throws<InvalidDataException>(() => ByteLevelBpe.Load(_dir));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_NamesThePath()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ByteLevelBpe.Load(Path.Combine(_dir, "nope")));
        Assert.Contains("nope", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EncodePrompt_StartsWithBosWhenTheConfigAddsIt_ElseEos(bool addBos)
    {
        Directory.CreateDirectory(_dir);
        File.Copy(Path.Combine(Repo.Root, "tests", "data", "tokenizer", "trained.tokenizer.json"), Path.Combine(_dir, "tokenizer.json"));
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), new JsonObject
        {
            ["bos_token"] = "<｜begin▁of▁sentence｜>",
            ["eos_token"] = "<｜end▁of▁sentence｜>",
            ["add_bos_token"] = addBos,
        }.ToJsonString());
        var bpe = ByteLevelBpe.Load(_dir);
        Assert.Equal(addBos, bpe.AddBosToken);
        var ids = bpe.EncodePrompt("hello");
        Assert.Equal(addBos ? bpe.BosId : bpe.EosId, ids[0]);
        Assert.Equal(bpe.Encode("hello"), ids[1..]);
    }
}
