// SamplingOptions.cs: how Sampling.Generate picks tokens: greedy (temperature 0), or temperature with optional top-k,
// from a seeded RNG. Not here: the sampling itself (Sampling). Tested by SamplingTests.
namespace SharpSeek.Training.Runs;

/// <summary>Settings of <see cref="Sampling.Generate"/>.</summary>
public sealed record SamplingOptions
{
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>0 is greedy (argmax, ties to the lower id); otherwise logits are divided by it before the softmax.</summary>
    public double Temperature { get; init; }

    /// <summary>Keep only the k most likely tokens (0 keeps all).</summary>
    public int TopK { get; init; }

    public int Seed { get; init; }

    /// <summary>Generation stops after this id (usually EOS), which is included in the output.</summary>
    public int? StopId { get; init; }
}
