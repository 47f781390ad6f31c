// InitCommandTests.cs: `sharpseek init` end to end: a preset's random checkpoint holds InitializeRandom(seed)'s values (so
// `bench infer --model DIR` measures what `bench infer --config` would); a config file is copied byte for byte and a
// model larger than --shard-mib is split into indexed shards that load; bad options fail naming the option.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;

namespace SharpSeek.Cli.Tests;

public sealed class InitCommandTests
{
    [Fact]
    public void Preset_WritesInitializeRandomsValues()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-init-{Guid.NewGuid():N}");
        try
        {
            var (code, output) = CliTests.Run("init", dir, "--config", "tiny", "--dtype", "f32", "--seed", "4");
            Assert.True(code == 0, output);
            Assert.StartsWith($"wrote {dir}: deepseek_v3, ", output, StringComparison.Ordinal);
            using var expected = new ModelWeights(ModelConfig.LoadPreset("tiny"));
            expected.InitializeRandom(4);
            using var checkpoint = CheckpointDirectory.Open(dir);
            using var loaded = new ModelWeights(checkpoint.Config);
            loaded.Load(checkpoint);
            foreach (var p in expected.Unique) { Assert.True(p.Value.AsSpan<float>().SequenceEqual(loaded.Get(p.Name).Value.AsSpan<float>()), p.Name); }
        }
        finally
        {
            if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); }
        }
    }

    [Fact]
    public void ConfigFile_IsCopiedByteForByte_AndShardsLoad()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-init-{Guid.NewGuid():N}");
        var source = Path.Combine(LayeringTests.RepoRoot(), "tests", "data", "reference", "llama_f32", "config.json");
        var tinyPath = dir + ".json";
        try
        {
            // vocab 16384 × hidden 32 in BF16: the embedding and lm_head are 1 MiB each, so each fills a 1 MiB shard
            File.WriteAllText(tinyPath, File.ReadAllText(source).Replace("\"vocab_size\": 96", "\"vocab_size\": 16384", StringComparison.Ordinal));
            Assert.Equal(16384, ModelConfig.Load(tinyPath).VocabSize);
            var (code, output) = CliTests.Run("init", dir, "--config", tinyPath, "--shard-mib", "1");
            Assert.True(code == 0, output);
            Assert.Contains(", bf16, seed 1, 3 safetensors file(s)", output, StringComparison.Ordinal);   // the embedding, the layers and norm, lm_head
            Assert.Equal(File.ReadAllBytes(tinyPath), File.ReadAllBytes(Path.Combine(dir, "config.json")));
            using var checkpoint = CheckpointDirectory.Open(dir);
            Assert.Empty(checkpoint.Check(ParameterShapes.For(checkpoint.Config)));
            Assert.Equal(DType.BF16, checkpoint.Info("model.embed_tokens.weight").DType);
        }
        finally
        {
            if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); }
            File.Delete(tinyPath);
        }
    }

    [Theory]
    [InlineData("--dtype", "int4", "--dtype must be bf16, f32 or fp8; got 'int4'")]
    [InlineData("--shard-mib", "0", "--shard-mib must be ≥ 1; got 0")]
    public void BadOptions_FailNamingTheOption(string option, string value, string expected)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-init-{Guid.NewGuid():N}");
        var (code, output) = CliTests.Run("init", dir, "--config", "tiny", option, value);
        Assert.Equal(1, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
    }
}
