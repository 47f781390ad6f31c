// SftCommand.cs: `sharpseek sft --model <dir> --data <file.jsonl|tasks> [--out runs/<model>-sft] [--template r1zero|plain|chat]
// [--examples N] [--epochs N | --steps N] [--seq-len N] [--lr …] [--resume]`: supervised fine-tuning with the loss on
// completion tokens only, examples packed whole, an eval loss on held-out examples; progress as train shows it, Ctrl+C
// checkpoints. Not here: the data and packing (Rl's SftRun), the loop (TrainingRun). Tested by SftCommandTests.
using System.CommandLine;
using SharpSeek.Rl.Prompts;
using SharpSeek.Rl.Sft;
using SharpSeek.Training.Runs;

namespace SharpSeek.Cli.Commands;

internal static class SftCommand
{
    public static Command Create()
    {
        var d = new SftOptions();
        var model = new Option<string?>("--model") { Description = "The model directory to fine-tune (weights, config.json, tokenizer.json)." };
        var data = new Option<string?>("--data") { Description = "A .jsonl file of {\"prompt\", \"completion\"} or {\"messages\": […]} lines (the last assistant turn is learned), or built-in task names (add:1-3, mix, …) whose worked solutions become the completions." };
        var output = new Option<string?>("--out") { Description = "Run directory, also a model directory (default: runs/<model>-sft)." };
        var template = new Option<string>("--template") { Description = "How prompts are rendered: r1zero (DeepSeek-R1's Table 1), plain (User: …\\nAssistant:) or chat (the model's chat template).", DefaultValueFactory = _ => d.Template };
        template.AcceptOnlyFromAmong([.. PromptFormats.Names]);
        var examples = new Option<int>("--examples") { Description = "Examples drawn from built-in tasks (a file gives all its lines).", DefaultValueFactory = _ => d.Examples };
        var epochs = new Option<double>("--epochs") { Description = "Passes over the training examples (sets the step count).", DefaultValueFactory = _ => d.Epochs };
        var steps = new Option<long?>("--steps") { Description = "Optimizer steps instead of --epochs (on --resume, the saved count unless given)." };
        var seqLen = new Option<int>("--seq-len") { Description = "Tokens per packed window; longer examples are skipped and counted.", DefaultValueFactory = _ => d.SeqLen };
        var microBatch = new Option<int>("--micro-batch") { Description = "Windows per forward/backward pass.", DefaultValueFactory = _ => d.MicroBatch };
        var batchTokens = new Option<int>("--batch-tokens") { Description = "Tokens per optimizer step (micro-batches are accumulated).", DefaultValueFactory = _ => d.BatchTokens };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (warm-up, then cosine down to 10%).", DefaultValueFactory = _ => d.Lr };
        var seed = new Option<int>("--seed") { Description = "Seed of the examples drawn, the held-out split and the data order.", DefaultValueFactory = _ => d.Seed };
        var evalEvery = new Option<int>("--eval-every") { Description = "Eval loss on the held-out examples every N steps (0: never).", DefaultValueFactory = _ => d.EvalEvery };
        var precision = PrecisionOption.Create();
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out exactly where its last checkpoint left it." };
        var command = new Command("sft", "Supervised fine-tuning on prompt/completion or chat data, loss on the completions only.")
        {
            model, data, output, template, examples, epochs, steps, seqLen, microBatch, batchTokens, lr, seed, evalEvery, precision, resume,
        };
        command.SetAction(parse =>
        {
            var from = parse.GetValue(model);
            try
            {
                RunOptions options;
                if (parse.GetValue(resume))
                {
                    var dir = parse.GetValue(output) ?? throw new ArgumentException("--resume needs --out: the run directory to continue");
                    options = TrainingRun.ResumeOptions(dir, parse.GetValue(steps));
                }
                else
                {
                    if (from is null) { throw new ArgumentException("--model: the model to fine-tune is required"); }
                    var source = parse.GetValue(data) ?? throw new ArgumentException("--data: a .jsonl file or built-in task names is required");
                    options = SftRun.Prepare(new SftOptions
                    {
                        Model = from,
                        Data = source,
                        OutDir = parse.GetValue(output) ?? Path.Combine("runs", Path.GetFileName(Path.TrimEndingDirectorySeparator(from)) + "-sft"),
                        Template = parse.GetValue(template)!,
                        Examples = parse.GetValue(examples),
                        Epochs = parse.GetValue(epochs),
                        Steps = parse.GetValue(steps),
                        SeqLen = parse.GetValue(seqLen),
                        MicroBatch = parse.GetValue(microBatch),
                        BatchTokens = parse.GetValue(batchTokens),
                        Lr = parse.GetValue(lr),
                        Seed = parse.GetValue(seed),
                        EvalEvery = parse.GetValue(evalEvery),
                        Precision = PrecisionOption.Parse(parse.GetValue(precision)!),
                    }, Console.Out.WriteLine);
                }
                options.Validate();
                using var stop = new StopOnCtrlC();
                var result = TrainCommand.Execute(options, stop.Token);
                Console.Out.WriteLine($"{TrainCommand.Summary(result)}; checkpoint step {result.CheckpointStep} in {options.OutDir}");
                Console.Out.WriteLine($"next: sharpseek eval --model {options.OutDir} --task …   sharpseek rl --model {options.OutDir} …");
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
