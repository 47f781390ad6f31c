// ExtendCommandTests.cs: `sharpseek extend` on the shared tiny run: a stage at twice the context writes YaRN and the
// longer max_position_embeddings into the new model directory, keeps the base run's YaRN factor and original context,
// and the passkey evaluation reads it (lengths past the context out of reach, the heatmap and loss PNGs written);
// a --to the model already has is refused by name.
using System.Text.Json;
using SharpSeek.Model;

namespace SharpSeek.Cli.Tests;

public sealed class ExtendCommandTests
{
    [Fact]
    public void Extend_ThenPasskeyEval_ReadTheLongerContext()
    {
        var root = Path.Combine(Path.GetTempPath(), $"sharpseek-extend-{Guid.NewGuid():N}");
        try
        {
            var baseConfig = ModelConfig.Load(TrainedRun.Directory);
            var to = 2 * baseConfig.MaxPositionEmbeddings;
            var outDir = Path.Combine(root, "long");
            var (code, output) = CliTests.Run("extend", "--model", TrainedRun.Directory, "--to", $"{to}", "--steps", "1", "--out", outDir);
            Assert.True(code == 0, output);
            Assert.Contains($"context {to} (YaRN factor", output, StringComparison.Ordinal);
            var config = ModelConfig.Load(outDir);
            Assert.Equal(to, config.MaxPositionEmbeddings);
            Assert.Equal(("yarn", baseConfig.RopeScaling!.Factor, baseConfig.RopeScaling.OriginalMaxPositionEmbeddings), (config.RopeScaling!.Kind, config.RopeScaling.Factor, config.RopeScaling.OriginalMaxPositionEmbeddings));

            var plots = Path.Combine(root, "plots");
            (code, output) = CliTests.Run("eval", "--model", outDir, "--task", "passkey", "--lengths", "300", $"{to}", $"{2 * to}", "--depths", "2", "--trials", "1", "--json", "--plot", plots);
            Assert.True(code == 0, output);
            using var doc = JsonDocument.Parse(output);
            Assert.Equal(to, doc.RootElement.GetProperty("context").GetInt32());
            var cells = doc.RootElement.GetProperty("cells").EnumerateArray().ToList();
            Assert.Equal(6, cells.Count);
            Assert.All(cells.Where(c => c.GetProperty("length").GetInt32() == 2 * to), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("accuracy").ValueKind));
            Assert.All(cells.Where(c => c.GetProperty("length").GetInt32() <= to), c => Assert.Equal(1, c.GetProperty("trials").GetInt32()));
            Assert.Equal(2, doc.RootElement.GetProperty("loss_by_position").GetArrayLength());
            Assert.True(new FileInfo(Path.Combine(plots, "passkey.png")).Length > 1000);
            Assert.True(new FileInfo(Path.Combine(plots, "position_loss.png")).Length > 1000);

            (code, output) = CliTests.Run("extend", "--model", TrainedRun.Directory, "--to", $"{baseConfig.MaxPositionEmbeddings}", "--out", Path.Combine(root, "same"));
            Assert.Equal(1, code);
            Assert.Contains("must exceed the context the model already has", output, StringComparison.Ordinal);
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }
}
