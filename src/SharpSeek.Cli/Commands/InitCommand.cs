// InitCommand.cs: `sharpseek init DIR --config <preset|config.json> [--dtype bf16] [--seed 1] [--shard-mib 1024]`: a
// checkpoint of random weights for a config, for benchmarks (`bench infer --model DIR`) of models too large to train
// here. A config given as a file is copied byte for byte (e.g. a published config.json, tests/data/reference/published/).
// Not here: the writing (SharpSeek.Model/Checkpoint/RandomCheckpoint.cs), a tokenizer (random weights need none).
// Tested by InitCommandTests.
using System.CommandLine;
using System.Diagnostics;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;

namespace SharpSeek.Cli.Commands;

internal static class InitCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("dir") { Description = "Directory to write (created; weights of an earlier save there are replaced)." };
        var config = new Option<string>("--config") { Description = "Preset (tiny, small), config.json path or model directory.", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "Stored dtype: bf16, f32 or fp8 (the DeepSeek-V3 release layout).", DefaultValueFactory = _ => "bf16" };
        var seed = new Option<int>("--seed") { Description = "Seed of the weights (the values of `bench infer --config`'s random weights at seed 1).", DefaultValueFactory = _ => 1 };
        var shard = new Option<int>("--shard-mib") { Description = "Largest shard in MiB; a larger model is split into model-0000k-of-0000n.safetensors with an index.", DefaultValueFactory = _ => 1024 };
        var command = new Command("init", "Write a checkpoint of random weights for a config (for benchmarks; no tokenizer).") { dir, config, dtype, seed, shard };
        command.SetAction(parse => Run(parse.GetValue(dir)!, parse.GetValue(config)!, parse.GetValue(dtype)!, parse.GetValue(seed), parse.GetValue(shard), Console.Out, Console.Error));
        return command;
    }

    private static int Run(string dir, string configName, string dtype, int seed, int shardMib, TextWriter output, TextWriter errors)
    {
        try
        {
            var format = dtype switch
            {
                "bf16" => CheckpointFormat.BF16,
                "f32" => CheckpointFormat.F32,
                "fp8" => CheckpointFormat.Fp8,
                _ => throw new ArgumentException($"--dtype must be bf16, f32 or fp8; got '{dtype}'"),
            };
            if (shardMib < 1) { throw new ArgumentException($"--shard-mib must be ≥ 1; got {shardMib}"); }
            var config = ModelConfig.LoadPreset(configName);
            ConfigWarnings.Write(config, errors);
            ModelFootprint.EnsureEnumerable(config, configName);
            var source = File.Exists(configName) ? configName : Directory.Exists(configName) ? Path.Combine(configName, CheckpointDirectory.ConfigFile) : null;
            var start = Stopwatch.GetTimestamp();
            RandomCheckpoint.Write(dir, config, format, seed, (long)shardMib << 20);
            if (source is not null && Path.GetFullPath(source) != Path.GetFullPath(Path.Combine(dir, CheckpointDirectory.ConfigFile)))
            {
                var bytes = File.ReadAllBytes(source);
                AtomicFile.Write(Path.Combine(dir, CheckpointDirectory.ConfigFile), s => s.Write(bytes));
            }
            var count = ParameterShapes.Count(config);
            output.WriteLine($"wrote {dir}: {config.ModelType}, {count.Total:N0} parameters, {dtype}, seed {seed}, {Directory.GetFiles(dir, "*.safetensors").Length} safetensors file(s), {Stopwatch.GetElapsedTime(start).TotalSeconds:F0} s");
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or InvalidOperationException or UnauthorizedAccessException)
        {
            errors.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
