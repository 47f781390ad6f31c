// RunCheckpoint.cs: a checkpoint of a run directory, all or nothing. The files are first written complete into
// <run>/.checkpoint-next/ (config.json and model.safetensors by CheckpointWriter, optimizer.safetensors, then
// trainer_state.json), then an empty COMPLETE marker is written there: that is the commit point. The files are then
// renamed into the run directory, trainer_state.json last. A crash before the marker leaves the previous checkpoint
// untouched (the staging folder is discarded on the next start); a crash after it is rolled forward on the next start,
// and until then every reader of the directory (CheckpointDirectory) already finds the staged files. Not here: the
// protocol itself (Model's CheckpointCommit, shared with the readers), the formats (CheckpointWriter, AdamW.Save,
// RunState). Tested by TrainingRunTests.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;

namespace SharpSeek.Training.Runs;

internal static class RunCheckpoint
{
    public const string OptimizerFileName = "optimizer.safetensors";

    // The order of the roll-forward: the state file names the step, so it replaces its predecessor last.
    private static readonly string[] Files = [CheckpointDirectory.ConfigFile, CheckpointDirectory.SingleFile, OptimizerFileName, RunState.FileName];

    public static void Save(string runDirectory, ModelConfig config, ModelWeights weights, AdamW optimizer, RunState state)
    {
        var next = CheckpointCommit.Begin(runDirectory);
        var tensors = weights.Names.Order(StringComparer.Ordinal).Select(name =>
        {
            var p = weights.Get(name);
            return (name, p.Value.Shape.ToArray(), (ReadOnlyMemory<float>)p.Value.AsSpan<float>().ToArray());
        }).ToList();
        CheckpointWriter.Save(next, config, tensors, CheckpointFormat.F32);
        optimizer.Save(Path.Combine(next, OptimizerFileName));
        state.Save(Path.Combine(next, RunState.FileName));
        CheckpointCommit.Commit(runDirectory, Files);
    }

    /// <summary>Finishes a committed checkpoint left half-renamed by a crash, or discards an uncommitted one.</summary>
    public static void Recover(string runDirectory) => CheckpointCommit.Recover(runDirectory, Files);
}
