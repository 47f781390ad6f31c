// TinyRun.cs: test helpers for the run tests: tiny-preset run options in a fresh temporary directory (deleted on
// Dispose), small enough that a step takes milliseconds, with two micro-batches per step so accumulation is exercised.
// Not here: tests.
using SharpSeek.Training.Runs;

namespace SharpSeek.Training.Tests.Runs;

internal sealed class TinyRun : IDisposable
{
    public TinyRun()
    {
        Directory = Path.Combine(Path.GetTempPath(), $"sharpseek-run-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string Sub(string name) => Path.Combine(Directory, name);

    public static RunOptions Options(string dir, long steps) => new()
    {
        Config = "tiny",
        OutDir = dir,
        Steps = steps,
        CorpusDocuments = 150,
        MicroBatch = 2,
        SeqLen = 32,
        BatchTokens = 128,
        Lr = 3e-3,
        WarmupSteps = 2,
        EvalEvery = 2,
        EvalBatches = 2,
        CheckpointEvery = 100,
        Seed = 5,
    };

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
