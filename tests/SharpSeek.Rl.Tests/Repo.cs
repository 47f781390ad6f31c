// Repo.cs: test helpers: the repository root above the test binaries and the reference checkpoints in float64. Not here: tests.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;

namespace SharpSeek.Rl.Tests;

internal static class Repo
{
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SharpSeek.slnx"))) { dir = dir.Parent; }
            return dir?.FullName ?? throw new InvalidOperationException("SharpSeek.slnx not found above the test directory");
        }
    }

    public static string Reference(string variant) => Path.Combine(Root, "tests", "data", "reference", variant);

    /// <summary>A reference checkpoint in <paramref name="dtype"/> with gradients.</summary>
    public static ModelWeights ReferenceWeights(string variant, DType dtype)
    {
        using var checkpoint = CheckpointDirectory.Open(Reference(variant));
        var weights = new ModelWeights(checkpoint.Config, dtype, withGradients: true);
        weights.Load(checkpoint);
        return weights;
    }
}
