// R1CommandTests.cs: `sharpseek r1` lists its options, and exits with 1 naming the problem for a base that is not a
// model directory and for an unknown task, before any stage runs. (The stages themselves: R1PipelineTests.)
namespace SharpSeek.Cli.Tests;

public sealed class R1CommandTests
{
    [Fact]
    public void Help_ListsTheOptions()
    {
        var (code, output) = CliTests.Run("r1", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--base", "--out", "--task", "--rl-steps", "--final-rl-steps", "--rejection-samples", "--non-reasoning", "--eval-samples" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void BadInput_ExitsWithOne_NamingTheProblem()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-cli-r1-{Guid.NewGuid():N}");
        var (code, output) = CliTests.Run("r1", "--base", dir, "--out", dir);
        Assert.Equal(1, code);
        Assert.Contains($"--base '{dir}' is not a model directory", output, StringComparison.Ordinal);
        (code, output) = CliTests.Run("r1", "--base", TrainedRun.Directory, "--out", dir, "--task", "algebra");
        Assert.Equal(1, code);
        Assert.Contains("unknown task 'algebra'", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
    }
}
