// TrainCommandTests.cs: `sharpseek train` end to end on the tiny preset (plain progress lines when not a terminal, the
// run directory, sample completions), --resume of a finished run extended by --steps, and exit code 1 with a message
// for a bad --config, --steps 0, an unknown --precision, an FP8 recipe without fp8 or with an unknown choice, and --resume of nothing; a dense Qwen2 config trains from scratch, then `forward` and
// `generate` run on the run directory (also with --dtype bf16 and fp8), and `--init` fine-tunes
// from it (its weights and tokenizer; a directory without a tokenizer is refused).
namespace SharpSeek.Cli.Tests;

public sealed class TrainCommandTests
{
    [Fact]
    public void Help_ListsTheOptions()
    {
        var (code, output) = CliTests.Run("train", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--config", "--data", "--out", "--steps", "--batch-tokens", "--seq-len", "--lr", "--seed", "--resume" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Train_TinyPreset_PrintsProgressAndSamplesAndWritesTheRun()
    {
        var output = TrainedRun.Output;
        Assert.Contains($"step 1/{TrainedRun.Steps}", output, StringComparison.Ordinal);
        Assert.Contains($"step {TrainedRun.Steps}/{TrainedRun.Steps}", output, StringComparison.Ordinal);
        Assert.Contains("tok/s", output, StringComparison.Ordinal);
        Assert.Contains("ETA", output, StringComparison.Ordinal);
        Assert.Contains($"finished at step {TrainedRun.Steps}", output, StringComparison.Ordinal);
        Assert.Contains("sample completions", output, StringComparison.Ordinal);
        Assert.Contains("--- prompt: ", output, StringComparison.Ordinal);
        foreach (var file in new[] { "config.json", "model.safetensors", "optimizer.safetensors", "tokenizer.json", "tokenizer_config.json", "trainer_state.json", "metrics.jsonl" })
        {
            Assert.True(File.Exists(Path.Combine(TrainedRun.Directory, file)), $"{file} missing");
        }
        Assert.Equal(TrainedRun.Steps, File.ReadAllLines(Path.Combine(TrainedRun.Directory, "metrics.jsonl")).Length);
    }

    [Fact]
    public void Resume_ExtendsAFinishedRun()
    {
        var copy = Path.Combine(Path.GetTempPath(), $"sharpseek-cli-resume-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(copy);
            foreach (var file in Directory.GetFiles(TrainedRun.Directory)) { File.Copy(file, Path.Combine(copy, Path.GetFileName(file))); }
            Directory.CreateDirectory(Path.Combine(copy, "data"));
            foreach (var file in Directory.GetFiles(Path.Combine(TrainedRun.Directory, "data"))) { File.Copy(file, Path.Combine(copy, "data", Path.GetFileName(file))); }

            var (code, output) = CliTests.Run("train", "--out", copy, "--resume", "--steps", $"{TrainedRun.Steps + 2}");
            Assert.True(code == 0, output);
            Assert.Contains($"steps {TrainedRun.Steps + 1} .. {TrainedRun.Steps + 2}", output, StringComparison.Ordinal);
            Assert.Equal(TrainedRun.Steps + 2, File.ReadAllLines(Path.Combine(copy, "metrics.jsonl")).Length);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Theory]
    [InlineData("no config file or preset named 'huge'", "--config", "huge", "--steps", "1")]
    [InlineData("steps must be at least 1", "--config", "tiny", "--steps", "0")]
    [InlineData("multiple of micro-batch", "--config", "tiny", "--batch-tokens", "1000")]
    [InlineData("Argument 'fp4' not recognized. Must be one of", "--config", "tiny", "--precision", "fp4")]
    [InlineData("an FP8 recipe ('exact') needs precision fp8; got fp32", "--config", "tiny", "--fp8-recipe", "exact")]
    [InlineData("unknown FP8 recipe choice 'fast'", "--config", "tiny", "--precision", "fp8", "--fp8-recipe", "exact,fast")]
    public void BadInput_ExitsOneWithAMessage(string expected, params string[] args)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-cli-bad-{Guid.NewGuid():N}");
        try
        {
            var (code, output) = CliTests.Run(["train", "--out", dir, .. args]);
            Assert.Equal(1, code);
            Assert.Contains(expected, output, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(dir, "trainer_state.json")));
        }
        finally
        {
            if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); }
        }
    }

    [Fact]
    public void Resume_WithoutARun_ExitsOne()
    {
        var (code, output) = CliTests.Run("train", "--out", Path.Combine(Path.GetTempPath(), $"sharpseek-no-run-{Guid.NewGuid():N}"), "--resume");
        Assert.Equal(1, code);
        Assert.Contains("nothing to resume", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_DenseQwen2FromScratch_ThenForwardAndGenerateOnTheRun()
    {
        // the reference's tiny qwen2 with room for the sample prompts train prints at the end
        var text = File.ReadAllText(Path.Combine(LayeringTests.RepoRoot(), "tests", "data", "reference", "qwen2_f32", "config.json"));
        var config = Path.Combine(Path.GetTempPath(), $"sharpseek-qwen2-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, text.Replace("\"max_position_embeddings\": 64", "\"max_position_embeddings\": 512", StringComparison.Ordinal));
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-dense-{Guid.NewGuid():N}");
        var tuned = dir + "-tuned";
        try
        {
            var (code, output) = CliTests.Run("train", "--config", config, "--out", dir, "--steps", "4", "--documents", "60",
                "--seq-len", "32", "--micro-batch", "2", "--batch-tokens", "128", "--eval-every", "4", "--checkpoint-every", "4", "--lr", "3e-3", "--warmup", "1");
            Assert.True(code == 0, output);
            Assert.Contains("finished at step 4", output, StringComparison.Ordinal);
            Assert.Contains("sample completions (greedy):", output, StringComparison.Ordinal);
            var saved = SharpSeek.Model.ModelConfig.Load(dir);
            Assert.Equal(SharpSeek.Model.ModelFamily.Qwen2, saved.Family);
            Assert.True(saved.TieWordEmbeddings);

            (code, output) = CliTests.Run("forward", "--model", dir, "--tokens", "1,2,3");
            Assert.True(code == 0, output);
            Assert.Contains("\"logits\"", output, StringComparison.Ordinal);

            (code, output) = CliTests.Run("generate", "--model", dir, "--prompt", "Question: 2 + 3", "--max-new-tokens", "8", "--json");
            Assert.True(code == 0, output);
            Assert.Contains("\"finish_reason\"", output, StringComparison.Ordinal);

            // Fine-tuning from the run: it starts from its weights (a lower first loss than from scratch) and tokenizer.
            var firstLoss = FirstLoss(output: File.ReadAllText(Path.Combine(dir, "metrics.jsonl")));
            (code, output) = CliTests.Run("train", "--init", dir, "--out", tuned, "--steps", "2", "--documents", "60", "--seed", "5",
                "--seq-len", "32", "--micro-batch", "2", "--batch-tokens", "128", "--eval-every", "0", "--checkpoint-every", "2", "--lr", "1e-3", "--warmup", "1");
            Assert.True(code == 0, output);
            Assert.Contains($"fine-tuning qwen2 from {dir}", output, StringComparison.Ordinal);
            Assert.True(FirstLoss(File.ReadAllText(Path.Combine(tuned, "metrics.jsonl"))) < firstLoss - 0.1, output);
            Assert.Equal(File.ReadAllText(Path.Combine(dir, "tokenizer.json")), File.ReadAllText(Path.Combine(tuned, "tokenizer.json")));

            // A model directory without a tokenizer cannot be fine-tuned on text.
            File.Delete(Path.Combine(tuned, "tokenizer.json"));
            (code, output) = CliTests.Run("train", "--init", tuned, "--out", tuned + "-again", "--steps", "1");
            Assert.Equal(1, code);
            Assert.Contains("has no tokenizer.json", output, StringComparison.Ordinal);

            // The dense model in BF16 and FP8: its projections read through low-precision views.
            foreach (var dtype in new[] { "bf16", "fp8" })
            {
                (code, output) = CliTests.Run("generate", "--model", dir, "--tokens", "1,2,3", "--max-new-tokens", "4", "--dtype", dtype, "--json");
                Assert.True(code == 0, output);
                Assert.Contains("\"finish_reason\"", output, StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(config);
            foreach (var d in new[] { dir, tuned, tuned + "-again" })
            {
                if (Directory.Exists(d)) { Directory.Delete(d, recursive: true); }
            }
        }
    }

    // The loss of the first line of a metrics.jsonl.
    private static double FirstLoss(string output)
    {
        using var line = System.Text.Json.JsonDocument.Parse(output.Split('\n')[0]);
        return line.RootElement.GetProperty("loss").GetDouble();
    }
}
