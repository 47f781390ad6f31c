// GenerateCommandTests.cs: `sharpseek generate` on a trained run directory: the prompt is echoed, sampling is
// deterministic for a seed and changes with it, and bad input exits 1 with a message.
namespace SharpSeek.Cli.Tests;

public sealed class GenerateCommandTests
{
    [Fact]
    public void Generate_IsDeterministicForASeed()
    {
        string[] args = ["generate", "--model", TrainedRun.Directory, "--prompt", "Add 15 and 27.", "--max-new-tokens", "24", "--temperature", "1.5"];
        var (code, first) = CliTests.Run([.. args, "--seed", "3"]);
        Assert.True(code == 0, first);
        Assert.StartsWith("Add 15 and 27.", first, StringComparison.Ordinal);
        var (_, again) = CliTests.Run([.. args, "--seed", "3"]);
        Assert.Equal(first, again);
        var others = Enumerable.Range(4, 3).Select(seed => CliTests.Run([.. args, "--seed", $"{seed}"]).Output).ToList();
        Assert.Contains(others, o => o != first);
    }

    [Theory]
    [InlineData("--temperature must be ≥ 0", "--temperature", "-1")]
    [InlineData("--max-new-tokens must be ≥ 0", "--max-new-tokens", "-2")]
    public void BadOptions_ExitOne(string expected, params string[] extra)
    {
        var (code, output) = CliTests.Run(["generate", "--model", TrainedRun.Directory, "--prompt", "hi", .. extra]);
        Assert.Equal(1, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingModel_ExitsOne()
    {
        var (code, output) = CliTests.Run("generate", "--model", Path.Combine(Path.GetTempPath(), "no-such-sharpseek-model"), "--prompt", "hi");
        Assert.Equal(1, code);
        Assert.Contains("tokenizer.json", output, StringComparison.Ordinal);
    }
}
