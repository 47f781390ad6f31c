// DistillCommandTests.cs: `sharpseek distill` and its `data` and `train` halves list their options, and exit with 1
// naming the problem, before any work, for a teacher that is not a model directory, a mode that needs data without
// it, on-policy without a step count, and (after the first problems) a teacher that solves none of the task.
// (Distillation itself: the Rl project's DistillTests.)
namespace SharpSeek.Cli.Tests;

public sealed class DistillCommandTests
{
    [Theory]
    [InlineData("distill", "--teacher --student --out --task --samples --mode --top-logprobs --non-reasoning --resume")]
    [InlineData("distill data", "--teacher --data --task --problems --samples --temperature --top-p --top-logprobs")]
    [InlineData("distill train", "--teacher --student --data --out --mode --kl-weight --prompts --generations --steps --resume")]
    public void Help_ListsTheOptions(string command, string options)
    {
        var (code, output) = CliTests.Run([.. command.Split(' '), "--help"]);
        Assert.Equal(0, code);
        foreach (var option in options.Split(' ')) { Assert.Contains(option, output, StringComparison.Ordinal); }
    }

    [Fact]
    public void BadInput_ExitsWithOne_NamingTheProblem()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-cli-distill-{Guid.NewGuid():N}");
        try
        {
            var (code, output) = CliTests.Run("distill", "data", "--teacher", dir, "--data", Path.Combine(dir, "d.jsonl"));
            Assert.Equal(1, code);
            Assert.Contains($"--teacher '{dir}' is not a model directory", output, StringComparison.Ordinal);

            (code, output) = CliTests.Run("distill", "train", "--teacher", TrainedRun.Directory, "--student", TrainedRun.Directory, "--out", dir, "--mode", "logits");
            Assert.Equal(1, code);
            Assert.Contains("--mode logits trains on the teacher's data: --data is required", output, StringComparison.Ordinal);

            (code, output) = CliTests.Run("distill", "train", "--teacher", TrainedRun.Directory, "--student", TrainedRun.Directory, "--out", dir, "--mode", "on-policy");
            Assert.Equal(1, code);
            Assert.Contains("give --steps", output, StringComparison.Ordinal);
            Assert.False(Directory.Exists(dir));

            (code, output) = CliTests.Run("distill", "data", "--teacher", TrainedRun.Directory, "--data", Path.Combine(dir, "d.jsonl"), "--task", "add:1", "--template", "plain", "--problems", "4", "--samples", "2", "--max-new-tokens", "8");
            Assert.Equal(1, code);
            Assert.Contains("kept no sample of the first 4 problems", output, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(dir, "d.jsonl")));
        }
        finally
        {
            if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); }
        }
    }
}
