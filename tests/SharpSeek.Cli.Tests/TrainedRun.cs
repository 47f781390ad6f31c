// TrainedRun.cs: one tiny-preset run trained through `sharpseek train` once per test run and shared by the train,
// plot and generate command tests (read-only after training). Not here: tests.
namespace SharpSeek.Cli.Tests;

internal static class TrainedRun
{
    private static readonly Lazy<(string Directory, string Output)> Run = new(Train, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The run directory.</summary>
    public static string Directory => Run.Value.Directory;

    /// <summary>What `sharpseek train` printed.</summary>
    public static string Output => Run.Value.Output;

    public const int Steps = 8;

    private static (string, string) Train()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-cli-run-{Guid.NewGuid():N}");
        var (code, output) = CliTests.Run("train", "--config", "tiny", "--out", dir, "--steps", $"{Steps}", "--documents", "150",
            "--seq-len", "32", "--micro-batch", "2", "--batch-tokens", "128", "--eval-every", "4", "--checkpoint-every", "4", "--lr", "3e-3", "--warmup", "2");
        Assert.True(code == 0, output);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { System.IO.Directory.Delete(dir, recursive: true); } catch (IOException) { }
        };
        return (dir, output);
    }
}
