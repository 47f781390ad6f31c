// CheckpointDirectoryTests.cs: opening checkpoint directories: Check against the tiny inventory (missing tensor, wrong
// shape, unexpected extra, missing FP8 scales), shards that are missing or lack a tensor the index maps to them, unsafe
// shard names, FP8 weights without or with misshapen scales, and directories with no weights at all; the newest complete
// checkpoint found through a committed staging folder a crash left (first checkpoint, half-moved, uncommitted); a config
// the tensors contradict reported cause first with at most five problems; configs too large for memory refused at open;
// a tied model whose file also stores lm_head.weight: accepted when it is the embedding, refused naming the key otherwise.
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
    public void TiedModel_WithTheHeadStoredToo_LoadsWhenItIsTheEmbedding_AndIsRefusedOtherwise()
    {
        var qwen = CheckpointDirectory.Open(Repo.Data(Path.Combine("reference", "qwen2_f32")));
        var config = qwen.Config;
        qwen.Dispose();
        Assert.True(config.TieWordEmbeddings);
        var shapes = ParameterShapes.For(config);
        var weights = CheckpointWriterTests.RandomWeights(shapes, seed: 8);
        var embedding = weights.Single(w => w.Name == WeightNames.Embedding);
        foreach (var (head, ok) in new[] { (embedding.Values, true), ((ReadOnlyMemory<float>)CheckpointTestFiles.Random(new Random(3), embedding.Values.Length), false) })
        {
            using var dir = new TempDir();
            CheckpointWriter.Save(dir.Path, config, [.. weights, (WeightNames.Head, embedding.Shape, head)], CheckpointFormat.F32);
            using var ckpt = CheckpointDirectory.Open(dir.Path);
            if (ok)
            {
                ConfigMismatch.EnsureMatches(ckpt, config); // transformers ties the head; the stored copy is the same tensor
                using var model = new ModelWeights(config);
                model.Load(ckpt);
                Assert.Equal(embedding.Values.ToArray(), model.Head.Weight.Value.AsSpan<float>().ToArray());
            }
            else
            {
                var e = Assert.Throws<InvalidDataException>(() => ConfigMismatch.EnsureMatches(ckpt, config));
                Assert.Contains("tie_word_embeddings is true but the stored lm_head.weight is not model.embed_tokens.weight; set tie_word_embeddings to false", e.Message);
            }
        }
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

    // A crash between the commit marker and the renames: readers find the staged files (CheckpointCommit.Resolve), an
    // uncommitted staging folder is ignored, and a half-done roll-forward reads the moved files from the directory.
    [Fact]
    public void Open_CommittedStagingLeftByACrash_ReadsTheNewestCompleteCheckpoint()
    {
        using var dir = new TempDir();
        var shapes = ParameterShapes.For(Tiny);
        var (older, newer) = (CheckpointWriterTests.RandomWeights(shapes, seed: 1), CheckpointWriterTests.RandomWeights(shapes, seed: 2));
        var next = Path.Combine(dir.Path, CheckpointCommit.StagingFolder);
        float[] Read(string tensor)
        {
            using var ckpt = CheckpointDirectory.Open(dir.Path);
            var values = new float[ckpt.Info(tensor).Elements];
            ckpt.ReadWeight(tensor, values);
            return values;
        }
        var name = newer[3].Name;

        // The first checkpoint committed but not moved: the run directory has only the config training starts with.
        Tiny.Save(dir.File("config.json"));
        CheckpointWriter.Save(next, Tiny, newer, CheckpointFormat.F32);
        Assert.Throws<FileNotFoundException>(() => CheckpointDirectory.Open(dir.Path)); // not committed yet: nothing to read
        File.WriteAllText(Path.Combine(next, CheckpointCommit.Marker), "");
        Assert.Equal(newer[3].Values.ToArray(), Read(name));

        // An older checkpoint in place: the committed staged one still wins; without the marker the older one is read.
        CheckpointWriter.Save(dir.Path, Tiny, older, CheckpointFormat.F32);
        Assert.Equal(newer[3].Values.ToArray(), Read(name));
        Assert.Equal(Path.Combine(next, "model.safetensors"), CheckpointCommit.Resolve(dir.Path, "model.safetensors"));
        File.Delete(Path.Combine(next, CheckpointCommit.Marker));
        Assert.Equal(older[3].Values.ToArray(), Read(name));

        // Committed and half rolled forward (config and weights already moved, the rest not): the moved files are read.
        File.WriteAllText(Path.Combine(next, CheckpointCommit.Marker), "");
        File.WriteAllText(Path.Combine(next, "trainer_state.json"), "{}");
        File.Move(Path.Combine(next, "model.safetensors"), dir.File("model.safetensors"), overwrite: true);
        File.Move(Path.Combine(next, "config.json"), dir.File("config.json"), overwrite: true);
        Assert.Equal(newer[3].Values.ToArray(), Read(name));
        CheckpointCommit.Recover(dir.Path, ["config.json", "model.safetensors", "trainer_state.json"]);
        Assert.False(Directory.Exists(next));
        Assert.Equal("{}", File.ReadAllText(dir.File("trainer_state.json")));
        Assert.Equal(newer[3].Values.ToArray(), Read(name));

        // Staged shards with their index beat an older single file in place: the weights come from one folder.
        CheckpointWriter.Save(dir.Path, Tiny, older, CheckpointFormat.F32);
        CheckpointWriter.Save(next, Tiny, newer, CheckpointFormat.F32, maxShardBytes: 30_000);
        File.WriteAllText(Path.Combine(next, CheckpointCommit.Marker), "");
        Assert.True(File.Exists(Path.Combine(next, "model.safetensors.index.json")));
        Assert.Equal(newer[^1].Values.ToArray(), Read(newer[^1].Name));
    }

    // A config.json without hidden_size (so 7168) against the tiny checkpoint: one line with the cause, the counts, five
    // problems and a tally of the rest, not a line per tensor.
    [Fact]
    public void Load_ConfigContradictingTheTensors_SaysTheCauseFirstAndListsAtMostFive()
    {
        using var dir = new TempDir();
        var shapes = ParameterShapes.For(Tiny);
        CheckpointWriter.Save(dir.Path, Tiny, CheckpointWriterTests.RandomWeights(shapes, seed: 3), CheckpointFormat.BF16);
        var json = JsonNode.Parse(File.ReadAllText(dir.File("config.json")))!.AsObject();
        json.Remove("hidden_size");
        File.WriteAllText(dir.File("config.json"), json.ToJsonString());

        using var ckpt = CheckpointDirectory.Open(dir.Path);
        var ex = Assert.Throws<InvalidDataException>(() => ConfigMismatch.EnsureMatches(ckpt, ckpt.Config));
        var lines = ex.Message.Split('\n');
        Assert.Equal($"{dir.Path}: the checkpoint does not match its config.json: config.json has hidden_size = 7168 (the default: config.json does not set it), "
            + "but the tensors say 32 (model.embed_tokens.weight is stored [256, 32])", lines[0]);
        var expected = ParameterShapes.For(ckpt.Config).Count;
        var problems = ckpt.Check(ParameterShapes.For(ckpt.Config)).Count;
        Assert.Equal($"{problems} of {expected} tensors do not match config.json; {problems} problems, the first 5:", lines[1]);
        Assert.Equal(8, lines.Length);
        Assert.Equal($"  ... and {problems - 5} more", lines[^1]);

        // A layer count off (through ModelWeights.Load), and a mismatch no probe explains (one tensor missing): the layers,
        // then the bare count.
        Tiny.Save(dir.File("config.json"));
        using (var fewer = CheckpointDirectory.Open(dir.Path))
        {
            using var weights = new ModelWeights(Tiny with { NumHiddenLayers = 2 });
            var e = Assert.Throws<InvalidDataException>(() => weights.Load(fewer));
            Assert.EndsWith("config.json has num_hidden_layers + num_nextn_predict_layers = 2 + 1, but the tensors have 4 layers (model.layers.0 .. model.layers.3)",
                e.Message.Split('\n')[0], StringComparison.Ordinal);
        }
        var weightsLess = CheckpointWriterTests.RandomWeights(shapes, seed: 3);
        weightsLess.RemoveAll(w => w.Name == "model.layers.1.self_attn.kv_b_proj.weight");
        CheckpointWriter.Save(dir.Path, Tiny, weightsLess, CheckpointFormat.BF16);
        using var one = CheckpointDirectory.Open(dir.Path);
        var first = Assert.Throws<InvalidDataException>(() => ConfigMismatch.EnsureMatches(one, Tiny)).Message.Split('\n');
        Assert.EndsWith($"its config.json: 1 of {shapes.Count} tensors do not match config.json", first[0], StringComparison.Ordinal);
        Assert.Equal(["1 problem:", "  missing: model.layers.1.self_attn.kv_b_proj.weight [64, 16]"], first[1..]);
    }

    // The campaign's configs (10^6 layers, 10^9 experts) are refused at open, from arithmetic alone, naming the file.
    [Theory]
    [InlineData("num_hidden_layers", 1_000_000)]
    [InlineData("n_routed_experts", 1_000_000_000)]
    public void Open_ConfigTooLargeForMemory_RefusedNamingTheFile(string field, int value)
    {
        using var dir = new TempDir();
        var json = JsonNode.Parse(File.ReadAllText(Repo.Config("tiny.json")))!.AsObject();
        json[field] = value;
        File.WriteAllText(dir.File("config.json"), json.ToJsonString());
        var before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<InvalidDataException>(() => CheckpointDirectory.Open(dir.Path));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 10_000_000);
        Assert.Contains(dir.File("config.json"), ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{field} = {value}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("this process can use", ex.Message, StringComparison.Ordinal);
    }
}
