// RlState.cs: rl_state.json, the last file of a GRPO checkpoint: the step reached (with the run seed it fixes every
// later prompt and sample: problems are taken by index and rollouts seeded by step, prompt and sample), the time spent,
// and the options. Written atomically. Not here: weights and moments (safetensors beside it). Tested by GrpoRunTests.
using System.Text.Json;
using System.Text.Json.Serialization;
using SharpSeek.Model;

namespace SharpSeek.Rl.Runs;

/// <summary>What --resume needs besides the policy, reference and optimizer tensors.</summary>
public sealed record RlState
{
    public const string FileName = "rl_state.json";

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) } };

    [JsonPropertyName("step")] public long Step { get; init; }

    /// <summary>Train problems handed out so far (dynamic sampling takes more than prompts × steps).</summary>
    [JsonPropertyName("problems_used")] public long ProblemsUsed { get; init; }

    [JsonPropertyName("elapsed_seconds")] public double ElapsedSeconds { get; init; }

    /// <summary>The last step whose update was skipped for a non-finite loss, if any.</summary>
    [JsonPropertyName("last_skipped_step")] public long? LastSkippedStep { get; init; }

    [JsonPropertyName("options")] public RlOptions Options { get; init; } = new();

    public static RlState Load(string path)
    {
        RlState? state;
        try
        {
            state = JsonSerializer.Deserialize<RlState>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid {FileName}: {e.Message}", e);
        }
        if (state is null || state.Step < 0 || state.ProblemsUsed < 0) { throw new InvalidDataException($"{path}: expected an object with step and problems_used ≥ 0"); }
        return state;
    }

    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");
}
