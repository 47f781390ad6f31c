// CheckpointWriterTests.cs: full tiny-config checkpoints in F32, BF16 and FP8 reload to exactly the stored values and
// save → load → save gives identical files; FP8 weights (partial edge blocks) match Fp8Quant directly; the FP8 tensor set
// is the release's (ParameterShape.IsFp8); shards split, index and reload; stale files of the other layout are removed;
// the lazy save asks for each weight once, in order; RandomCheckpoint writes InitializeRandom's values shard by shard.
using System.Text.Json;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Model.Tests;

public sealed class CheckpointWriterTests
{
    private static readonly ModelConfig Tiny = ModelConfig.LoadPreset("tiny");

    internal static List<(string Name, long[] Shape, ReadOnlyMemory<float> Values)> RandomWeights(IEnumerable<ParameterShape> shapes, int seed)
    {
        var rng = new Random(seed);
        return [.. shapes.Select(s => (s.Name, s.Shape.Select(d => (long)d).ToArray(), (ReadOnlyMemory<float>)CheckpointTestFiles.Random(rng, s.Elements)))];
    }

    [Theory]
    [InlineData(CheckpointFormat.F32)]
    [InlineData(CheckpointFormat.BF16)]
    [InlineData(CheckpointFormat.Fp8)]
    public void Save_TinyConfig_ReloadsToTheRoundedValuesAndResavesIdentically(CheckpointFormat format)
    {
        using var dir = new TempDir();
        var shapes = ParameterShapes.For(Tiny);
        var weights = RandomWeights(shapes, seed: 1 + (int)format);
        var first = Path.Combine(dir.Path, "first");
        CheckpointWriter.Save(first, Tiny, weights, format);

        var reloaded = new List<(string, long[], ReadOnlyMemory<float>)>();
        using (var ckpt = CheckpointDirectory.Open(first))
        {
            Assert.Equal(CheckpointWriter.SavedConfig(Tiny, format), ckpt.Config);
            Assert.Empty(ckpt.Check(shapes));
            Assert.Equal(format == CheckpointFormat.Fp8 ? shapes.Count + ParameterShapes.ScaleTensors(Tiny).Count : shapes.Count, ckpt.Names.Count);
            foreach (var (shape, (name, dims, values)) in shapes.Zip(weights))
            {
                var info = ckpt.Info(name);
                var fp8 = format == CheckpointFormat.Fp8 && shape.IsFp8;
                var bias = name.EndsWith("e_score_correction_bias", StringComparison.Ordinal);
                Assert.Equal(format == CheckpointFormat.F32 || bias ? DType.F32 : fp8 ? DType.F8E4M3 : DType.BF16, info.DType);
                var got = new float[values.Length];
                ckpt.ReadWeight(name, got);
                var want = info.DType switch
                {
                    DType.F32 => values.ToArray(),
                    DType.BF16 => [.. values.ToArray().Select(v => BFloat16.FromSingle(v).ToSingle())],
                    _ => Fp8RoundTrip(values.Span, (int)dims[0], (int)dims[1]),
                };
                Assert.Equal(SafeTensorsFileTests.Bits(want), SafeTensorsFileTests.Bits(got));
                reloaded.Add((name, dims, got));
            }
        }
        var second = Path.Combine(dir.Path, "second");
        CheckpointWriter.Save(second, Tiny, reloaded, format);
        foreach (var file in Directory.GetFiles(first).Select(Path.GetFileName))
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(first, file!)), File.ReadAllBytes(Path.Combine(second, file!)));
        }
        Assert.Equal(["config.json", "model.safetensors"], Directory.GetFiles(second).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void IsFp8Weight_TinyAndV3Inventories_MatchTheReleaseSet()
    {
        foreach (var config in new[] { Tiny, ModelConfig.LoadPreset("16B") })
        {
            foreach (var shape in ParameterShapes.For(config))
            {
                Assert.True(shape.IsFp8 == CheckpointWriter.IsFp8Weight(shape.Name), shape.Name);
            }
        }
        Assert.False(CheckpointWriter.IsFp8Weight("model.layers.61.eh_proj.weight"));
        Assert.False(CheckpointWriter.IsFp8Weight("model.layers.3.mlp.gate.weight"));
        Assert.True(CheckpointWriter.IsFp8Weight("model.layers.61.mlp.experts.255.down_proj.weight"));
        Assert.Equal(DType.F32, CheckpointWriter.StoredDType("model.layers.3.mlp.gate.e_score_correction_bias", 1, CheckpointFormat.Fp8));
    }

    [Fact]
    public void Save_Fp8PartialEdgeBlocks_MatchesFp8QuantAndWritesScales()
    {
        using var dir = new TempDir();
        long[][] shapes = [[129, 257], [7, 300], [128, 128], [1, 129], [300, 1]];
        var rng = new Random(21);
        var weights = shapes.Select((s, i) => ($"model.layers.{i}.self_attn.o_proj.weight", s, (ReadOnlyMemory<float>)CheckpointTestFiles.Random(rng, s[0] * s[1]))).ToList();
        CheckpointWriter.Save(dir.Path, Tiny, weights, CheckpointFormat.Fp8);

        using var ckpt = CheckpointDirectory.Open(dir.Path);
        Assert.Equal([128, 128], ckpt.Config.QuantizationConfig!.WeightBlockSize);
        Assert.Equal("e4m3", ckpt.Config.QuantizationConfig.Fmt);
        foreach (var (name, shape, values) in weights)
        {
            var (rows, cols) = ((int)shape[0], (int)shape[1]);
            var q = new Float8E4M3[rows * cols];
            var scaleInv = new float[Fp8Quant.Tiles(rows) * Fp8Quant.Tiles(cols)];
            Fp8Quant.QuantizeWeightBlocks(values.Span, rows, cols, q, scaleInv);
            Assert.Equal(DType.F8E4M3, ckpt.Info(name).DType);
            var scale = ckpt.Info(name + "_scale_inv");
            Assert.Equal(DType.F32, scale.DType);
            Assert.Equal([Fp8Quant.Tiles(rows), Fp8Quant.Tiles(cols)], scale.Shape);
            var storedScales = new float[scale.Elements];
            ckpt.ReadWeight(name + "_scale_inv", storedScales);
            Assert.Equal(scaleInv, storedScales);

            var got = new float[rows * cols];
            ckpt.ReadWeight(name, got);
            var want = new float[rows * cols];
            Fp8Quant.DequantizeWeightBlocks(q, scaleInv, rows, cols, want);
            Assert.Equal(SafeTensorsFileTests.Bits(want), SafeTensorsFileTests.Bits(got));
            // Block scaling keeps every element within half an E4M3 step (2^-4 relative) of its scale-relative value.
            for (var i = 0; i < got.Length; i++) { Assert.True(MathF.Abs(got[i] - values.Span[i]) <= MathF.Abs(values.Span[i]) / 15f, $"{name}[{i}]"); }
        }
    }

    // Why an FP8 re-save is byte-identical: a block's largest element encodes to ±448 exactly, so its dequantized value is
    // fl(448·s), and the re-quantizer's scale fl(fl(448·s)/448) is s again, for every reachable s = fl(amax/448) with
    // amax ≥ 1e-4 (below that floor a block can re-quantize to a different scale). Checked across 2^-13 .. 2^11.
    [Fact]
    public void Fp8Scale_OfADequantizedBlock_IsTheSameScale()
    {
        var rng = new Random(99);
        for (var i = 0; i < 200_000; i++)
        {
            var amax = MathF.ScaleB(1f + rng.NextSingle(), rng.Next(-13, 11));
            var s = Fp8Quant.ScaleOf(amax, powerOfTwo: false);
            Assert.Equal(448f, Float8E4M3.FromSingle(amax / s).ToSingle());
            Assert.Equal(s, Fp8Quant.ScaleOf(448f * s, powerOfTwo: false));
        }
    }

    [Fact]
    public void Save_Sharded_SplitsIndexesAndReloads()
    {
        using var dir = new TempDir();
        var shapes = ParameterShapes.For(Tiny);
        var weights = RandomWeights(shapes, seed: 7);
        const long MaxShard = 40_000;
        CheckpointWriter.Save(dir.Path, Tiny, weights, CheckpointFormat.Fp8, MaxShard);

        var shards = Directory.GetFiles(dir.Path, "model-*.safetensors").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.True(shards.Count >= 3, $"{shards.Count} shards");
        Assert.Equal(Enumerable.Range(1, shards.Count).Select(k => $"model-{k:D5}-of-{shards.Count:D5}.safetensors"), shards);
        Assert.False(File.Exists(dir.File("model.safetensors")));

        using var index = JsonDocument.Parse(File.ReadAllBytes(dir.File("model.safetensors.index.json")));
        var map = index.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        using (var ckpt = CheckpointDirectory.Open(dir.Path))
        {
            Assert.Empty(ckpt.Check(shapes));
            Assert.Equal(map.Keys.Order(StringComparer.Ordinal), ckpt.Names);
            Assert.Equal(ckpt.Names.Sum(n => ckpt.Info(n).Length), index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
            foreach (var group in map.GroupBy(p => p.Value))
            {
                var bytes = group.Sum(p => ckpt.Info(p.Key).Length);
                Assert.True(bytes <= MaxShard || group.Count(p => !p.Key.EndsWith("_scale_inv", StringComparison.Ordinal)) == 1, $"{group.Key}: {bytes} bytes");
            }
            // An E4M3 weight and its scales share a shard.
            Assert.All(map.Where(p => p.Key.EndsWith("_scale_inv", StringComparison.Ordinal)), p => Assert.Equal(map[p.Key[..^"_scale_inv".Length]], p.Value));
            foreach (var (name, _, values) in weights.Where(w => w.Name.EndsWith("norm.weight", StringComparison.Ordinal)))
            {
                var got = new float[values.Length];
                ckpt.ReadWeight(name, got);
                Assert.Equal(values.ToArray().Select(v => BFloat16.FromSingle(v).ToSingle()), got);
            }
        }

        // Saving the same directory as one file removes the index and the shards; sharding again removes model.safetensors.
        CheckpointWriter.Save(dir.Path, Tiny, weights, CheckpointFormat.F32);
        Assert.Equal(["config.json", "model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        CheckpointWriter.Save(dir.Path, Tiny, weights, CheckpointFormat.BF16, MaxShard);
        Assert.DoesNotContain("model.safetensors", Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        using (var ckpt = CheckpointDirectory.Open(dir.Path))
        {
            Assert.Equal(DType.BF16, ckpt.Info(weights[0].Name).DType);
            Assert.Empty(ckpt.Check(shapes));
        }
    }

    [Fact]
    public void Save_BadInput_NamesTheWeight()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<ArgumentException>(() => CheckpointWriter.Save(dir.Path, Tiny,
            [("w.weight", [3, 5], new float[14])], CheckpointFormat.F32));
        Assert.Contains("weight 'w.weight': 14 values for shape [3, 5] (15 elements)", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => CheckpointWriter.Save(dir.Path, Tiny,
            [("a.o_proj.weight", [2, 2], new float[4]), ("a.o_proj.weight_scale_inv", [1, 1], new float[1])], CheckpointFormat.Fp8));
        Assert.Contains("clashes with the block scales of 'a.o_proj.weight'", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void LazySave_AsksForEachWeightOnceInOrder_AndWritesWhatTheEagerSaveWrites()
    {
        using var dir = new TempDir();
        var weights = RandomWeights(ParameterShapes.For(Tiny), seed: 5);
        var asked = new List<int>();
        CheckpointWriter.Save(Path.Combine(dir.Path, "lazy"), Tiny, [.. weights.Select(w => (w.Name, w.Shape))], i =>
        {
            asked.Add(i);
            return weights[i].Values;
        }, CheckpointFormat.BF16, maxShardBytes: 64 << 10);
        CheckpointWriter.Save(Path.Combine(dir.Path, "eager"), Tiny, weights, CheckpointFormat.BF16, maxShardBytes: 64 << 10);
        Assert.Equal(Enumerable.Range(0, weights.Count), asked);
        var files = Directory.GetFiles(Path.Combine(dir.Path, "eager")).Select(Path.GetFileName).Order().ToList();
        Assert.True(files.Count > 3, string.Join(", ", files));                      // config, index and several shards
        Assert.Equal(files, Directory.GetFiles(Path.Combine(dir.Path, "lazy")).Select(Path.GetFileName).Order());
        foreach (var file in files) { Assert.Equal(File.ReadAllBytes(Path.Combine(dir.Path, "eager", file!)), File.ReadAllBytes(Path.Combine(dir.Path, "lazy", file!))); }
        var e = Assert.Throws<ArgumentException>(() => CheckpointWriter.Save(Path.Combine(dir.Path, "bad"), Tiny, [("w.weight", [3, 5])], _ => new float[14], CheckpointFormat.F32));
        Assert.Contains("weight 'w.weight': 14 values for shape [3, 5] (15 elements)", e.Message, StringComparison.Ordinal);
    }

    // tiny has an MTP layer whose embed_tokens and shared_head.head are copies of the main tensors (written after the
    // unique ones); a dense config (qwen2, with q/k/v biases) has none.
    [Theory]
    [InlineData("tiny")]
    [InlineData("qwen2")]
    public void RandomCheckpoint_HoldsInitializeRandomsValues(string which)
    {
        using var dir = new TempDir();
        var config = which == "tiny" ? Tiny : ModelConfig.Load(Path.Combine(Repo.Root, "tests", "data", "reference", "qwen2_f32", "config.json"));
        RandomCheckpoint.Write(dir.Path, config, CheckpointFormat.F32, seed: 3, maxShardBytes: 32 << 10);
        using var expected = new ModelWeights(config);
        expected.InitializeRandom(3);
        using var checkpoint = CheckpointDirectory.Open(dir.Path);
        Assert.True(File.Exists(Path.Combine(dir.Path, CheckpointDirectory.IndexFile)));
        Assert.Empty(checkpoint.Check(ParameterShapes.For(config)));
        foreach (var name in expected.Names)
        {
            var values = new float[expected.Get(name).Value.ElementCount];
            checkpoint.ReadWeight(name, values);
            Assert.True(expected.Get(name).Value.AsSpan<float>().SequenceEqual(values), name);
        }
        Assert.Contains(expected.Names, n => n.EndsWith(".bias", StringComparison.Ordinal) || n.EndsWith("embed_tokens.weight", StringComparison.Ordinal) && n.StartsWith("model.layers.", StringComparison.Ordinal));
    }

    private static float[] Fp8RoundTrip(ReadOnlySpan<float> w, int rows, int cols)
    {
        var q = new Float8E4M3[w.Length];
        var s = new float[Fp8Quant.Tiles(rows) * Fp8Quant.Tiles(cols)];
        Fp8Quant.QuantizeWeightBlocks(w, rows, cols, q, s);
        var x = new float[w.Length];
        Fp8Quant.DequantizeWeightBlocks(q, s, rows, cols, x);
        return x;
    }
}
