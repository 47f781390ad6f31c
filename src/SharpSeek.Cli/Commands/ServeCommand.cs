// ServeCommand.cs: `sharpseek serve --model <dir> [--host 127.0.0.1] [--port 8000] [--api-key KEY] [--max-concurrency N]
// [--queue N] [--context N] [--dtype f32|bf16|fp8] [--name ID] [--speculative]`: loads a model directory into the batching engine and
// serves it over the OpenAI API (docs/server.md) until Ctrl+C. Not here: the server (SharpSeek.Server). Tested by
// ServeCommandTests.
using System.CommandLine;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;
using SharpSeek.Server;

namespace SharpSeek.Cli.Commands;

internal static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory: config.json, model.safetensors, tokenizer.json (a run directory is one).", Required = true };
        var host = new Option<string>("--host") { Description = "Address to listen on.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0: a free one, printed at start).", DefaultValueFactory = _ => 8000 };
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' on every route but /health." };
        var concurrency = new Option<int>("--max-concurrency") { Description = "Sequences decoding together (KV-cache slots).", DefaultValueFactory = _ => 4 };
        var queue = new Option<int>("--queue") { Description = "Requests waiting for a slot before 429.", DefaultValueFactory = _ => 64 };
        var context = new Option<int?>("--context") { Description = "Prompt plus output tokens per request (default: the model's max_position_embeddings)." };
        var dtype = new Option<string>("--dtype") { Description = "Weights in memory: f32, bf16 or fp8.", DefaultValueFactory = _ => "f32" };
        var name = new Option<string?>("--name") { Description = "Model id clients send and /v1/models lists (default: the directory name)." };
        var speculative = new Option<bool>("--speculative") { Description = "Draft with the MTP module and verify with the main model, for greedy requests (output unchanged)." };
        var command = new Command("serve", "Serve a model over the OpenAI API: /v1/chat/completions, /v1/completions, /v1/models, /health, /metrics.")
        {
            model, host, port, apiKey, concurrency, queue, context, dtype, name, speculative,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var dir = parse.GetValue(model)!;
                using var engine = BatchEngine.Load(dir, new BatchEngineOptions
                {
                    Format = WeightFormatOption.Parse(parse.GetValue(dtype)!),
                    MaxConcurrency = parse.GetValue(concurrency),
                    QueueCapacity = parse.GetValue(queue),
                    MaxContext = parse.GetValue(context),
                });
                ConfigWarnings.Write(dir, Console.Error);
                var tokenizer = engine.Tokenizer ?? throw new FileNotFoundException($"'{dir}' has no tokenizer.json; the server needs one");
                if (parse.GetValue(speculative) && !engine.CanSpeculate)
                {
                    throw new ArgumentException($"--speculative needs an MTP module; '{dir}' has none (num_nextn_predict_layers is 0)");
                }
                var id = parse.GetValue(name) ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));
                await using var server = new SharpSeekServer(engine, tokenizer, ChatTemplate.FromModelDirectory(dir), id,
                    new ServerOptions { Host = parse.GetValue(host)!, Port = parse.GetValue(port), ApiKey = parse.GetValue(apiKey), Speculative = parse.GetValue(speculative) });
                await server.StartAsync(cancellationToken);
                var m = engine.Metrics;
                Console.Out.WriteLine($"serving '{id}' at {server.Url} (context {server.ContextLength}, {engine.MaxConcurrency} slots, queue {parse.GetValue(queue)}); Ctrl+C stops");
                Console.Out.WriteLine($"kv cache: {m.KvCacheBytesPerToken:N0} bytes per token (an MHA cache of the same heads: {m.KvCacheMhaRatio:F1}× that), {m.KvCacheCapacityBytes / 1048576.0:F1} MiB for all slots");
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl+C: stop listening, let DisposeAsync end the open requests
                }
                return 0;
            }
            catch (Exception e) when (UserError.Is(e))
            {
                return UserError.Report(e);
            }
        });
        return command;
    }
}
