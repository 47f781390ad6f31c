// ForwardCommandTests.cs: `sharpseek forward` on golden checkpoints (DeepSeek FP8, sharded Qwen2, Llama) matches the
// PyTorch reference's logits, writes --output atomically, and fails with exit code 1 and a message on bad input (more
// ids than max_position_embeddings too).
using System.Text.Json;

namespace SharpSeek.Cli.Tests;

public sealed class ForwardCommandTests
{
    private static string Variant(string name) => Path.Combine(LayeringTests.RepoRoot(), "tests", "data", "reference", name);

    [Theory]
    [InlineData("fp8")]
    [InlineData("qwen2_f32")]
    [InlineData("llama_f32")]
    public void Forward_WritesTheReferenceLogits(string variant)
    {
        var dir = Variant(variant);
        var ids = JsonSerializer.Deserialize<int[]>(File.ReadAllText(Path.Combine(dir, "tokens.json")))!;
        var output = Path.Combine(Path.GetTempPath(), $"sharpseek-forward-{Guid.NewGuid():N}.json");
        try
        {
            var (code, text) = CliTests.Run("forward", "--model", dir, "--tokens", string.Join(',', ids), "--output", output);
            Assert.True(code == 0, text);
            using var got = JsonDocument.Parse(File.ReadAllText(output));
            using var want = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
            foreach (var key in variant == "fp8" ? new[] { "logits", "mtp_logits" } : ["logits"])
            {
                var g = got.RootElement.GetProperty(key);
                var w = want.RootElement.GetProperty(key);
                Assert.Equal(w.GetArrayLength(), g.GetArrayLength());
                for (var r = 0; r < w.GetArrayLength(); r++)
                {
                    Assert.Equal(w[r].GetArrayLength(), g[r].GetArrayLength());
                    for (var j = 0; j < w[r].GetArrayLength(); j++)
                    {
                        var diff = Math.Abs(g[r][j].GetDouble() - w[r][j].GetDouble());
                        Assert.True(diff <= 1e-4, $"{key}[{r}][{j}] differs by {diff}");
                    }
                }
            }
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Theory]
    [InlineData("1,x,3", "comma-separated integers")]
    [InlineData("1,100000", "outside the vocabulary")]
    public void BadTokens_ExitOneWithAMessage(string tokens, string expected)
    {
        var (code, text) = CliTests.Run("forward", "--model", Variant("qlora_f32"), "--tokens", tokens);
        Assert.Equal(1, code);
        Assert.Contains(expected, text, StringComparison.Ordinal);
    }

    [Fact]
    public void MoreTokensThanTheContext_ExitsOneNamingConfigJson()
    {
        var dir = Variant("qlora_f32");
        var (code, text) = CliTests.Run("forward", "--model", dir, "--tokens", string.Join(',', Enumerable.Repeat(1, 65)));
        Assert.Equal(1, code);
        Assert.Contains($"--tokens has 65 ids but the context holds 64 (max_position_embeddings in {Path.Combine(dir, "config.json")})", text, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingModelDirectory_ExitsOne()
    {
        var (code, text) = CliTests.Run("forward", "--model", Path.Combine(Path.GetTempPath(), "no-such-sharpseek-model"), "--tokens", "1,2");
        Assert.Equal(1, code);
        Assert.Contains("error:", text, StringComparison.Ordinal);
    }
}
