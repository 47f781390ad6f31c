// CheckpointDirectoryTests.cs: opening checkpoint directories: Check against the tiny inventory (missing tensor, wrong
// shape, unexpected extra, missing FP8 scales), shards that are missing or lack a tensor the index maps to them, unsafe
// shard names, FP8 weights without or with misshapen scales, and directories with no weights at all.
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;

namespace SharpSeek.Model.Tests;

public sealed class CheckpointDirectoryTests
{
    private static readonly ModelConfig Tiny = ModelConfig.LoadPreset("tiny");

    [Fact]
    public void Check_MissingWrongShapeAndExtra_ListsEachByName()
    {
        using var dir = new TempDir();
        var shapes = ParameterShapes.For(Tiny);
        var weights = CheckpointWriterTests.RandomWeights(shapes, seed: 4);
        const string Missing = "model.layers.1.self_attn.kv_b_proj.weight";
        const string Wrong = "model.layers.0.mlp.down_proj.weight";
        weights.RemoveAll(w => w.Name == Missing);
        var i = weights.FindIndex(w => w.Name == Wrong);
        weights[i] = (Wrong, [32, 63], CheckpointTestFiles.Random(new Random(2), 32 * 63));
        weights.Add(("model.layers.0.self_attn.extra.weight", [5], CheckpointTestFiles.Random(new Random(1), 5)));
        CheckpointWriter.Save(dir.Path, Tiny, weights, CheckpointFormat.Fp8);

        using var ckpt = CheckpointDirectory.Open(dir.Path);
        Assert.Equal(
        [
            "shape mismatch: model.layers.0.mlp.down_proj.weight: expected [32, 64], stored [32, 63]",
            "missing: model.layers.1.self_attn.kv_b_proj.weight [64, 16]",
            "unexpected: model.layers.0.self_attn.extra.weight [5]",
        ], ckpt.Check(shapes));
    }

    [Fact]
    public void Check_Fp8WeightWithoutScales_ReportsTheScaleAndReadWeightNamesIt()
    {
        using var dir = new TempDir();
        var rng = new Random(6);
        var q = CheckpointTestFiles.Random(rng, 7 * 129).Select(v => Float8E4M3.FromSingle(v).Bits).ToArray();
        var badScales = CheckpointTestFiles.Random(rng, 2);
        SafeTensorsWriter.Write(Path.Combine(dir.Path, "model.safetensors"),
        [
            new SafeTensorEntry("a.o_proj.weight", DType.F8E4M3, [7, 129], q),
            new SafeTensorEntry("b.o_proj.weight", DType.F8E4M3, [7, 129], q),
            new SafeTensorEntry("b.o_proj.weight_scale_inv", DType.F32, [2, 1], MemoryMarshal.AsBytes(badScales.AsSpan()).ToArray()),
        ]);
        Tiny.Save(Path.Combine(dir.Path, "config.json"));
        using var ckpt = CheckpointDirectory.Open(dir.Path);
        ParameterShape[] expected =
        [
            new("a.o_proj.weight", [7, 129], ParameterComponent.Attention, 0, false, true),
            new("b.o_proj.weight", [7, 129], ParameterComponent.Attention, 0, false, true),
        ];
        Assert.Equal(
        [
            "missing: a.o_proj.weight_scale_inv [1, 2] (block scales of the F8_E4M3 weight)",
            "shape mismatch: b.o_proj.weight_scale_inv: expected [1, 2], stored [2, 1]",
        ], ckpt.Check(expected));
        var ex = Assert.Throws<InvalidDataException>(() => ckpt.ReadWeight("a.o_proj.weight", new float[7 * 129]));
        Assert.Contains("tensor 'a.o_proj.weight': the F8_E4M3 weight has no block scales 'a.o_proj.weight_scale_inv'", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<InvalidDataException>(() => ckpt.ReadWeight("b.o_proj.weight", new float[7 * 129]));
        Assert.Contains("must have shape [1, 2]; stored [2, 1]", ex.Message, StringComparison.Ordinal);
        Assert.Throws<KeyNotFoundException>(() => ckpt.Info("c.o_proj.weight"));
    }

    [Fact]
    public void Open_ShardMissingOrLackingATensor_ErrorNamesTensorAndShard()
    {
        using var dir = new TempDir();
        var shapes = ParameterShapes.For(Tiny);
        var weights = CheckpointWriterTests.RandomWeights(shapes, seed: 9);
        CheckpointWriter.Save(dir.Path, Tiny, weights, CheckpointFormat.BF16, maxShardBytes: 30_000);
        var indexPath = dir.File("model.safetensors.index.json");
        var index = JsonNode.Parse(File.ReadAllText(indexPath))!;
        var map = index["weight_map"]!.AsObject();
        var lastShard = (string)map[weights[^1].Name]!;
        var firstShard = (string)map[weights[0].Name]!;
        Assert.NotEqual(firstShard, lastShard);

        // Point the first tensor at the last shard, which does not hold it, then delete the last shard.
        map[weights[0].Name] = lastShard;
        File.WriteAllText(indexPath, index.ToJsonString());
        using (var ckpt = CheckpointDirectory.Open(dir.Path))
        {
            var ex = Assert.Throws<InvalidDataException>(() => ckpt.Info(weights[0].Name));
            Assert.Contains($"tensor '{weights[0].Name}': mapped to shard '{lastShard}', which does not contain it", ex.Message, StringComparison.Ordinal);
            var got = new float[weights[1].Values.Length];
            ckpt.ReadWeight(weights[1].Name, got);
            Assert.Equal(weights[1].Values.ToArray().Select(v => BFloat16.FromSingle(v).ToSingle()), got);
        }
        File.Delete(dir.File(lastShard));
        using (var ckpt = CheckpointDirectory.Open(dir.Path))
        {
            var ex = Assert.Throws<InvalidDataException>(() => ckpt.ReadWeight(weights[^1].Name, new float[weights[^1].Values.Length]));
            Assert.Contains($"tensor '{weights[^1].Name}': mapped to shard '{lastShard}', which does not exist", ex.Message, StringComparison.Ordinal);
            var problems = ckpt.Check(shapes);
            Assert.Contains(problems, p => p.Contains($"'{weights[^1].Name}': mapped to shard '{lastShard}', which does not exist", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.Contains($"'{weights[0].Name}': mapped to shard '{lastShard}'", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("../model.safetensors")]
    [InlineData("/etc/passwd")]
    [InlineData("")]
    public void Open_IndexWithShardOutsideTheDirectory_Rejected(string shard)
    {
        using var dir = new TempDir();
        Tiny.Save(dir.File("config.json"));
        File.WriteAllText(dir.File("model.safetensors.index.json"), new JsonObject { ["weight_map"] = new JsonObject { ["w"] = shard } }.ToJsonString());
        var ex = Assert.Throws<InvalidDataException>(() => CheckpointDirectory.Open(dir.Path));
        Assert.Contains("tensor 'w'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not a file name inside the directory", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_NoWeightsOrBadIndex_NamesWhatIsMissing()
    {
        using var dir = new TempDir();
        Tiny.Save(dir.File("config.json"));
        var missing = Assert.Throws<FileNotFoundException>(() => CheckpointDirectory.Open(dir.Path));
        Assert.Contains("neither model.safetensors nor model.safetensors.index.json exists", missing.Message, StringComparison.Ordinal);
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{\"metadata\": {}}");
        var ex = Assert.Throws<InvalidDataException>(() => CheckpointDirectory.Open(dir.Path));
        Assert.Contains("\"weight_map\"", ex.Message, StringComparison.Ordinal);
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{\"weight_map\": ");
        ex = Assert.Throws<InvalidDataException>(() => CheckpointDirectory.Open(dir.Path));
        Assert.Contains("not valid JSON", ex.Message, StringComparison.Ordinal);
    }
}
