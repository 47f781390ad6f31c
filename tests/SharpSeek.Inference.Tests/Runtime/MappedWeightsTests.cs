// MappedWeightsTests.cs: a BF16 checkpoint loaded inference-only (ModelWeights.MapBF16, what InferenceWeights.Load does
// for BF16): its matrices and embedding read in place from the mapped files, with prefill, decode and MTP draft logits
// equal bit for bit to the F32-master path's BF16 views (DeepSeek-V3 with MLA and MoE, from BF16 files and from the FP8
// release layout, tied qwen2, untied llama); no F32 masters held and little managed memory allocated, with the byte
// accounting counting the tied embedding once; training and other formats refused with the error that says how to load
// for them; an F32 file in BF16 still converted; disposal unmapping the files; a truncated shard refused naming the file.
using SharpSeek.Inference.Runtime;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;

namespace SharpSeek.Inference.Tests.Runtime;

public sealed class MappedWeightsTests
{
    private const string InferenceOnly = "loaded inference-only from BF16 checkpoint files";

    private static ModelConfig Family(string family) => family switch
    {
        "deepseek_v3" => RuntimeFixture.Config(),
        _ => ModelConfig.Load(Path.Combine(Reference(family == "qwen2" ? "qwen2_f32" : "llama_f32"), CheckpointDirectory.ConfigFile)),
    };

    private static string Reference(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SharpSeek.slnx"))) { dir = dir.Parent; }
        return Path.Combine(dir!.FullName, "tests", "data", "reference", name);
    }

    // A BF16 file's values widen exactly to f32 masters, and rounding those back to BF16 gives the file's bits: the views
    // of both paths hold the same weights, so every logit is equal, not close. In the release's FP8 layout only the
    // BF16 matrices (embedding, lm_head, eh_proj) are read in place; the E4M3 projections are dequantized into masters
    // and converted as before.
    [Theory]
    [InlineData("deepseek_v3", CheckpointFormat.BF16)]
    [InlineData("deepseek_v3", CheckpointFormat.Fp8)]
    [InlineData("qwen2", CheckpointFormat.BF16)]
    [InlineData("llama", CheckpointFormat.BF16)]
    public void MappedBF16_PrefillDecodeAndDraft_EqualTheF32MasterPathBitForBit(string family, CheckpointFormat stored)
    {
        var config = Family(family);
        using var dir = new TempDir();
        using (var random = RuntimeFixture.Weights(config, seed: 5)) { RuntimeFixture.Save(random, dir.Path, stored); }
        using var checkpoint = CheckpointDirectory.Open(dir.Path);
        using var masters = new ModelWeights(config);
        masters.Load(checkpoint);
        var converted = InferenceWeights.From(masters, WeightFormat.BF16);
        using var mapped = InferenceWeights.Load(dir.Path, WeightFormat.BF16);
        Assert.True(mapped.Model.IsInferenceOnly);
        Assert.False(masters.IsInferenceOnly);
        Assert.Equal(DType.BF16, mapped.Model.Embedding.Value.DType);
        Assert.All(Linears(mapped.Model), l => Assert.Equal(checkpoint.Info(l.Weight.Name).DType == DType.BF16, l.View.InPlace));
        Assert.All(Linears(mapped.Model), l => Assert.Equal(WeightFormat.BF16, l.View.Format));
        var tokens = RuntimeFixture.Tokens(6, config.VocabSize, 7);
        Assert.Equal(Run(converted, tokens), Run(mapped, tokens));
    }

    // Prefill (every row's logits), three decode steps, and for a model with MTP one draft step over the prefill's hidden rows.
    private static List<float[]> Run(InferenceWeights weights, int[] tokens)
    {
        using var cache = new KvCache(weights.Config, 1, tokens.Length + 4);
        using var runner = new ModelRunner(weights, cache);
        var slot = cache.Acquire();
        var step = runner.Step([new SequenceChunk(slot, tokens)]);
        var results = Enumerable.Range(0, tokens.Length).Select(t => step.Logits(0, t).ToArray()).ToList();
        var hidden = Enumerable.Range(0, tokens.Length - 1).SelectMany(t => step.Hidden(0, t).ToArray()).ToArray();
        if (weights.Model.Mtp.Count > 0)
        {
            results.Add(runner.DraftStep([new DraftChunk(slot, tokens.AsMemory(1), hidden)]).LastLogits(0).ToArray());
        }
        for (var i = 0; i < 3; i++) { results.Add(runner.Step([new SequenceChunk(slot, new[] { (tokens[i] + i) % weights.Config.VocabSize })]).LastLogits(0).ToArray()); }
        return results;
    }

    private static IEnumerable<Linear> Linears(ModelWeights model)
    {
        foreach (var block in model.Layers.Concat(model.Mtp.Select(m => m.Block)))
        {
            IEnumerable<Linear?> attention = block.Attention switch
            {
                Mla mla => [mla.WqA, mla.WqB, mla.Wq, mla.WkvA, mla.WkvB, mla.Wo],
                Gqa gqa => [gqa.Q, gqa.K, gqa.V, gqa.O],
                _ => [],
            };
            var ffns = block.Moe is { } moe ? moe.Experts.Concat(moe.Shared is null ? [] : [moe.Shared]) : [block.Mlp!];
            foreach (var l in attention.OfType<Linear>().Concat(ffns.SelectMany(m => new[] { m.Gate, m.Up, m.Down }))) { yield return l; }
        }
        foreach (var m in model.Mtp) { yield return m.EhProj; }
        yield return model.Head;
    }

    // A qwen2 model big enough for the weights to dominate (2.2M parameters, tied): the mapped load holds F32 masters only
    // for the norms and biases, allocates a small part of what the BF16 copies of the converting path take, and counts the
    // tied embedding once at 2 bytes where the converting path holds it at 4 beside the head's 2.
    [Fact]
    public void MappedBF16_HoldsNoMasters_AllocatesLittle_AndCountsTheTiedEmbeddingOnce()
    {
        var config = Family("qwen2") with { HiddenSize = 256, IntermediateSize = 512, VocabSize = 4096 };
        using var dir = new TempDir();
        RandomCheckpoint.Write(dir.Path, config, CheckpointFormat.BF16, seed: 2);
        InferenceWeights.Load(dir.Path, WeightFormat.BF16).Dispose(); // first use: type loading and JIT out of the count
        using var f32 = InferenceWeights.Load(dir.Path, WeightFormat.F32);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var converted = InferenceWeights.From(f32.Model, WeightFormat.BF16);
        var convertedBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        using var mapped = InferenceWeights.Load(dir.Path, WeightFormat.BF16);
        var mappedBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        var weights = ParameterShapes.Count(config).Total;
        var norms = ParameterShapes.For(config).Where(s => s.Shape.Length == 1).Sum(s => s.Elements);
        Assert.True(f32.Model.Parameters.CapacityBytes >= 4 * weights);
        Assert.InRange(mapped.Model.Parameters.CapacityBytes, 4 * norms, (4 * norms) + (64 * ParameterShapes.For(config).Count));
        Assert.True(convertedBytes > 2 * (weights - norms - (config.VocabSize * config.HiddenSize)), $"converting allocated {convertedBytes} bytes");
        Assert.True(mappedBytes < convertedBytes / 10, $"mapped load allocated {mappedBytes} bytes, converting {convertedBytes}");
        Assert.Equal(converted.Bytes - (4L * config.VocabSize * config.HiddenSize), mapped.Bytes);
    }

    [Fact]
    public void MappedBF16_CannotTrainOrTakeAnotherFormat_SayingHowToLoadForThat()
    {
        var config = RuntimeFixture.Config();
        using var dir = new TempDir();
        RandomCheckpoint.Write(dir.Path, config, CheckpointFormat.BF16, seed: 3);
        using var mapped = InferenceWeights.Load(dir.Path, WeightFormat.BF16);
        var model = mapped.Model;
        Action[] refused =
        [
            () => new Transformer(model).Dispose(),
            () => InferenceWeights.From(model, WeightFormat.F32),
            () => model.UseFormat(WeightFormat.Fp8),
            () => model.InitializeRandom(1),
            () => model.Set(WeightNames.FinalNorm, new float[config.HiddenSize]),
            () => model.Head.UseFormat(WeightFormat.F32),
        ];
        foreach (var action in refused)
        {
            var e = Assert.Throws<InvalidOperationException>(action);
            Assert.Contains(InferenceOnly, e.Message, StringComparison.Ordinal);
            Assert.Contains("new ModelWeights(config) and Load(checkpoint)", e.Message, StringComparison.Ordinal);
        }
        mapped.Refresh(); // BF16 views again: in place, nothing to rebuild
        Assert.True(model.Head.View.InPlace);
    }

    // An F32 file asked for in BF16 has nothing to read in place: ordinary F32 masters with converted views, trainable.
    [Fact]
    public void F32FileInBF16_ConvertsAsBefore()
    {
        using var mapped = InferenceWeights.Load(Reference("qwen2_f32"), WeightFormat.BF16);
        Assert.False(mapped.Model.IsInferenceOnly);
        Assert.False(mapped.Model.Head.View.InPlace);
        Assert.Equal(WeightFormat.BF16, mapped.Model.Head.View.Format);
        new Transformer(mapped.Model).Dispose();
    }

    [Fact]
    public void Dispose_UnmapsTheFiles_AndTheTensorsThenThrow()
    {
        var config = Family("llama");
        using var dir = new TempDir();
        RandomCheckpoint.Write(dir.Path, config, CheckpointFormat.BF16, seed: 4);
        var weights = InferenceWeights.Load(dir.Path, WeightFormat.BF16);
        var embedding = weights.Model.Embedding.Value;
        Assert.Equal(config.VocabSize * config.HiddenSize, embedding.AsSpan<BFloat16>().Length);
        var file = Path.Combine(dir.Path, CheckpointDirectory.SingleFile);
        if (OperatingSystem.IsLinux()) { Assert.Contains(file, File.ReadAllText("/proc/self/maps"), StringComparison.Ordinal); }
        weights.Dispose();
        if (OperatingSystem.IsLinux()) { Assert.DoesNotContain(file, File.ReadAllText("/proc/self/maps"), StringComparison.Ordinal); }
        Assert.Throws<ObjectDisposedException>(() => embedding.AsSpan<BFloat16>().Length);
    }

    [Fact]
    public void TruncatedShard_IsRefusedNamingTheFile()
    {
        var config = RuntimeFixture.Config();
        using var dir = new TempDir();
        RandomCheckpoint.Write(dir.Path, config, CheckpointFormat.BF16, seed: 5, maxShardBytes: 20_000);
        var shards = Directory.GetFiles(dir.Path, "*.safetensors").Order(StringComparer.Ordinal).ToArray();
        Assert.True(shards.Length > 2);
        var shard = shards[^1];
        using (var stream = new FileStream(shard, FileMode.Open)) { stream.SetLength(stream.Length - 100); }
        var e = Assert.Throws<InvalidDataException>(() => InferenceWeights.Load(dir.Path, WeightFormat.BF16));
        Assert.Contains(shard, e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }
}
