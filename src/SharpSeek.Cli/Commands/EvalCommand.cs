// EvalCommand.cs: `sharpseek eval --model DIR --task <name|file.jsonl> [--samples k] [--temperature 0.6] [--top-p 0.95]
// [--problems N] [--json]`: DeepSeek-R1's evaluation on the task's held-out problems (pass@1 over k samples, cons@k,
// pass@k, greedy, format rate, mean length, per difficulty level) as a table or JSON; `--task passkey [--lengths …]
// [--depths N] [--trials N] [--plot DIR]`: the needle-in-a-haystack grid, a table or JSON, and its heatmap and loss by
// position as PNGs. Not here: the protocols (Evaluation, PasskeyEval). Tested by EvalCommandTests.
using System.CommandLine;
using System.Text.Json;
using SharpSeek.Rl.Eval;
using SharpSeek.Rl.Prompts;
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Cli.Commands;

internal static class EvalCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static Command Create()
    {
        var d = new EvalOptions();
        var model = new Option<string>("--model") { Description = "Model directory (weights, config.json, tokenizer.json).", Required = true };
        var task = new Option<string>("--task") { Description = "arithmetic, add, sub, mul, word, countdown or mix (with levels, e.g. add:1-3), a .jsonl file, or passkey (needle in a haystack).", DefaultValueFactory = _ => "arithmetic" };
        var samples = new Option<int>("--samples") { Description = "Samples per problem (k).", DefaultValueFactory = _ => d.Samples };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature (R1: 0.6).", DefaultValueFactory = _ => d.Temperature };
        var topP = new Option<double>("--top-p") { Description = "Nucleus (R1: 0.95).", DefaultValueFactory = _ => d.TopP };
        var problems = new Option<int>("--problems") { Description = "Distinct held-out problems at most.", DefaultValueFactory = _ => d.Problems };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "New tokens per completion at most.", DefaultValueFactory = _ => d.MaxNewTokens };
        var template = new Option<string>("--template") { Description = "r1zero (DeepSeek-R1's Table 1), plain (User: …\\nAssistant:) or chat (the model's chat template).", DefaultValueFactory = _ => d.Template };
        template.AcceptOnlyFromAmong([.. PromptFormats.Names]);
        var noGreedy = new Option<bool>("--no-greedy") { Description = "Skip the greedy completion per problem." };
        var seed = new Option<int>("--seed") { Description = "Seed of the samples.", DefaultValueFactory = _ => d.Seed };
        var dtype = new Option<string>("--dtype") { Description = "Weights in memory: f32, bf16 or fp8.", DefaultValueFactory = _ => "f32" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var p = new PasskeyOptions();
        var lengths = new Option<int[]>("--lengths") { Description = "passkey: context lengths in tokens (prompt and answer).", DefaultValueFactory = _ => [.. p.Lengths], AllowMultipleArgumentsPerToken = true };
        var depths = new Option<int>("--depths") { Description = "passkey: needle depths, evenly spaced from the start to the end of the filler.", DefaultValueFactory = _ => p.Depths };
        var trials = new Option<int>("--trials") { Description = "passkey: prompts (random keys) per length and depth.", DefaultValueFactory = _ => p.Trials };
        var plot = new Option<string?>("--plot") { Description = "passkey: write passkey.png (accuracy by length and depth) and position_loss.png into this directory." };
        var command = new Command("eval", "Evaluate a model on a task's held-out problems the way DeepSeek-R1 reports (pass@1 over k samples, cons@k, pass@k).")
        {
            model, task, samples, temperature, topP, problems, maxNew, template, noGreedy, seed, dtype, json, lengths, depths, trials, plot,
        };
        command.SetAction(parse =>
        {
            var o = new EvalOptions
            {
                Samples = parse.GetValue(samples),
                Temperature = parse.GetValue(temperature),
                TopP = parse.GetValue(topP),
                Problems = parse.GetValue(problems),
                MaxNewTokens = parse.GetValue(maxNew),
                Template = parse.GetValue(template)!,
                Greedy = !parse.GetValue(noGreedy),
                Seed = parse.GetValue(seed),
            };
            try
            {
                if (o.Samples < 1) { throw new ArgumentException($"--samples must be at least 1; got {o.Samples}"); }
                if (o.Problems < 1) { throw new ArgumentException($"--problems must be at least 1; got {o.Problems}"); }
                var dir = parse.GetValue(model)!;
                if (parse.GetValue(task) == "passkey")
                {
                    var po = new PasskeyOptions { Lengths = parse.GetValue(lengths)!, Depths = parse.GetValue(depths), Trials = parse.GetValue(trials), Seed = o.Seed };
                    return Passkey(PasskeyEval.Run(dir, po, WeightFormatOption.Parse(parse.GetValue(dtype)!), (done, total) => { if (!parse.GetValue(json)) { Console.Error.Write($"\r{done}/{total} prompts"); } }),
                        parse.GetValue(json), parse.GetValue(plot));
                }
                var tasks = TaskCatalog.Resolve(parse.GetValue(task)!, o.Seed);
                using var engine = Evaluation.LoadEngine(dir, o.Samples + 1, o.MaxNewTokens, WeightFormatOption.Parse(parse.GetValue(dtype)!));
                var tokenizer = engine.Tokenizer!;
                var report = Evaluation.Run(engine, tokenizer, tasks, o, (done, total) => { if (!parse.GetValue(json)) { Console.Error.Write($"\r{done}/{total} problems"); } }, dir);
                if (parse.GetValue(json))
                {
                    Console.Out.WriteLine(JsonSerializer.Serialize(report, Json));
                    return 0;
                }
                Console.Error.WriteLine();
                Console.Out.WriteLine($"{report.Task}: {o.Samples} samples per problem at temperature {o.Temperature}, top-p {o.TopP}; {report.Seconds:F1} s, {report.TokensPerSecond:N0} tok/s");
                Console.Out.WriteLine($"{"level",-6} {"problems",8} {"pass@1",7} {$"cons@{o.Samples}",7} {$"pass@{o.Samples}",7} {"greedy",7} {"format",7} {"lang",7} {"length",7}");
                foreach (var r in report.Rows)
                {
                    Console.Out.WriteLine($"{r.Level,-6} {r.Problems,8} {r.Pass1,7:P1} {r.ConsK,7:P1} {r.PassK,7:P1} {(r.GreedyAccuracy is { } g ? g.ToString("P1") : "-"),7} {r.FormatRate,7:P1} {r.LanguageRate,7:P1} {r.MeanLength,7:F1}"
                        + (r.Unscorable > 0 ? $"  ({r.Unscorable} unscorable)" : ""));
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

    private static int Passkey(PasskeyReport report, bool json, string? plotDir)
    {
        if (plotDir is not null) { PlotCommand.WritePasskey(report, plotDir); }
        if (json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(report, Json));
            return 0;
        }
        Console.Error.WriteLine();
        var lengths = report.Cells.Select(c => c.Length).Distinct().ToList();
        Console.Out.WriteLine($"passkey retrieval of {report.Model} (context {report.Context}), accuracy by length (columns) and needle depth (rows); {report.Seconds:F1} s");
        Console.Out.WriteLine($"{"depth",6}" + string.Concat(lengths.Select(l => $"{l,8}")));
        foreach (var depth in report.Cells.Select(c => c.Depth).Distinct())
        {
            Console.Out.WriteLine($"{depth,6:P0}" + string.Concat(lengths.Select(l => report.Cells.First(c => c.Length == l && c.Depth == depth).Accuracy is { } a ? $"{a,8:P0}" : $"{"-",8}")));
        }
        foreach (var b in report.LossByPosition) { Console.Out.WriteLine($"loss at positions {b.Start}–{b.End - 1}: {b.Loss:F4}"); }
        return 0;
    }
}
