// RunState.cs: trainer_state.json, the last file of a checkpoint: the step reached, where the data sampler stands (its
// seed and position: the sampler is the run's only source of randomness), the best eval loss, the tokens seen and the
// options the run was started with. Written atomically. Not here: the weights and optimizer moments (safetensors files
// beside it). Tested by RunStateTests.
using System.Text.Json;
using System.Text.Json.Serialization;
using SharpSeek.Model;

namespace SharpSeek.Training.Runs;

/// <summary>Everything besides weights and optimizer moments that --resume needs to continue a run exactly.</summary>
public sealed record RunState
{
    public const string FileName = "trainer_state.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Optimizer steps completed.</summary>
    [JsonPropertyName("step")] public long Step { get; init; }

    /// <summary>The data sampler's seed (the run's RNG state together with <see cref="SamplerPosition"/>).</summary>
    [JsonPropertyName("sampler_seed")] public ulong SamplerSeed { get; init; }

    /// <summary>Batches the sampler has handed out; the next batch is a pure function of seed and position.</summary>
    [JsonPropertyName("sampler_position")] public long SamplerPosition { get; init; }

    [JsonPropertyName("tokens_seen")] public long TokensSeen { get; init; }

    [JsonPropertyName("best_eval_loss")] public double? BestEvalLoss { get; init; }

    /// <summary>Wall-clock seconds spent training so far, across resumes.</summary>
    [JsonPropertyName("elapsed_seconds")] public double ElapsedSeconds { get; init; }

    /// <summary>The training and held-out token shards, relative to the run directory.</summary>
    [JsonPropertyName("train_shard")] public string TrainShard { get; init; } = "";

    [JsonPropertyName("eval_shard")] public string EvalShard { get; init; } = "";

    [JsonPropertyName("options")] public RunOptions Options { get; init; } = new();

    /// <summary>Reads a trainer_state.json file; throws <see cref="InvalidDataException"/> naming the file and the problem.</summary>
    public static RunState Load(string path)
    {
        RunState? state;
        try
        {
            state = JsonSerializer.Deserialize<RunState>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid {FileName}: {e.Message}", e);
        }
        if (state is null) { throw new InvalidDataException($"{path}: expected a JSON object, got null"); }
        if (state.Step < 0 || state.SamplerPosition < 0 || state.TokensSeen < 0)
        {
            throw new InvalidDataException($"{path}: step, sampler_position and tokens_seen must be ≥ 0; got {state.Step}, {state.SamplerPosition}, {state.TokensSeen}");
        }
        return state;
    }

    /// <summary>Writes this state to <paramref name="path"/> through a temporary file and a rename.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");
}
