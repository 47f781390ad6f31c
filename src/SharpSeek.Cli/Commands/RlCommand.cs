// RlCommand.cs: `sharpseek rl --model <dir> [--task arithmetic] [--out runs/rl] [--steps N] [--prompts P] [--generations G]
// [--loss dapo|grpo|bnpo|dr_grpo] [--beta β] [--resume] …`: GRPO with rule rewards on a model directory (R1-Zero when the
// model is a base model and the template r1zero). One line per step (reward, accuracy, format, length, KL, clip, timing;
// a live progress line on a terminal); Ctrl+C checkpoints the last completed step. Not here: the loop (GrpoRun).
// Tested by RlCommandTests.
using System.CommandLine;
using SharpSeek.Rl.Grpo;
using SharpSeek.Rl.Prompts;
using SharpSeek.Rl.Runs;

namespace SharpSeek.Cli.Commands;

internal static class RlCommand
{
    public static Command Create()
    {
        var d = new RlOptions();
        var g = new GrpoOptions();
        var model = new Option<string?>("--model") { Description = "The starting model directory (weights, config.json, tokenizer.json)." };
        var task = new Option<string>("--task") { Description = "arithmetic, add, sub, mul, word, countdown or mix, optionally with levels (add:3, mul:2-4), or a .jsonl file of {prompt|messages, answer}.", DefaultValueFactory = _ => d.Task };
        var output = new Option<string>("--out") { Description = "Run directory, also a model directory.", DefaultValueFactory = _ => d.OutDir };
        var template = new Option<string>("--template") { Description = "Prompt template: r1zero (DeepSeek-R1's Table 1), plain (User: …\\nAssistant:) or chat (the model's chat template).", DefaultValueFactory = _ => d.Template };
        template.AcceptOnlyFromAmong([.. PromptFormats.Names]);
        var steps = new Option<long?>("--steps") { Description = $"GRPO steps (default {d.Steps}; on --resume, the saved count unless given)." };
        var prompts = new Option<int>("--prompts") { Description = "Prompts per step (P).", DefaultValueFactory = _ => d.Prompts };
        var generations = new Option<int>("--generations") { Description = "Samples per prompt (G ≥ 2).", DefaultValueFactory = _ => d.Generations };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "New tokens per completion at most.", DefaultValueFactory = _ => d.MaxNewTokens };
        var temperature = new Option<double>("--temperature") { Description = "Rollout temperature (log-probs are taken at it).", DefaultValueFactory = _ => d.Temperature };
        var topP = new Option<double>("--top-p") { Description = "Rollout nucleus.", DefaultValueFactory = _ => d.TopP };
        var lr = new Option<double>("--lr") { Description = "Learning rate (linear warm-up, then constant).", DefaultValueFactory = _ => d.Lr };
        var iterations = new Option<int>("--iterations") { Description = "μ: passes over each rollout batch (μ > 1 makes the clipped ratio matter).", DefaultValueFactory = _ => d.Iterations };
        var updates = new Option<int>("--updates") { Description = "Optimizer updates per pass (mini-batches of the rollout batch).", DefaultValueFactory = _ => d.Updates };
        var microBatch = new Option<int>("--micro-batch") { Description = "Sequences per forward/backward.", DefaultValueFactory = _ => d.MicroBatch };
        var loss = new Option<string>("--loss") { Description = "Loss aggregation: dapo (token-level), grpo (per-sequence mean), bnpo or dr_grpo (constant normalizer).", DefaultValueFactory = _ => "dapo" };
        loss.AcceptOnlyFromAmong("dapo", "grpo", "bnpo", "dr_grpo");
        var scale = new Option<string>("--advantage") { Description = "group: (r − mean)/(std + ε); none: r − mean (Dr. GRPO).", DefaultValueFactory = _ => "group" };
        scale.AcceptOnlyFromAmong("group", "none");
        var std = new Option<string>("--std") { Description = "The group std: sample (n − 1) or population (n).", DefaultValueFactory = _ => "sample" };
        std.AcceptOnlyFromAmong("sample", "population");
        var clipLow = new Option<double>("--clip-low") { Description = "ε_low of the ratio clip.", DefaultValueFactory = _ => g.ClipLow };
        var clipHigh = new Option<double>("--clip-high") { Description = "ε_high of the ratio clip (clip-higher).", DefaultValueFactory = _ => g.ClipHigh };
        var beta = new Option<double>("--beta") { Description = "β of the k3 KL to a reference copy (0: no reference kept).", DefaultValueFactory = _ => g.Beta };
        var refReset = new Option<int>("--reference-reset-every") { Description = "Reset the reference to the policy every N steps (0: never).", DefaultValueFactory = _ => d.ReferenceResetEvery };
        var dynamic = new Option<bool>("--dynamic-sampling") { Description = "DAPO: drop groups whose rewards are all equal and sample more prompts to refill." };
        var truncated = new Option<string>("--truncated") { Description = "Completions that hit --max-new-tokens: mask (left out of the loss), zero (reward 0) or keep.", DefaultValueFactory = _ => "mask" };
        truncated.AcceptOnlyFromAmong("mask", "zero", "keep");
        var accuracy = new Option<double>("--accuracy-weight") { Description = "Weight of the accuracy reward.", DefaultValueFactory = _ => d.AccuracyWeight };
        var format = new Option<double>("--format-weight") { Description = "Weight of the format reward.", DefaultValueFactory = _ => d.FormatWeight };
        var language = new Option<double>("--language-weight") { Description = "Weight of the language-consistency reward.", DefaultValueFactory = _ => d.LanguageWeight };
        var overlong = new Option<int>("--overlong-cache") { Description = "DAPO soft overlong penalty over the last N tokens before --max-new-tokens (0: off).", DefaultValueFactory = _ => d.OverlongCache };
        var seed = new Option<int>("--seed") { Description = "Seed of the problems and the rollouts.", DefaultValueFactory = _ => d.Seed };
        var precision = PrecisionOption.Create();
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Checkpoint every N steps (and at the end).", DefaultValueFactory = _ => d.CheckpointEvery };
        var logCompletions = new Option<int>("--log-completions-every") { Description = "Write the step's completions, rewards and advantages to completions.jsonl every N steps (0: never).", DefaultValueFactory = _ => d.LogCompletionsEvery };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out exactly where its last checkpoint left it." };
        var command = new Command("rl", "Reinforcement learning with GRPO and rule-based rewards (R1-Zero from a base model).")
        {
            model, task, output, template, steps, prompts, generations, maxNew, temperature, topP, lr, iterations, updates, microBatch, loss, scale, std,
            clipLow, clipHigh, beta, refReset, dynamic, truncated, accuracy, format, language, overlong, seed, checkpointEvery, logCompletions, precision, resume,
        };
        command.SetAction(parse =>
        {
            var options = new RlOptions
            {
                Model = parse.GetValue(model) ?? "",
                Task = parse.GetValue(task)!,
                OutDir = parse.GetValue(output)!,
                Template = parse.GetValue(template)!,
                Steps = parse.GetValue(steps) ?? (parse.GetValue(resume) ? 0 : d.Steps),
                Prompts = parse.GetValue(prompts),
                Generations = parse.GetValue(generations),
                MaxNewTokens = parse.GetValue(maxNew),
                Temperature = parse.GetValue(temperature),
                TopP = parse.GetValue(topP),
                Lr = parse.GetValue(lr),
                Iterations = parse.GetValue(iterations),
                Updates = parse.GetValue(updates),
                MicroBatch = parse.GetValue(microBatch),
                Grpo = new GrpoOptions
                {
                    Loss = parse.GetValue(loss) switch { "grpo" => LossAggregation.Grpo, "bnpo" => LossAggregation.Bnpo, "dr_grpo" => LossAggregation.DrGrpo, _ => LossAggregation.Dapo },
                    Scale = parse.GetValue(scale) == "none" ? AdvantageScale.None : AdvantageScale.Group,
                    Std = parse.GetValue(std) == "population" ? StdKind.Population : StdKind.Sample,
                    ClipLow = parse.GetValue(clipLow),
                    ClipHigh = parse.GetValue(clipHigh),
                    Beta = parse.GetValue(beta),
                },
                ReferenceResetEvery = parse.GetValue(refReset),
                DynamicSampling = parse.GetValue(dynamic),
                Truncated = parse.GetValue(truncated) switch { "zero" => TruncatedCompletions.Zero, "keep" => TruncatedCompletions.Keep, _ => TruncatedCompletions.Mask },
                AccuracyWeight = parse.GetValue(accuracy),
                FormatWeight = parse.GetValue(format),
                LanguageWeight = parse.GetValue(language),
                OverlongCache = parse.GetValue(overlong),
                Seed = parse.GetValue(seed),
                CheckpointEvery = parse.GetValue(checkpointEvery),
                LogCompletionsEvery = parse.GetValue(logCompletions),
                Precision = PrecisionOption.Parse(parse.GetValue(precision)!),
                Resume = parse.GetValue(resume),
            };
            try
            {
                if (!options.Resume) { ConfigWarnings.Write(options.Model, Console.Error); }
                using var stop = new StopOnCtrlC();
                var run = new GrpoRun(options, Console.Out.WriteLine) { OnStep = r => Console.Out.WriteLine(Line(r, options.Steps)) };
                var result = run.Run(stop.Token);
                Console.Out.WriteLine($"stopped at step {result.Step}, checkpoint step {result.CheckpointStep} in {options.OutDir}"
                    + (result.First is { } f && result.Last is { } l ? $"; accuracy {f.Accuracy:P1} -> {l.Accuracy:P1}, format {f.FormatRate:P1} -> {l.FormatRate:P1}" : ""));
                Console.Out.WriteLine($"metrics: {Path.Combine(options.OutDir, GrpoRun.MetricsFileName)}   completions: {Path.Combine(options.OutDir, GrpoRun.CompletionsFileName)}");
                return 0;
            }
            catch (Exception e) when (UserError.Is(e))
            {
                return UserError.Report(e);
            }
        });
        return command;
    }

    private static string Line(RlRecord r, long steps) =>
        $"step {r.Step}/{steps}  reward {r.RewardMean:F3}±{r.RewardStd:F3}  acc {r.Accuracy:P0}  format {r.FormatRate:P0}  len {r.LengthMean:F0} ({r.LengthMin}-{r.LengthMax}, trunc {r.Truncated:P0})  "
        + $"zero-std {r.ZeroStdGroups:P0}  kl {r.Kl:F4}  clip {r.ClipLow + r.ClipHigh:P1}  H {r.Entropy:F2}  |g| {r.GradNorm:F2}  "
        + $"rollout {r.RolloutSeconds:F1}s ({r.RolloutTokensPerSecond:N0} tok/s)  train {r.TrainSeconds:F1}s ({r.TrainTokensPerSecond:N0} tok/s)  Δlogp {r.LogProbMismatch:E1}"
        + (r.SkippedUpdate ? "  UPDATE SKIPPED" : "");
}
