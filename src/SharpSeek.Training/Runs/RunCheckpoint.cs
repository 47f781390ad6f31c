// RunCheckpoint.cs: a checkpoint of a run directory, all or nothing. The files are first written complete into
// <run>/.checkpoint-next/ (config.json and model.safetensors by CheckpointWriter, optimizer.safetensors, then
// trainer_state.json), then an empty COMPLETE marker is written there: that is the commit point. The files are then
// renamed into the run directory, trainer_state.json last. A crash before the marker leaves the previous checkpoint
// untouched (the staging folder is discarded on the next start); a crash after it is rolled forward on the next start.
// Not here: the formats (CheckpointWriter, AdamW.Save, RunState). Tested by TrainingRunTests.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;

namespace SharpSeek.Training.Runs;

internal static class RunCheckpoint
{
    public const string OptimizerFileName = "optimizer.safetensors";
    private const string Staging = ".checkpoint-next";
    private const string Marker = "COMPLETE";

    // The order of the roll-forward: the state file names the step, so it replaces its predecessor last.
    private static readonly string[] Files = ["config.json", "model.safetensors", OptimizerFileName, RunState.FileName];

    public static void Save(string runDirectory, ModelConfig config, ModelWeights weights, AdamW optimizer, RunState state)
    {
        var next = Path.Combine(runDirectory, Staging);
        if (Directory.Exists(next)) { Directory.Delete(next, recursive: true); }
        Directory.CreateDirectory(next);
        var tensors = weights.Names.Order(StringComparer.Ordinal).Select(name =>
        {
            var p = weights.Get(name);
            return (name, p.Value.Shape.ToArray(), (ReadOnlyMemory<float>)p.Value.AsSpan<float>().ToArray());
        }).ToList();
        CheckpointWriter.Save(next, config, tensors, CheckpointFormat.F32);
        optimizer.Save(Path.Combine(next, OptimizerFileName));
        state.Save(Path.Combine(next, RunState.FileName));
        AtomicFile.WriteAllText(Path.Combine(next, Marker), "");
        Recover(runDirectory);
    }

    /// <summary>Finishes a committed checkpoint left half-renamed by a crash, or discards an uncommitted one.</summary>
    public static void Recover(string runDirectory)
    {
        var next = Path.Combine(runDirectory, Staging);
        if (!Directory.Exists(next)) { return; }
        if (File.Exists(Path.Combine(next, Marker)))
        {
            foreach (var file in Files)
            {
                var source = Path.Combine(next, file);
                if (File.Exists(source)) { File.Move(source, Path.Combine(runDirectory, file), overwrite: true); }
            }
        }
        Directory.Delete(next, recursive: true);
    }
}
