// ChatCommand.cs: `sharpseek chat --model <dir> [--temperature T] [--top-p P] [--max-new-tokens N] [--dtype …]`: an
// interactive streaming chat in the terminal (ConsoleChat: history, /reset, /exit, reasoning dimmed apart from the
// answer). Not here: the loop (SharpSeek.Inference.Chat.ConsoleChat). Tested by ServeCommandTests (chat as a user runs it).
using System.CommandLine;
using SharpSeek.Inference.Chat;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;

namespace SharpSeek.Cli.Commands;

internal static class ChatCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory with tokenizer.json (a run directory is one).", Required = true };
        var temperature = new Option<double>("--temperature") { Description = "0 is greedy (R1 guidance: 0.6).", DefaultValueFactory = _ => 0.6 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling mass.", DefaultValueFactory = _ => 0.95 };
        var maxNew = new Option<int?>("--max-new-tokens") { Description = "New tokens per reply at most (default: until the context is full)." };
        var seed = new Option<long?>("--seed") { Description = "Seed of the sampler (default: random)." };
        var dtype = new Option<string>("--dtype") { Description = "Weights in memory: f32, bf16 or fp8.", DefaultValueFactory = _ => "f32" };
        var command = new Command("chat", "Chat with a model in the terminal: history, /reset, /exit; reasoning shown apart from the answer.")
        {
            model, temperature, topP, maxNew, seed, dtype,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var dir = parse.GetValue(model)!;
                var sampling = new SamplingParameters { Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP), Seed = parse.GetValue(seed) };
                if (sampling.Temperature < 0) { throw new ArgumentException($"--temperature must be ≥ 0; got {sampling.Temperature}"); }
                if (sampling.TopP is <= 0 or > 1) { throw new ArgumentException($"--top-p must be in (0, 1]; got {sampling.TopP}"); }
                if (parse.GetValue(maxNew) is < 1) { throw new ArgumentException($"--max-new-tokens must be ≥ 1; got {parse.GetValue(maxNew)}"); }
                using var engine = BatchEngine.Load(dir, new BatchEngineOptions { Format = WeightFormatOption.Parse(parse.GetValue(dtype)!), MaxConcurrency = 1, QueueCapacity = 1 });
                ConfigWarnings.Write(dir, Console.Error);
                var tokenizer = engine.Tokenizer ?? throw new FileNotFoundException($"'{dir}' has no tokenizer.json; chat needs one");
                var chat = new ConsoleChat(engine, tokenizer, ChatTemplate.FromModelDirectory(dir),
                    new ConsoleChatOptions { Sampling = sampling, MaxNewTokens = parse.GetValue(maxNew), Ansi = !Console.IsOutputRedirected });
                await chat.RunAsync(Console.In, Console.Out, cancellationToken);
                return 0;
            }
            catch (OperationCanceledException)
            {
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
