// SftCommandTests.cs: `sharpseek sft` from the shared tiny trained run: built-in tasks' worked solutions as the data, the
// run directory as a model directory with its packed data, --resume to a later step, and exit code 1 naming the problem
// for a missing --model, a bad JSONL line and examples that fit no window.
namespace SharpSeek.Cli.Tests;

public sealed class SftCommandTests
{
    private static string NewDir() => Path.Combine(Path.GetTempPath(), $"sharpseek-cli-sft-{Guid.NewGuid():N}");

    private static string[] Args(string dir, string data, int steps, int seqLen = 256) =>
        ["sft", "--model", TrainedRun.Directory, "--out", dir, "--data", data, "--template", "plain", "--examples", "60", "--steps", $"{steps}",
         "--seq-len", $"{seqLen}", "--micro-batch", "2", "--batch-tokens", $"{2 * seqLen}", "--eval-every", "1"];

    [Fact]
    public void Help_ListsTheOptions()
    {
        var (code, output) = CliTests.Run("sft", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--model", "--data", "--template", "--examples", "--epochs", "--seq-len", "--resume" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Sft_TrainsAndResumes()
    {
        var dir = NewDir();
        try
        {
            var (code, output) = CliTests.Run(Args(dir, "add:1", 1));
            Assert.True(code == 0, output);
            Assert.Contains("sft data: ", output, StringComparison.Ordinal);
            Assert.Contains("finished at step 1", output, StringComparison.Ordinal);
            foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json", "trainer_state.json", "data/train.tokens", "data/eval.tokens" })
            {
                Assert.True(File.Exists(Path.Combine(dir, file)), $"{file} missing");
            }
            (code, output) = CliTests.Run("sft", "--out", dir, "--resume", "--steps", "2");
            Assert.True(code == 0, output);
            Assert.Contains("finished at step 2", output, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); }
        }
    }

    [Fact]
    public void BadInput_ExitsWithOne_NamingTheProblem()
    {
        var (code, output) = CliTests.Run("sft", "--data", "add:1", "--out", NewDir());
        Assert.Equal(1, code);
        Assert.Contains("--model", output, StringComparison.Ordinal);

        var file = Path.Combine(Path.GetTempPath(), $"sharpseek-sft-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(file, ["""{"prompt": "a", "completion": "b"}""", """{"prompt": "a"}"""]);
        try
        {
            (code, output) = CliTests.Run(Args(NewDir(), file, 1));
            Assert.Equal(1, code);
            Assert.Contains($"{file}:2: a \"prompt\" line needs a non-empty string \"completion\"", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
        var dir = NewDir();
        (code, output) = CliTests.Run(Args(dir, "add:1", 1, seqLen: 4));
        Assert.Equal(1, code);
        Assert.Contains("no training example fits --seq-len 4", output, StringComparison.Ordinal);
        if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); }
    }
}
