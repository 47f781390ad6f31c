// RlCommandTests.cs: `sharpseek rl` from the shared tiny trained run: one line per step with rewards, lengths and timing,
// the run directory (a model directory with metrics and completions), --resume to a later step, `plot` of the run's
// reward, length and KL, and exit code 1 naming
// the problem for a missing --model, G < 2 and an unknown task.
namespace SharpSeek.Cli.Tests;

public sealed class RlCommandTests
{
    private static string[] Args(string dir, int steps) =>
        ["rl", "--model", TrainedRun.Directory, "--out", dir, "--task", "add:1", "--template", "plain", "--steps", $"{steps}", "--prompts", "2", "--generations", "3",
         "--max-new-tokens", "8", "--micro-batch", "6", "--truncated", "keep", "--checkpoint-every", "1", "--log-completions-every", "1"];

    [Fact]
    public void Help_ListsTheOptions()
    {
        var (code, output) = CliTests.Run("rl", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--model", "--task", "--generations", "--loss", "--beta", "--clip-high", "--dynamic-sampling", "--truncated", "--resume" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Rl_RunsStepsAndResumes()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-cli-rl-{Guid.NewGuid():N}");
        try
        {
            var (code, output) = CliTests.Run(Args(dir, 1));
            Assert.True(code == 0, output);
            Assert.Contains("step 1/1", output, StringComparison.Ordinal);
            Assert.Contains("acc ", output, StringComparison.Ordinal);
            Assert.Contains("Δlogp", output, StringComparison.Ordinal);
            foreach (var file in new[] { "config.json", "model.safetensors", "optimizer.safetensors", "tokenizer.json", "rl_state.json", "rl_metrics.jsonl", "completions.jsonl" })
            {
                Assert.True(File.Exists(Path.Combine(dir, file)), $"{file} missing");
            }
            (code, output) = CliTests.Run([.. Args(dir, 2), "--resume"]);
            Assert.True(code == 0, output);
            Assert.Contains("step 2/2", output, StringComparison.Ordinal);
            Assert.DoesNotContain("step 1/", output, StringComparison.Ordinal);
            Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "rl_metrics.jsonl")).Length);
            (code, output) = CliTests.Run("plot", dir);
            Assert.True(code == 0, output);
            foreach (var png in new[] { "reward.png", "length.png", "kl.png" }) { Assert.True(new FileInfo(Path.Combine(dir, "plots", png)).Length > 1000, png); }
        }
        finally
        {
            if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); }
        }
    }

    [Fact]
    public void BadInput_ExitsWithOne_NamingTheProblem()
    {
        var (code, output) = CliTests.Run("rl", "--out", Path.Combine(Path.GetTempPath(), $"sharpseek-cli-rl-{Guid.NewGuid():N}"));
        Assert.Equal(1, code);
        Assert.Contains("--model", output, StringComparison.Ordinal);
        (code, output) = CliTests.Run("rl", "--model", TrainedRun.Directory, "--generations", "1", "--out", Path.Combine(Path.GetTempPath(), $"sharpseek-cli-rl-{Guid.NewGuid():N}"));
        Assert.Equal(1, code);
        Assert.Contains("at least 2", output, StringComparison.Ordinal);
        (code, output) = CliTests.Run("rl", "--model", TrainedRun.Directory, "--task", "poetry", "--out", Path.Combine(Path.GetTempPath(), $"sharpseek-cli-rl-{Guid.NewGuid():N}"));
        Assert.Equal(1, code);
        Assert.Contains("unknown task 'poetry'", output, StringComparison.Ordinal);
    }
}
