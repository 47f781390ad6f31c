// PlotCommandTests.cs: `sharpseek plot` writes the four PNGs of a trained run (valid PNG signature, non-trivial size) to
// --out, and fails with exit code 1 on a directory without metrics; distillation study tables give distill-study.png,
// and a file that is not one fails naming it; several runs get a line each relative to the first (RunComparison).
using SharpSeek.Cli.Commands;
using SharpSeek.Training.Runs;

namespace SharpSeek.Cli.Tests;

public sealed class PlotCommandTests
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public void Plot_WritesNonEmptyPngs()
    {
        var output = Path.Combine(Path.GetTempPath(), $"sharpseek-plots-{Guid.NewGuid():N}");
        try
        {
            var (code, text) = CliTests.Run("plot", TrainedRun.Directory, "--out", output);
            Assert.True(code == 0, text);
            foreach (var name in new[] { "loss.png", "lr.png", "expert_load.png", "max_vio.png" })
            {
                var bytes = File.ReadAllBytes(Path.Combine(output, name));
                Assert.True(bytes.Length > 5000, $"{name} has only {bytes.Length} bytes");
                Assert.Equal(PngSignature, bytes[..8]);
            }
            Assert.Equal(4, Directory.GetFiles(output).Length); // no temporaries left
        }
        finally
        {
            if (Directory.Exists(output)) { Directory.Delete(output, recursive: true); }
        }
    }

    [Fact]
    public void Plot_WithoutMetrics_ExitsOne()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-empty-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var (code, text) = CliTests.Run("plot", dir);
            Assert.Equal(1, code);
            Assert.Contains("metrics.jsonl", text, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void RelativeSummary_GivesTheTailsRelativeLossAndTheLastCommonEval()
    {
        var rng = new Random(5);
        var baseline = Enumerable.Range(1, 40).Select(s => new MetricsRecord { Step = s, MainLoss = 3 + rng.NextDouble(), EvalLoss = s % 10 == 0 ? 2.5 + (s / 100.0) : null }).ToList();
        var above = baseline.Select(r => r with { MainLoss = r.MainLoss * 1.01, EvalLoss = r.EvalLoss * 0.98 }).ToList();
        var line = PlotCommand.RelativeSummary("a", above, "b", baseline);
        Assert.Contains("run a vs b: training loss +1.00%", line, StringComparison.Ordinal);
        Assert.Contains("eval loss -2.00% at step 40", line, StringComparison.Ordinal);
        var barelyBelow = baseline.Select(r => r with { MainLoss = r.MainLoss * (1 - 1e-6), EvalLoss = r.EvalLoss * (1 - 1e-6) }).ToList();
        var zero = PlotCommand.RelativeSummary("a", barelyBelow, "b", baseline);         // rounds to zero: no "-+0.00%"
        Assert.Contains("training loss +0.00% (", zero, StringComparison.Ordinal);
        Assert.Contains("eval loss +0.00% at step 40", zero, StringComparison.Ordinal);
        Assert.Contains("no common steps", PlotCommand.RelativeSummary("a", above.Take(5).ToList(), "b", baseline.Skip(5).ToList()), StringComparison.Ordinal);
    }

    [Fact]
    public void Plot_SeveralRuns_WritesComparisonsAndASummaryPerRun()
    {
        var output = Path.Combine(Path.GetTempPath(), $"sharpseek-compare-{Guid.NewGuid():N}");
        var copy = Path.Combine(Path.GetTempPath(), $"sharpseek-run-copy-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(copy);
            File.Copy(Path.Combine(TrainedRun.Directory, "metrics.jsonl"), Path.Combine(copy, "metrics.jsonl"));
            var (code, text) = CliTests.Run("plot", TrainedRun.Directory, copy, "--out", output);
            Assert.True(code == 0, text);
            Assert.Contains($"run {Path.GetFileName(copy)}: ", text, StringComparison.Ordinal);
            Assert.Contains("MaxVio", text, StringComparison.Ordinal);
            Assert.Contains($"run {Path.GetFileName(copy)} vs {Path.GetFileName(TrainedRun.Directory)}: training loss +0.00%", text, StringComparison.Ordinal); // a copy: no difference
            foreach (var name in new[] { "compare_eval_loss.png", "compare_main_loss.png", "compare_max_vio.png", "compare_relative_loss.png" })
            {
                var bytes = File.ReadAllBytes(Path.Combine(output, name));
                Assert.True(bytes.Length > 5000, $"{name} has only {bytes.Length} bytes");
                Assert.Equal(PngSignature, bytes[..8]);
            }
        }
        finally
        {
            if (Directory.Exists(output)) { Directory.Delete(output, recursive: true); }
            if (Directory.Exists(copy)) { Directory.Delete(copy, recursive: true); }
        }
    }

    [Fact]
    public void Plot_StudyTables_WritesTheStudyChart()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-plot-study-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(dir, "a"));
        Directory.CreateDirectory(Path.Combine(dir, "b"));
        try
        {
            var a = Path.Combine(dir, "a", "study.json");
            var b = Path.Combine(dir, "b", "study.json");
            File.WriteAllText(a, "[{\"variant\": \"student base\", \"minutes\": 0, \"pass1\": 0.3}, {\"variant\": \"distilled (SFT)\", \"minutes\": 8.5, \"pass1\": 0.71}]");
            File.WriteAllText(b, "[{\"variant\": \"student base\", \"minutes\": 0, \"pass1\": 0.4}]");
            var (code, text) = CliTests.Run("plot", a, b, "--out", dir);
            Assert.True(code == 0, text);
            var png = File.ReadAllBytes(Path.Combine(dir, "distill-study.png"));
            Assert.Equal(PngSignature, png[..8]);
            Assert.True(png.Length > 5000);
            File.WriteAllText(b, "{\"not\": \"a table\"}");
            (code, text) = CliTests.Run("plot", a, b, "--out", dir);
            Assert.Equal(1, code);
            Assert.Contains("not a study table", text, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
