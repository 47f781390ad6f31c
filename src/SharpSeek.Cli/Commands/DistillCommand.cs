// DistillCommand.cs: `sharpseek distill --teacher <dir> --student <preset|config.json|dir> [--out runs/distill] [--task …]
// [--samples k] [--mode sft|logits|on-policy]`: DeepSeek-R1's distillation in one command (the teacher's data, then the
// student's training; rerun to resume either), and its two halves: `distill data` (teacher sampling with rejection, a
// JSONL dataset) and `distill train` (the student on a dataset, or on-policy against the teacher). Not here: the data
// (Rl's DistillData), the loops (DistillRun, TrainingRun). Tested by DistillCommandTests.
using System.CommandLine;
using System.Globalization;
using SharpSeek.Rl.Distill;
using SharpSeek.Rl.Prompts;

namespace SharpSeek.Cli.Commands;

internal static class DistillCommand
{
    private const string DataFileName = "teacher-data.jsonl";

    public static Command Create()
    {
        var dd = new DistillDataOptions();
        var td = new DistillOptions();
        var teacher = new Option<string?>("--teacher") { Description = "The teacher model directory (e.g. the final stage of `sharpseek r1`)." };
        var student = new Option<string?>("--student") { Description = "The student: a model directory (a pretrained base: `sharpseek train`; an HF qwen2/llama directory), or a preset (dense-2m, dense-8m, dense-25m) / config.json, started from random weights with the teacher's tokenizer." };
        var output = new Option<string>("--out") { Description = "The student's run directory (a model directory); the combined command keeps the teacher's data there too.", DefaultValueFactory = _ => td.OutDir };
        var task = new Option<string>("--task") { Description = "Task names with levels (add:1-4, arithmetic, mix, …) or a .jsonl file: the problems the teacher solves (and on-policy's prompts).", DefaultValueFactory = _ => dd.Task };
        var template = new Option<string>("--template") { Description = "Prompt format: r1zero (R1's Table 1), plain or chat (the model's chat template).", DefaultValueFactory = _ => dd.Template };
        template.AcceptOnlyFromAmong([.. PromptFormats.Names]);
        var problems = new Option<int>("--problems") { Description = "Train problems the teacher samples.", DefaultValueFactory = _ => dd.Problems };
        var samples = new Option<int>("--samples") { Description = "Teacher samples per problem (k); right, well-formed, readable, distinct ones are kept.", DefaultValueFactory = _ => dd.Samples };
        var topLogProbs = new Option<int>("--top-logprobs") { Description = "Teacher log-probs kept per completion token (what --mode logits learns from; 0: none).", DefaultValueFactory = _ => dd.TopLogProbs };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "New tokens per completion at most.", DefaultValueFactory = _ => dd.MaxNewTokens };
        var nonReasoning = new Option<string?>("--non-reasoning") { Description = "A JSONL file of non-reasoning {prompt, completion} or chat lines mixed into the data." };
        var mode = new Option<string>("--mode") { Description = "sft (R1: fine-tune on the kept samples), logits (+ forward KL to the teacher's top-k; shared tokenizer) or on-policy (the student samples, reverse KL to the teacher; shared tokenizer).", DefaultValueFactory = _ => "sft" };
        mode.AcceptOnlyFromAmong("sft", "logits", "on-policy");
        var epochs = new Option<double>("--epochs") { Description = "Passes over the data (sft, logits).", DefaultValueFactory = _ => td.Epochs };
        var steps = new Option<long?>("--steps") { Description = "Optimizer steps instead of --epochs (on-policy needs it)." };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (warm-up, then cosine to 10%).", DefaultValueFactory = _ => td.Lr };
        var batch = new Option<int>("--batch") { Description = "Sequences per optimizer step (sft: windows of --seq-len).", DefaultValueFactory = _ => td.Batch };
        var microBatch = new Option<int>("--micro-batch") { Description = "Sequences per forward/backward pass.", DefaultValueFactory = _ => td.MicroBatch };
        var klWeight = new Option<double>("--kl-weight") { Description = "α of logits mode's (1 − α)·CE + α·KL.", DefaultValueFactory = _ => td.KlWeight };
        var prompts = new Option<int>("--prompts") { Description = "On-policy prompts per step.", DefaultValueFactory = _ => td.Prompts };
        var generations = new Option<int>("--generations") { Description = "On-policy student samples per prompt.", DefaultValueFactory = _ => td.Generations };
        var seqLen = new Option<int>("--seq-len") { Description = "sft's window: examples (prompt + completion + EOS) are packed whole, a longer one is skipped and counted.", DefaultValueFactory = _ => td.SeqLen };
        var seed = new Option<int>("--seed") { Description = "Seed of the teacher's samples, the student's data order and samples.", DefaultValueFactory = _ => td.Seed };
        var resume = new Option<bool>("--resume") { Description = "Continue the student's run in --out where its last checkpoint left it." };

        var data = new Option<string>("--data") { Description = "The dataset: written by `distill data` (resumable; <data>.meta.json beside it), read by `distill train`.", Required = true };
        var teacherTemperature = new Option<double>("--temperature") { Description = "The teacher's sampling temperature (R1: 0.6).", DefaultValueFactory = _ => dd.Temperature };
        var topP = new Option<double>("--top-p") { Description = "The teacher's nucleus (R1: 0.95).", DefaultValueFactory = _ => dd.TopP };
        var dataCommand = new Command("data", "The teacher samples k completions per problem; rejection keeps the right, readable, distinct ones; a JSONL dataset (resumable).")
        {
            teacher, data, task, template, problems, samples, maxNew, teacherTemperature, topP, topLogProbs, nonReasoning, seed,
        };
        dataCommand.SetAction(parse => Guard(() => MakeData(new DistillDataOptions
        {
            Teacher = parse.GetValue(teacher) ?? throw new ArgumentException("--teacher: the teacher model directory is required"),
            Out = parse.GetValue(data)!,
            Task = parse.GetValue(task)!,
            Template = parse.GetValue(template)!,
            Problems = parse.GetValue(problems),
            Samples = parse.GetValue(samples),
            MaxNewTokens = parse.GetValue(maxNew),
            Temperature = parse.GetValue(teacherTemperature),
            TopP = parse.GetValue(topP),
            TopLogProbs = parse.GetValue(topLogProbs),
            NonReasoning = parse.GetValue(nonReasoning),
            Seed = parse.GetValue(seed),
        })));

        var trainData = new Option<string?>("--data") { Description = "The teacher's dataset (sft, logits), from `distill data`." };
        var studentTemperature = new Option<double>("--temperature") { Description = "The student's sampling temperature in on-policy mode.", DefaultValueFactory = _ => td.Temperature };
        var trainCommand = new Command("train", "Train the student on the teacher's dataset (sft, logits) or on its own samples scored by the teacher (on-policy).")
        {
            teacher, student, trainData, output, mode, template, task, epochs, steps, lr, batch, microBatch, seqLen, klWeight, prompts, generations, maxNew, studentTemperature, seed, resume,
        };
        trainCommand.SetAction(parse => Guard(() => Train(TrainOptions(parse, teacher, student, output, mode, template, task, epochs, steps, lr, batch, microBatch, klWeight, prompts, generations, maxNew, seed, resume)
            with
        { Data = parse.GetValue(trainData) ?? "", Temperature = parse.GetValue(studentTemperature) })));

        var command = new Command("distill", "DeepSeek-R1 distillation: the teacher's rejection-sampled reasoning data, then the student's fine-tuning (or logits / on-policy KD); rerun to resume.")
        {
            teacher, student, output, task, template, problems, samples, topLogProbs, maxNew, nonReasoning, mode, epochs, steps, lr, batch, microBatch, seqLen, klWeight, prompts, generations, seed, resume,
            dataCommand, trainCommand,
        };
        command.SetAction(parse => Guard(() =>
        {
            var o = TrainOptions(parse, teacher, student, output, mode, template, task, epochs, steps, lr, batch, microBatch, klWeight, prompts, generations, maxNew, seed, resume)
                with
            { SeqLen = parse.GetValue(seqLen) };
            var data = Path.Combine(o.OutDir, DataFileName);
            if (o.Mode != DistillMode.OnPolicy && !(o.Resume && File.Exists(data + DistillData.MetaSuffix)))
            {
                var made = MakeData(new DistillDataOptions
                {
                    Teacher = o.Teacher,
                    Out = data,
                    Task = o.Task,
                    Template = o.Template,
                    Problems = parse.GetValue(problems),
                    Samples = parse.GetValue(samples),
                    MaxNewTokens = o.MaxNewTokens,
                    TopLogProbs = parse.GetValue(topLogProbs),
                    NonReasoning = parse.GetValue(nonReasoning),
                    Seed = o.Seed,
                });
                if (made != 0 || !File.Exists(data)) { return made; } // stopped: rerun to continue
            }
            return Train(o with { Data = o.Mode == DistillMode.OnPolicy ? "" : data });
        }));
        return command;
    }

    private static DistillOptions TrainOptions(ParseResult parse, Option<string?> teacher, Option<string?> student, Option<string> output, Option<string> mode, Option<string> template,
        Option<string> task, Option<double> epochs, Option<long?> steps, Option<double> lr, Option<int> batch, Option<int> microBatch, Option<double> klWeight, Option<int> prompts,
        Option<int> generations, Option<int> maxNew, Option<int> seed, Option<bool> resume)
    {
        var o = new DistillOptions
        {
            Teacher = parse.GetValue(teacher) ?? "",
            Student = parse.GetValue(student) ?? "",
            OutDir = parse.GetValue(output)!,
            Mode = DistillOptions.Parse(parse.GetValue(mode)!),
            Template = parse.GetValue(template)!,
            Task = parse.GetValue(task)!,
            Epochs = parse.GetValue(epochs),
            Steps = parse.GetValue(steps),
            Lr = parse.GetValue(lr),
            Batch = parse.GetValue(batch),
            MicroBatch = parse.GetValue(microBatch),
            KlWeight = parse.GetValue(klWeight),
            Prompts = parse.GetValue(prompts),
            Generations = parse.GetValue(generations),
            MaxNewTokens = parse.GetValue(maxNew),
            Seed = parse.GetValue(seed),
            Resume = parse.GetValue(resume),
        };
        if (!o.Resume && string.IsNullOrWhiteSpace(o.Teacher)) { throw new ArgumentException("--teacher: the teacher model directory is required"); }
        return o;
    }

    private static int MakeData(DistillDataOptions o)
    {
        using var stop = new StopOnCtrlC();
        var last = DateTime.MinValue;
        var meta = DistillData.Run(o, Console.Out.WriteLine, (done, total) =>
        {
            if (done == total || (DateTime.UtcNow - last).TotalSeconds >= 10)
            {
                last = DateTime.UtcNow;
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"teacher: {done}/{total} problems"));
            }
        }, stop.Token);
        if (meta is null)
        {
            Console.Out.WriteLine($"stopped: rerun the same command to continue {o.Out}");
            return 0;
        }
        var r = meta.Report;
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{o.Out}: kept {r.Kept} of {r.Samples} samples of {r.Problems} problems (wrong {r.Wrong}, format {r.BadFormat}, unreadable {r.Unreadable}, truncated {r.Truncated}, duplicates {r.Duplicates})"
            + $"{(meta.NonReasoning > 0 ? $" + {meta.NonReasoning} non-reasoning lines" : "")}; teacher sampling {r.Tokens:N0} tokens in {r.Seconds:F0} s, {r.TokensPerSecond:N0} tok/s"));
        return 0;
    }

    private static int Train(DistillOptions o)
    {
        using var stop = new StopOnCtrlC();
        // On --resume the run directory says which loop it was: distill_state.json (logits, on-policy) or sft's trainer state.
        if (o.Resume ? !File.Exists(Path.Combine(o.OutDir, DistillState.FileName)) : o.Mode == DistillMode.Sft)
        {
            var run = DistillRun.PrepareSft(o, Console.Out.WriteLine);
            run.Validate();
            var result = TrainCommand.Execute(run, stop.Token);
            Console.Out.WriteLine($"{TrainCommand.Summary(result)}; checkpoint step {result.CheckpointStep} in {run.OutDir}");
        }
        else
        {
            var every = Math.Max(1, (o.Steps ?? 100) / 50);
            var distilled = new DistillRun(o, Console.Out.WriteLine)
            {
                OnStep = r =>
                {
                    if (r.Step % every == 0 || r.Step == 1)
                    {
                        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"step {r.Step}: loss {r.Loss:F4} (ce {r.CrossEntropy:F4}, kl {r.Kl:F4}){(r.Accuracy is { } a ? $", student accuracy {a:P0}, length {r.LengthMean:F0}" : "")}, lr {r.Lr:E2}, {r.TrainTokensPerSecond:N0} tok/s"));
                    }
                },
            }.Run(stop.Token);
            Console.Out.WriteLine($"{(stop.Token.IsCancellationRequested ? "stopped" : "finished")} at step {distilled.Step}: loss {distilled.First?.Loss:F4} -> {distilled.Last?.Loss:F4}; checkpoint step {distilled.CheckpointStep} in {o.OutDir}");
        }
        Console.Out.WriteLine($"next: sharpseek eval --model {o.OutDir} --task {o.Task}");
        return 0;
    }

    private static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (UserError.Is(e))
        {
            return UserError.Report(e);
        }
    }
}
