// TrainCommand.cs: `sharpseek train [--config small | --init <model dir>] [--data <files|dir>] [--out runs/<name>] [--steps N] [--batch-tokens N]
// [--seq-len N] [--lr …] [--seed N] [--resume]`. With no arguments: the small preset on the generated reasoning corpus,
// about ten minutes on two cores, then sample completions. A live progress line (step, loss, tokens/s, ETA) on a
// terminal, plain lines every few steps otherwise; Ctrl+C checkpoints the last completed step and stops.
// Not here: the loop (TrainingRun). Tested by TrainCommandTests.
using System.CommandLine;
using SharpSeek.Inference.Engine;
using SharpSeek.Training;
using SharpSeek.Training.Data;
using SharpSeek.Training.Runs;
using SharpSeek.Training.Tasks;
using Spectre.Console;

namespace SharpSeek.Cli.Commands;

internal static class TrainCommand
{
    private const int SampleCount = 3;

    public static Command Create()
    {
        var d = new RunOptions();
        var config = new Option<string>("--config") { Description = "Preset (tiny, small, dense-1m, 16B, 671B) or config.json path.", DefaultValueFactory = _ => d.Config };
        var data = new Option<string[]>("--data") { Description = "Text or .parquet files (a 'text' column), or directories of them (default: the generated reasoning corpus).", AllowMultipleArgumentsPerToken = true };
        var tasks = new Option<string?>("--tasks") { Description = "The generated corpus's problems: task names with levels, e.g. add:1-4,sub:1-3 (default: every family)." };
        var documents = new Option<int>("--documents") { Description = "Documents of the generated corpus.", DefaultValueFactory = _ => d.CorpusDocuments };
        var output = new Option<string?>("--out") { Description = "Run directory, also a model directory (default: runs/<config>)." };
        var steps = new Option<long?>("--steps") { Description = $"Optimizer steps in the run (default {d.Steps}; on --resume, the saved count)." };
        var batchTokens = new Option<int>("--batch-tokens") { Description = "Tokens per optimizer step (micro-batches are accumulated).", DefaultValueFactory = _ => d.BatchTokens };
        var microBatch = new Option<int>("--micro-batch") { Description = "Sequences per forward/backward pass.", DefaultValueFactory = _ => d.MicroBatch };
        var seqLen = new Option<int>("--seq-len") { Description = "Tokens per sequence.", DefaultValueFactory = _ => d.SeqLen };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (linear warm-up, then --schedule down to 10%).", DefaultValueFactory = _ => d.Lr };
        var warmup = new Option<long>("--warmup") { Description = "Warm-up steps.", DefaultValueFactory = _ => d.WarmupSteps };
        var seed = new Option<int>("--seed") { Description = "Seed of the initialization, the corpus and the data order.", DefaultValueFactory = _ => d.Seed };
        var evalEvery = new Option<int>("--eval-every") { Description = "Evaluate on held-out batches every N steps (0: never).", DefaultValueFactory = _ => d.EvalEvery };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Checkpoint every N steps (and at the end).", DefaultValueFactory = _ => d.CheckpointEvery };
        var schedule = new Option<string>("--schedule") { Description = "Learning rate after the warm-up: cosine (decay over the run) or wsd (warmup-stable-decay, decay over the last 20%).", DefaultValueFactory = _ => d.Schedule };
        schedule.AcceptOnlyFromAmong("cosine", "wsd");
        var balance = new Option<string>("--balance") { Description = "MoE load balancing: aux-free (bias update + sequence-wise loss), v2 (expert-level auxiliary loss) or none.", DefaultValueFactory = _ => "aux-free" };
        balance.AcceptOnlyFromAmong("aux-free", "v2", "none");
        var passkey = new Option<double>("--passkey") { Description = "Share of documents replaced by passkey documents (a number hidden in filler, asked for at the end) of up to --seq-len tokens: what eval --task passkey and extend measure.", DefaultValueFactory = _ => d.PasskeyShare };
        var noMtp = new Option<bool>("--no-mtp") { Description = "Leave the MTP loss out (the module is still in the checkpoint)." };
        var init = new Option<string?>("--init") { Description = "Start from this model directory's weights, config and tokenizer (fine-tuning; e.g. an HF qwen2/llama checkpoint or an earlier run) instead of a random --config." };
        var precision = PrecisionOption.Create();
        var fp8Recipe = PrecisionOption.CreateRecipe();
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out exactly where its last checkpoint left it." };
        var command = new Command("train", "Train a model into a run directory (config.json, model.safetensors, tokenizer, metrics.jsonl).")
        {
            config, data, tasks, documents, output, steps, batchTokens, microBatch, seqLen, lr, warmup, seed, evalEvery, checkpointEvery, schedule, balance, passkey, noMtp, init, precision, fp8Recipe, resume,
        };
        command.SetAction(parse =>
        {
            var preset = parse.GetValue(config)!;
            var from = parse.GetValue(init);
            var dir = parse.GetValue(output) ?? Path.Combine("runs", from is null ? Path.GetFileNameWithoutExtension(preset) : Path.GetFileName(Path.TrimEndingDirectorySeparator(from)) + "-tuned");
            try
            {
                var options = parse.GetValue(resume)
                    ? TrainingRun.ResumeOptions(dir, parse.GetValue(steps))
                    : new RunOptions
                    {
                        Config = preset,
                        Init = from,
                        Data = parse.GetValue(data) ?? [],
                        CorpusDocuments = parse.GetValue(documents),
                        CorpusTasks = parse.GetValue(tasks),
                        PasskeyShare = parse.GetValue(passkey),
                        OutDir = dir,
                        Steps = parse.GetValue(steps) ?? d.Steps,
                        BatchTokens = parse.GetValue(batchTokens),
                        MicroBatch = parse.GetValue(microBatch),
                        SeqLen = parse.GetValue(seqLen),
                        Lr = parse.GetValue(lr),
                        WarmupSteps = parse.GetValue(warmup),
                        Seed = parse.GetValue(seed),
                        EvalEvery = parse.GetValue(evalEvery),
                        CheckpointEvery = parse.GetValue(checkpointEvery),
                        Schedule = parse.GetValue(schedule)!,
                        Balance = parse.GetValue(balance) switch { "v2" => BalanceMode.V2AuxLoss, "none" => BalanceMode.None, _ => BalanceMode.AuxLossFree },
                        Mtp = !parse.GetValue(noMtp),
                        Precision = PrecisionOption.Parse(parse.GetValue(precision)!),
                        Fp8Recipe = Tensors.Ops.Fp8Recipe.Normalize(parse.GetValue(fp8Recipe)),
                    };
                options.Validate();
                ConfigWarnings.Write(options.Resume ? options.OutDir : options.Init ?? options.Config, Console.Error);
                return Run(options);
            }
            catch (Exception e) when (UserError.Is(e))
            {
                return UserError.Report(e);
            }
        });
        return command;
    }

    private static int Run(RunOptions options)
    {
        using var stop = new StopOnCtrlC();
        var result = Execute(options, stop.Token);
        Console.Out.WriteLine($"{Summary(result)}; checkpoint step {result.CheckpointStep} in {options.OutDir}");
        PrintSamples(options);
        Console.Out.WriteLine($"next: sharpseek plot {options.OutDir}   sharpseek generate --model {options.OutDir} --prompt \"…\"");
        return 0;
    }

    /// <summary>"finished at step N: loss A -> B, eval E" (or "stopped …"), how every training command reports its run.</summary>
    internal static string Summary(RunResult result) =>
        $"{(result.Completed ? "finished" : "stopped")} at step {result.Step}: loss {result.FirstLoss:F4} -> {result.LastLoss:F4}" + (result.EvalLoss is { } e ? $", eval {e:F4}" : "");

    /// <summary>Runs the loop with a live progress bar on a terminal, plain lines otherwise (also for sft).</summary>
    internal static RunResult Execute(RunOptions options, CancellationToken cancel) =>
        Console.IsOutputRedirected ? RunPlain(options, cancel) : RunLive(options, cancel);

    // Not a terminal: one line every ~2% of the run, every eval and the last step.
    private static RunResult RunPlain(RunOptions options, CancellationToken cancel)
    {
        var every = Math.Max(1, options.Steps / 50);
        var run = new TrainingRun(options, Console.Out.WriteLine)
        {
            OnStep = r =>
            {
                if (r.Step % every == 0 || r.Step == options.Steps || r.EvalLoss is not null || r.Step == 1) { Console.Out.WriteLine(Line(r, options.Steps)); }
            },
        };
        return run.Run(cancel);
    }

    private static RunResult RunLive(RunOptions options, CancellationToken cancel)
    {
        RunResult? result = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("preparing the run directory", maxValue: options.Steps);
                var run = new TrainingRun(options, line => AnsiConsole.MarkupLine(Markup.Escape(line)))
                {
                    OnStep = r =>
                    {
                        task.Value = r.Step;
                        task.Description = Markup.Escape(Line(r, options.Steps));
                        if (r.EvalLoss is { } e) { AnsiConsole.MarkupLine(Markup.Escape($"step {r.Step}: eval loss {e:F4}")); }
                    },
                };
                result = run.Run(cancel);
            });
        return result!;
    }

    private static string Line(MetricsRecord r, long steps)
    {
        var remaining = r.Step < steps && r.TokensPerSecond > 0 ? TimeSpan.FromSeconds(r.ElapsedSeconds / r.Step * (steps - r.Step)) : TimeSpan.Zero;
        return $"step {r.Step}/{steps}  loss {r.Loss:F4}  lr {r.Lr:E2}  |g| {r.GradNorm:F2}  {r.TokensPerSecond:N0} tok/s  ETA {remaining:hh\\:mm\\:ss}"
            + (r.EvalLoss is { } e ? $"  eval {e:F4}" : "");
    }

    // Prompts in the training corpus's own format, cut where the worked answer starts, from documents past the training
    // set (a different seed); for user data, the opening of its first documents.
    private static void PrintSamples(RunOptions options)
    {
        var candidates = options.Data.Count == 0
            ? ReasoningCorpus.Generate(options.Seed + 7919, 4 * SampleCount, options.CorpusTasks is null ? null : TaskMix.Parse(options.CorpusTasks)).Select(Cut)
            : CorpusReader.Read(options.Data).Take(SampleCount).Select(t => t[..Math.Min(t.Length, 80)]);
        using var generator = new GenerateCommand.TextGenerator(options.OutDir);
        Console.Out.WriteLine("sample completions (greedy):");
        foreach (var prompt in candidates.Where(generator.Fits).Take(SampleCount)) // R1-Zero's preamble may not fit a small context
        {
            var completion = generator.Complete(prompt, SamplingParameters.Greedy, maxNewTokens: 96);
            Console.Out.WriteLine($"--- prompt: {prompt.ReplaceLineEndings(" ⏎ ")}");
            Console.Out.WriteLine($"    model:  {completion.ReplaceLineEndings(" ⏎ ")}");
        }
    }

    private static string Cut(string document)
    {
        const string Think = "<think>\n";
        var i = document.IndexOf(Think, StringComparison.Ordinal);
        return i < 0 ? document[..(document.Length / 2)] : document[..(i + Think.Length)];
    }
}
