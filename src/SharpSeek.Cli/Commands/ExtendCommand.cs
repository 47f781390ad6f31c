// ExtendCommand.cs: `sharpseek extend --model DIR --to N [--factor F] [--steps N] [--lr …] [--out DIR]`: one stage of
// DeepSeek-V3's long-context extension (arXiv:2412.19437 §4.3): YaRN written into the new model's config.json (so generate, eval and serve use
// it), then a short training stage at N tokens per sequence with the tokens per step kept; run it twice for the
// paper's two stages. Progress as train shows it. Not here: the stage's settings (ContextExtension), the loop
// (TrainingRun). Tested by ExtendCommandTests.
using System.CommandLine;
using SharpSeek.Model;
using SharpSeek.Training.Runs;

namespace SharpSeek.Cli.Commands;

internal static class ExtendCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The model directory to extend (a train run, or an earlier extend stage).", Required = true };
        var to = new Option<int>("--to") { Description = "The new context in tokens (sequence length of the stage).", Required = true };
        var factor = new Option<double?>("--factor") { Description = "YaRN's scale s over the original context (default: --to / original; a second stage keeps the first's). DeepSeek-V3 sets the final target's factor in both stages." };
        var steps = new Option<long>("--steps") { Description = "Optimizer steps of the stage.", DefaultValueFactory = _ => 60 };
        var lr = new Option<double?>("--lr") { Description = "Constant learning rate (default: the one the base run last stepped at, from its metrics.jsonl; for a model that is no run, 2e-4)." };
        var output = new Option<string?>("--out") { Description = "Run directory of the stage, also a model directory (default: <model>-<to>)." };
        var command = new Command("extend", "Extend a model's context with YaRN and a short training stage at the longer length (DeepSeek-V3 §4.3).")
        {
            model, to, factor, steps, lr, output,
        };
        command.SetAction(parse =>
        {
            var dir = parse.GetValue(model)!;
            var length = parse.GetValue(to);
            try
            {
                var baseRun = ContextExtension.BaseRun(dir);
                var config = ModelConfig.Load(dir);
                var stage = ContextExtension.Plan(config, baseRun?.SeqLen ?? config.MaxPositionEmbeddings, length, parse.GetValue(factor));
                var outDir = parse.GetValue(output) ?? $"{Path.TrimEndingDirectorySeparator(dir)}-{length}";
                var options = stage.Options(baseRun, dir, outDir, parse.GetValue(steps), parse.GetValue(lr));
                options.Validate();
                using var stop = new StopOnCtrlC();
                var result = TrainCommand.Execute(options, stop.Token);
                Console.Out.WriteLine($"{TrainCommand.Summary(result)}; context {stage.To} (YaRN factor {stage.Factor:G4} over {stage.Original}) in {outDir}");
                Console.Out.WriteLine($"next: sharpseek eval --model {outDir} --task passkey --lengths {string.Join(" ", new[] { stage.Original, stage.To / 2, stage.To }.Distinct())}");
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
