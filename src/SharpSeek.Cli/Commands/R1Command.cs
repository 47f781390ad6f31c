// R1Command.cs: `sharpseek r1 --base <dir> [--out runs/r1] [--task add:1-4] [--rl-steps N] [--final-rl-steps N] …`:
// DeepSeek-R1's pipeline in one command (cold-start SFT, reasoning RL, rejection sampling + SFT of the base, final RL),
// each stage a model directory under --out; rerun the same command to resume. Ends with every stage's evaluation.
// Not here: the stages (R1Pipeline). Tested by R1CommandTests.
using System.CommandLine;
using SharpSeek.Rl.Eval;
using SharpSeek.Rl.Pipeline;
using SharpSeek.Rl.Prompts;
using SharpSeek.Rl.Sft;

namespace SharpSeek.Cli.Commands;

internal static class R1Command
{
    public static Command Create()
    {
        var d = new R1Options();
        var baseModel = new Option<string>("--base") { Description = "The base model directory (pretrained; e.g. `sharpseek train --tasks …`).", Required = true };
        var output = new Option<string>("--out") { Description = "The pipeline's directory: one model directory per stage, pipeline.json.", DefaultValueFactory = _ => d.OutDir };
        var task = new Option<string>("--task") { Description = "Task names with levels (add:1-4, arithmetic, mix, …): cold-start data, RL problems, rejection sampling and evaluation.", DefaultValueFactory = _ => d.Task };
        var template = new Option<string>("--template") { Description = "r1zero, plain or chat.", DefaultValueFactory = _ => d.Template };
        template.AcceptOnlyFromAmong([.. PromptFormats.Names]);
        var coldStart = new Option<int>("--cold-start-examples") { Description = "Worked examples for the cold start (stage 1).", DefaultValueFactory = _ => d.ColdStartExamples };
        var rlSteps = new Option<long>("--rl-steps") { Description = "GRPO steps of the reasoning RL (stage 2).", DefaultValueFactory = _ => d.RlSteps };
        var finalSteps = new Option<long>("--final-rl-steps") { Description = "GRPO steps of the final RL (stage 4).", DefaultValueFactory = _ => d.FinalRlSteps };
        var problems = new Option<int>("--rejection-problems") { Description = "Train problems sampled for stage 3.", DefaultValueFactory = _ => d.Rejection.Problems };
        var samples = new Option<int>("--rejection-samples") { Description = "Samples per problem in stage 3 (k).", DefaultValueFactory = _ => d.Rejection.Samples };
        var nonReasoning = new Option<string?>("--non-reasoning") { Description = "A JSONL file of non-reasoning {prompt, completion} or chat lines mixed into stage 3's SFT data." };
        var prompts = new Option<int>("--prompts") { Description = "RL prompts per step (P).", DefaultValueFactory = _ => d.Rl.Prompts };
        var generations = new Option<int>("--generations") { Description = "RL samples per prompt (G).", DefaultValueFactory = _ => d.Rl.Generations };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "New tokens per completion at most (RL, sampling, evaluation).", DefaultValueFactory = _ => d.Rl.MaxNewTokens };
        var lr = new Option<double>("--lr") { Description = "RL learning rate.", DefaultValueFactory = _ => d.Rl.Lr };
        var beta = new Option<double>("--beta") { Description = "β of the RL stages' k3 KL to their starting model (0: none).", DefaultValueFactory = _ => d.Rl.Grpo.Beta };
        var evalProblems = new Option<int>("--eval-problems") { Description = "Held-out problems in each stage's evaluation.", DefaultValueFactory = _ => d.Eval.Problems };
        var evalSamples = new Option<int>("--eval-samples") { Description = "Samples per held-out problem (k of pass@1 and cons@k).", DefaultValueFactory = _ => d.Eval.Samples };
        var seed = new Option<int>("--seed") { Description = "Seed of every stage.", DefaultValueFactory = _ => d.Seed };
        var command = new Command("r1", "DeepSeek-R1's multi-stage pipeline: cold-start SFT, reasoning RL, rejection sampling + SFT, final RL; rerun to resume.")
        {
            baseModel, output, task, template, coldStart, rlSteps, finalSteps, problems, samples, nonReasoning, prompts, generations, maxNew, lr, beta, evalProblems, evalSamples, seed,
        };
        command.SetAction(parse =>
        {
            var maxNewTokens = parse.GetValue(maxNew);
            var options = new R1Options
            {
                Base = parse.GetValue(baseModel)!,
                OutDir = parse.GetValue(output)!,
                Task = parse.GetValue(task)!,
                Template = parse.GetValue(template)!,
                ColdStartExamples = parse.GetValue(coldStart),
                RlSteps = parse.GetValue(rlSteps),
                FinalRlSteps = parse.GetValue(finalSteps),
                NonReasoning = parse.GetValue(nonReasoning),
                Seed = parse.GetValue(seed),
                Rl = d.Rl with { Prompts = parse.GetValue(prompts), Generations = parse.GetValue(generations), MaxNewTokens = maxNewTokens, Lr = parse.GetValue(lr), Grpo = d.Rl.Grpo with { Beta = parse.GetValue(beta) } },
                Rejection = new RejectionOptions { Problems = parse.GetValue(problems), Samples = parse.GetValue(samples), MaxNewTokens = maxNewTokens },
                Eval = new EvalOptions { Problems = parse.GetValue(evalProblems), Samples = parse.GetValue(evalSamples), MaxNewTokens = maxNewTokens },
            };
            try
            {
                using var stop = new StopOnCtrlC();
                var rows = new R1Pipeline(options, Console.Out.WriteLine).Run(stop.Token);
                var k = options.Eval.Samples;
                Console.Out.WriteLine($"{"stage",-40} {"minutes",7} {"pass@1",7} {$"cons@{k}",7} {$"pass@{k}",7} {"format",7} {"lang",7} {"length",7}");
                foreach (var r in rows)
                {
                    Console.Out.WriteLine($"{r.Stage,-40} {r.Seconds / 60,7:F1} {r.Eval.Pass1,7:P1} {r.Eval.ConsK,7:P1} {r.Eval.PassK,7:P1} {r.Eval.FormatRate,7:P1} {r.Eval.LanguageRate,7:P1} {r.Eval.MeanLength,7:F0}");
                }
                Console.Out.WriteLine(rows.Count == 5 ? $"done: {Path.Combine(options.OutDir, R1Pipeline.TableFileName)}" : "stopped: rerun the same command to resume");
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
