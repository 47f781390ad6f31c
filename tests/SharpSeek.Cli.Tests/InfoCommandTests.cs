// InfoCommandTests.cs: `sharpseek info` as a user runs it: DeepSeek's 671B / 37B figures, --json that parses, and exit
// code 1 with the message (no stack trace) for a missing file, an impossible config, a config too large to enumerate
// (10^6 layers, 10^9 experts: refused at once, not after gigabytes) and a key given twice.
using System.Text.Json;

namespace SharpSeek.Cli.Tests;

public sealed class InfoCommandTests
{
    [Fact]
    public void Info_671B_Prints671BTotalAnd37BActivated()
    {
        var (code, output) = CliTests.Run("info", "--config", "671B");
        Assert.Equal(0, code);
        Assert.Contains("671.0B total, 37.5B activated per token", output, StringComparison.Ordinal);
        Assert.Contains("671,026,419,200", output, StringComparison.Ordinal);
        Assert.Contains("11,610,068,224", output, StringComparison.Ordinal); // MTP unique
        Assert.Contains("45,808 weight_scale_inv", output, StringComparison.Ordinal);
        Assert.Contains("71.1x", output, StringComparison.Ordinal);
        Assert.DoesNotContain("warning", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_Json_ParsesWithTheSameFigures()
    {
        var (code, output) = CliTests.Run("info", "--config", "671B", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(671_026_419_200, root.GetProperty("total").GetInt64());
        Assert.Equal(37_552_297_472, root.GetProperty("activated").GetInt64());
        Assert.Equal(11_610_068_224, root.GetProperty("mtp").GetProperty("unique").GetInt64());
        Assert.Equal(35_136, root.GetProperty("kv_cache_per_token").GetProperty("mla_elements").GetInt64());
        Assert.Equal(2_498_560, root.GetProperty("kv_cache_per_token").GetProperty("mha_elements").GetInt64());
        Assert.Equal(root.GetProperty("total").GetInt64(),
            root.GetProperty("components").EnumerateObject().Sum(p => p.Value.GetInt64()));
    }

    [Fact]
    public void Info_PublishedDistillQwen_PrintsTheGqaShapeAndCounts()
    {
        var path = Path.Combine(LayeringTests.RepoRoot(), "tests", "data", "reference", "published", "DeepSeek-R1-Distill-Qwen-1.5B", "config.json");
        var (code, output) = CliTests.Run("info", "--config", path);
        Assert.Equal(0, code);
        Assert.Contains("qwen2, 28 dense layers, d=1536, vocab 151936, GQA 12 query / 2 kv heads of 128", output, StringComparison.Ordinal);
        Assert.Contains("1,777,088,000", output, StringComparison.Ordinal);
        Assert.Contains("GQA caches 6.0x less than MHA", output, StringComparison.Ordinal);
        Assert.Contains("GQA (2 kv heads, k and v)         14,336      28.0 KiB      56.0 KiB", output, StringComparison.Ordinal);
        Assert.DoesNotContain("router:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("warning", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_DefaultedKeys_AreOneWarningLineWithTheValuesTaken()
    {
        var path = WriteConfig(json => json.Replace("\"n_shared_experts\": 1,", "", StringComparison.Ordinal)
            .Replace("\"max_position_embeddings\": 256,", "", StringComparison.Ordinal));
        try
        {
            var (code, output) = CliTests.Run("info", "--config", path);
            Assert.Equal(0, code);
            var lines = output.Split('\n').Where(l => l.StartsWith("warning:", StringComparison.Ordinal)).ToArray();
            var line = Assert.Single(lines);
            Assert.Contains("using the deepseek_v3 defaults: ", line, StringComparison.Ordinal);
            Assert.Contains("n_shared_experts = 1", line, StringComparison.Ordinal);
            Assert.Contains("max_position_embeddings = 4096", line, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Info_UnknownKey_IsAWarning()
    {
        var path = WriteConfig(json => json.Replace("\"vocab_size\"", "\"brand_new_key\": 7, \"vocab_size\"", StringComparison.Ordinal));
        try
        {
            var (code, output) = CliTests.Run("info", "--config", path);
            Assert.Equal(0, code);
            Assert.Contains("warning: unknown config key 'brand_new_key'", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Info_MissingFile_ExitsOneWithTheName()
    {
        var (code, output) = CliTests.Run("info", "--config", "/no/such/config.json");
        Assert.Equal(1, code);
        Assert.Contains("/no/such/config.json", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_InvalidConfig_ExitsOneNamingTheField()
    {
        var path = WriteConfig(json => json.Replace("\"kv_lora_rank\": 16", "\"kv_lora_rank\": 0", StringComparison.Ordinal));
        try
        {
            var (code, output) = CliTests.Run("info", "--config", path);
            Assert.Equal(1, code);
            Assert.Contains("'kv_lora_rank' = 0", output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("\"num_hidden_layers\": 3", "\"num_hidden_layers\": 1000000", "num_hidden_layers = 1000000")]
    [InlineData("\"n_routed_experts\": 8", "\"n_routed_experts\": 1000000000", "n_routed_experts = 1000000000")]
    [InlineData("\"hidden_size\": 32", "\"hidden_size\": 32, \"hidden_size\": 64", "Duplicate property 'hidden_size'")]
    public void Info_HugeOrDuplicatedConfig_ExitsOneNamingFileAndField(string find, string replace, string expected)
    {
        var path = WriteConfig(json => json.Replace(find, replace, StringComparison.Ordinal));
        try
        {
            var (code, output) = CliTests.Run("info", "--config", path);
            Assert.Equal(1, code);
            Assert.StartsWith($"error: {path}: ", output, StringComparison.Ordinal);
            Assert.Contains(expected, output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    // tiny.json from configs/, edited, in a temporary file.
    private static string WriteConfig(Func<string, string> edit)
    {
        var text = File.ReadAllText(Path.Combine(LayeringTests.RepoRoot(), "configs", "tiny.json"));
        var edited = edit(text);
        Assert.NotEqual(text, edited);
        var path = Path.Combine(Path.GetTempPath(), $"sharpseek-info-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, edited);
        return path;
    }
}
