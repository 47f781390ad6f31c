// BenchInferCommand.cs: `sharpseek bench infer [--model DIR | --config small] [--batches 1 8] [--prompt 64] [--decode 32]
// [--formats f32 bf16 fp8] [--threads N] [--no-reference] [--speculative] [--json]`: prefill and decode tokens/s per
// weight format and batch against PyTorch's cached generation, decode against the bandwidth roofline, MTP speculation.
// Not here: the measuring code (bench/SharpSeek.Bench/InferBench.cs). Tested by BenchInferCommandTests.
using System.CommandLine;
using SharpSeek.Bench;

namespace SharpSeek.Cli.Commands;

internal static class BenchInferCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Model directory to measure (default: random weights for --config, written to a temporary checkpoint)." };
        var config = new Option<string>("--config") { Description = "Preset or config.json for random weights.", DefaultValueFactory = _ => "small" };
        var batches = new Option<int[]>("--batches") { Description = "Sequences decoded together.", DefaultValueFactory = _ => [1, 8], AllowMultipleArgumentsPerToken = true };
        var prompt = new Option<int>("--prompt") { Description = "Prompt tokens per sequence (one prefill step).", DefaultValueFactory = _ => 64 };
        var decode = new Option<int>("--decode") { Description = "Timed greedy decode steps (and new tokens per speculation prompt).", DefaultValueFactory = _ => 32 };
        var formats = new Option<string[]>("--formats") { Description = "Weight formats: f32, bf16, fp8.", DefaultValueFactory = _ => ["f32", "bf16", "fp8"], AllowMultipleArgumentsPerToken = true };
        var threads = new Option<int>("--threads") { Description = "Threads for both SharpSeek and PyTorch.", DefaultValueFactory = _ => 2 };
        var noReference = new Option<bool>("--no-reference") { Description = "Skip the PyTorch side." };
        var speculative = new Option<bool>("--speculative") { Description = "Also greedy-decode with and without MTP speculation (needs an MTP module)." };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var warmup = new Option<double>("--warmup-seconds") { Description = "Untimed work before timing each format and batch.", DefaultValueFactory = _ => 3, Hidden = true };
        var command = new Command("infer", "Prefill and decode tokens/s per weight format and batch against PyTorch, the decode roofline, and MTP speculation.")
        {
            model, config, batches, prompt, decode, formats, threads, noReference, speculative, json, warmup,
        };
        command.SetAction(parse =>
        {
            try
            {
                var options = new InferBenchOptions
                {
                    Model = parse.GetValue(model),
                    Config = parse.GetValue(config)!,
                    Batches = parse.GetValue(batches) ?? [1, 8],
                    Prompt = parse.GetValue(prompt),
                    Decode = parse.GetValue(decode),
                    Formats = [.. (parse.GetValue(formats) ?? []).Select(f => WeightFormatOption.Parse(f, "--formats"))],
                    Threads = parse.GetValue(threads),
                    Reference = !parse.GetValue(noReference),
                    Speculative = parse.GetValue(speculative),
                    WarmupSeconds = parse.GetValue(warmup),
                };
                var measured = options.Model is { } dir ? SharpSeek.Model.ModelConfig.Load(SharpSeek.Model.Checkpoint.CheckpointCommit.Resolve(dir, "config.json"))
                    : SharpSeek.Model.ModelConfig.LoadPreset(options.Config);
                if (measured.IsDense)
                {
                    throw new InvalidOperationException($"bench infer measures DeepSeek (MLA) models; this model is {measured.ModelType}, whose runtime step (the layer objects on the tape, a one-thread GQA attention loop) is not benchmarked yet");
                }
                return InferBench.Run(Console.Out, options, parse.GetValue(json));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or InvalidOperationException or KeyNotFoundException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

}
