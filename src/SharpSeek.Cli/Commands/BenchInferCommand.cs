// BenchInferCommand.cs: `sharpseek bench infer [--model DIR | --config small] [--batches 1 8] [--prompt 64] [--decode 32]
// [--formats f32 bf16 fp8] [--threads N...] [--gguf FILE...] [--no-reference] [--speculative] [--json]` or
// `bench infer [--config small] --prompt-lens 4096 8192 16384`: prefill and
// decode tokens/s per weight format and batch against PyTorch's cached generation (DeepSeek) or llama.cpp's llama-bench
// (dense qwen2/llama models, with load time and resident memory), decode against the bandwidth roofline, MTP speculation.
// Not here: the measuring code (bench/SharpSeek.Bench/InferBench.cs, DenseInferBench.cs). Tested by BenchInferCommandTests.
using System.CommandLine;
using SharpSeek.Bench;

namespace SharpSeek.Cli.Commands;

internal static class BenchInferCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Model directory to measure (default: random weights for --config, written to a temporary checkpoint)." };
        var config = new Option<string>("--config") { Description = "Preset or config.json for random weights.", DefaultValueFactory = _ => "small" };
        var batches = new Option<int[]>("--batches") { Description = "Sequences decoded together (default: 1 8 for DeepSeek, 1 for a dense model).", AllowMultipleArgumentsPerToken = true };
        var prompt = new Option<int>("--prompt") { Description = "Prompt tokens per sequence (one prefill step).", DefaultValueFactory = _ => 64 };
        var decode = new Option<int>("--decode") { Description = "Timed greedy decode steps (and new tokens per speculation prompt).", DefaultValueFactory = _ => 32 };
        var formats = new Option<string[]>("--formats") { Description = "Weight formats: f32, bf16, fp8 (a dense model's row says n/a where the runtime cannot hold it in one yet).", DefaultValueFactory = _ => ["f32", "bf16", "fp8"], AllowMultipleArgumentsPerToken = true };
        var threads = new Option<int[]>("--threads") { Description = "Threads for both sides; a dense model takes several (e.g. 1 2), each measured in turn.", DefaultValueFactory = _ => [2], AllowMultipleArgumentsPerToken = true };
        var gguf = new Option<string[]>("--gguf") { Description = "GGUF files of the same weights for llama-bench (dense models; default: the LLAMA_GGUF list; llama-bench from LLAMA_BENCH or PATH).", AllowMultipleArgumentsPerToken = true };
        var noReference = new Option<bool>("--no-reference") { Description = "Skip the PyTorch side." };
        var speculative = new Option<bool>("--speculative") { Description = "Also greedy-decode with and without MTP speculation (needs an MTP module)." };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var promptLens = new Option<int[]>("--prompt-lens") { Description = "Instead: one prompt of each length (e.g. 4096 8192 16384) prefilled in one step of --config's random weights in F32 (--threads' first count): tok/s, scratch and KV cache per token, the check that prefill memory stays linear in T.", AllowMultipleArgumentsPerToken = true };
        var warmup = new Option<double>("--warmup-seconds") { Description = "Untimed work before timing each format and batch.", DefaultValueFactory = _ => 3, Hidden = true };
        var command = new Command("infer", "Prefill and decode tokens/s per weight format and batch against PyTorch, the decode roofline, and MTP speculation.")
        {
            model, config, batches, prompt, decode, formats, threads, gguf, noReference, speculative, json, promptLens, warmup,
        };
        command.SetAction(parse =>
        {
            try
            {
                if (parse.GetValue(promptLens) is { Length: > 0 } lengths)
                {
                    if (parse.GetValue(model) is not null) { throw new ArgumentException("--prompt-lens measures --config's random weights in F32; leave out --model"); }
                    var results = PrefillLengthBench.Measure(parse.GetValue(config)!, lengths, parse.GetValue(threads) is { Length: > 0 } t ? t[0] : 2);
                    Console.Out.WriteLine(parse.GetValue(json) ? System.Text.Json.JsonSerializer.Serialize(results) : PrefillLengthBench.Table(parse.GetValue(config)!, results));
                    return 0;
                }
                var dir = parse.GetValue(model);
                var measured = dir is not null ? SharpSeek.Model.ModelConfig.Load(SharpSeek.Model.Checkpoint.CheckpointCommit.Resolve(dir, "config.json"))
                    : SharpSeek.Model.ModelConfig.LoadPreset(parse.GetValue(config)!);
                var options = new InferBenchOptions
                {
                    Model = dir,
                    Config = parse.GetValue(config)!,
                    Batches = parse.GetValue(batches) is { Length: > 0 } b ? b : measured.IsDense ? [1] : [1, 8],
                    Prompt = parse.GetValue(prompt),
                    Decode = parse.GetValue(decode),
                    Formats = [.. (parse.GetValue(formats) ?? []).Select(f => WeightFormatOption.Parse(f, "--formats"))],
                    Threads = parse.GetValue(threads) ?? [2],
                    Gguf = parse.GetValue(gguf) ?? [],
                    Reference = !parse.GetValue(noReference),
                    Speculative = parse.GetValue(speculative),
                    WarmupSeconds = parse.GetValue(warmup),
                };
                if (measured.IsDense)
                {
                    if (options.Speculative) { throw new InvalidOperationException($"--speculative needs an MTP module; a {measured.ModelType} model has none"); }
                    return DenseInferBench.Run(Console.Out, options, parse.GetValue(json));
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
