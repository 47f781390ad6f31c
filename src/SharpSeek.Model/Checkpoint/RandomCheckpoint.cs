// RandomCheckpoint.cs: a checkpoint directory of random weights for any config (benchmarks of models too large to train
// here, e.g. a DeepSeek-R1-Distill-Qwen-1.5B-shaped one), written shard by shard so that only one shard's values are
// held at a time: ModelWeights.InitializeRandom's rule and values (N(0, initializer_range) matrices, norms 1, biases 0),
// in F32, BF16 or FP8 through CheckpointWriter. Not here: a tokenizer (random weights need none for throughput), the
// command line (InitCommand). Tested by CheckpointWriterTests.
namespace SharpSeek.Model.Checkpoint;

/// <summary>Writes random-weight checkpoints without holding the model in memory.</summary>
public static class RandomCheckpoint
{
    /// <summary>
    /// Writes config.json and the weights of <paramref name="config"/> into <paramref name="dir"/> in
    /// <paramref name="format"/>, in shards of at most <paramref name="maxShardBytes"/>: the values of
    /// <c>new ModelWeights(config).InitializeRandom(seed)</c> (each MTP copy of the embedding and head equal to its main
    /// tensor), generated one weight at a time as its shard is written.
    /// </summary>
    public static void Write(string dir, ModelConfig config, CheckpointFormat format, int seed, long maxShardBytes = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(config);
        var shapes = ParameterShapes.For(config);
        // The unique tensors in InitializeRandom's order (it draws them from one generator in turn), then the MTP aliases,
        // whose targets are kept once generated.
        var order = shapes.Where(s => WeightNames.SharedAlias(config, s.Name) is null).Concat(shapes.Where(s => WeightNames.SharedAlias(config, s.Name) is not null)).ToList();
        var targets = shapes.Select(s => WeightNames.SharedAlias(config, s.Name)).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var kept = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var rng = new Random(seed);
        CheckpointWriter.Save(dir, config, [.. order.Select(s => (s.Name, s.Shape.Select(d => (long)d).ToArray()))], i =>
        {
            var s = order[i];
            if (WeightNames.SharedAlias(config, s.Name) is { } target) { return kept[target]; }
            var values = new float[s.Elements];
            ModelWeights.FillInitial(s.Name, s.Shape.Length, config.InitializerRange, rng, values);
            if (targets.Contains(s.Name)) { kept[s.Name] = values; }
            return values;
        }, format, maxShardBytes);
    }
}
