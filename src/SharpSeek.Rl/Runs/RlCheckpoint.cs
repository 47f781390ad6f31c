// RlCheckpoint.cs: a GRPO checkpoint, all or nothing (CheckpointCommit's staging, marker and ordered renames): the
// policy as a model directory's config.json and model.safetensors (so generate, serve and eval read the run directory
// as a model), the optimizer's moments, the reference policy when β > 0, then rl_state.json last. Not here: the
// protocol (CheckpointCommit), the formats. Tested by GrpoRunTests.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;
using SharpSeek.Training;

namespace SharpSeek.Rl.Runs;

internal static class RlCheckpoint
{
    public const string OptimizerFileName = "optimizer.safetensors";
    public const string ReferenceFileName = "reference.safetensors";

    public static void Save(string dir, ModelConfig config, ModelWeights policy, AdamW optimizer, ModelWeights? reference, RlState state) =>
        Save(dir, config, policy, optimizer, reference, RlState.FileName, state.Save);

    /// <summary>The same checkpoint with another run's state file (written last, by <paramref name="saveState"/>).</summary>
    public static void Save(string dir, ModelConfig config, ModelWeights policy, AdamW optimizer, ModelWeights? reference, string stateFile, Action<string> saveState)
    {
        ArgumentNullException.ThrowIfNull(saveState);
        var next = CheckpointCommit.Begin(dir);
        CheckpointWriter.Save(next, config, Tensors(policy), CheckpointFormat.F32);
        optimizer.Save(Path.Combine(next, OptimizerFileName));
        if (reference is not null)
        {
            SafeTensorsWriter.Write(Path.Combine(next, ReferenceFileName),
                [.. reference.Unique.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => new SafeTensorEntry(p.Name, DType.F32, p.Value.Shape.ToArray(), p.Value.AsBytes().ToArray()))]);
        }
        saveState(Path.Combine(next, stateFile));
        CheckpointCommit.Commit(dir, Files(stateFile));
    }

    public static void Recover(string dir, string stateFile = RlState.FileName) => CheckpointCommit.Recover(dir, Files(stateFile));

    private static string[] Files(string stateFile) => [CheckpointDirectory.ConfigFile, CheckpointDirectory.SingleFile, OptimizerFileName, ReferenceFileName, stateFile];

    /// <summary>Fills <paramref name="reference"/> from the run's reference file.</summary>
    public static void LoadReference(string dir, ModelWeights reference)
    {
        var path = CheckpointCommit.Resolve(dir, ReferenceFileName);
        if (!File.Exists(path)) { throw new FileNotFoundException($"'{dir}' has no {ReferenceFileName}: the run kept no reference (β was 0)", path); }
        using var file = SafeTensorsFile.Open(path);
        reference.Load((name, shape) =>
        {
            if (!file.Contains(name)) { return null; }
            var values = new float[shape.Aggregate(1L, (a, d) => a * d)];
            file.ReadAsSingle(name, values);
            return values;
        });
    }

    private static List<(string, long[], ReadOnlyMemory<float>)> Tensors(ModelWeights weights) =>
        [.. weights.Names.Order(StringComparer.Ordinal).Select(name =>
        {
            var p = weights.Get(name);
            return (name, p.Value.Shape.ToArray(), (ReadOnlyMemory<float>)p.Value.AsSpan<float>().ToArray());
        })];
}
