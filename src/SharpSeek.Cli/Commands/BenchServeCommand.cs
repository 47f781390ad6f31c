// BenchServeCommand.cs: `sharpseek bench serve --model <dir> [--clients 1 4 16] [--requests 32] [--max-tokens 64]
// [--dtype f32|bf16|fp8] [--threads N] [--speculative] [--json]`: the OpenAI server's throughput and p50/p99 latency at
// several client counts over loopback. Not here: the measuring code (bench/SharpSeek.Bench/ServeBench.cs). Tested by
// BenchServeCommandTests.
using System.CommandLine;
using SharpSeek.Bench;

namespace SharpSeek.Cli.Commands;

internal static class BenchServeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory with a tokenizer (a training run's directory is one).", Required = true };
        var clients = new Option<int[]>("--clients") { Description = "Concurrent streaming clients, one level each.", DefaultValueFactory = _ => [1, 4, 16], AllowMultipleArgumentsPerToken = true };
        var requests = new Option<int>("--requests") { Description = "Requests per level, spread over its clients.", DefaultValueFactory = _ => 32 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "max_tokens of every request (greedy; EOS may end a reply sooner).", DefaultValueFactory = _ => 64 };
        var dtype = new Option<string>("--dtype") { Description = "Weights in memory: f32, bf16 or fp8.", DefaultValueFactory = _ => "f32" };
        var threads = new Option<int>("--threads") { Description = "Worker threads of the engine.", DefaultValueFactory = _ => 2 };
        var speculative = new Option<bool>("--speculative") { Description = "Serve with MTP speculation on." };
        var json = new Option<bool>("--json") { Description = "Print the rows as JSON." };
        var command = new Command("serve", "Server throughput and p50/p99 latency at several concurrent streaming clients over loopback.")
        {
            model, clients, requests, maxTokens, dtype, threads, speculative, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var options = new ServeBenchOptions
                {
                    Model = parse.GetValue(model)!,
                    Clients = parse.GetValue(clients) ?? [1, 4, 16],
                    Requests = parse.GetValue(requests),
                    MaxTokens = parse.GetValue(maxTokens),
                    Format = WeightFormatOption.Parse(parse.GetValue(dtype)!),
                    Threads = parse.GetValue(threads),
                    Speculative = parse.GetValue(speculative),
                };
                return await ServeBench.RunAsync(Console.Out, options, parse.GetValue(json));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or InvalidOperationException or HttpRequestException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
