// ForwardCommand.cs: `sharpseek forward --model <dir> --tokens 0,17,255 [--output logits.json]`: one forward pass of a
// Hugging Face DeepseekV3 checkpoint directory over token ids (no tokenizer needed), printing or writing
// {"logits": [[…] per position], "mtp_logits": [[…] per position]}. MTP row i predicts token i + 2.
// At most max_position_embeddings tokens. Not here: sampling and generation. Tested by ForwardCommandTests.
using System.CommandLine;
using System.Globalization;
using System.Text;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Cli.Commands;

internal static class ForwardCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint directory: config.json plus model.safetensors or a sharded index.", Required = true };
        var tokens = new Option<string>("--tokens") { Description = "Comma-separated token ids, e.g. 0,17,255.", Required = true };
        var output = new Option<string?>("--output") { Description = "Write the JSON here (atomically) instead of standard output." };
        var command = new Command("forward", "Run the model over token ids and print the logits of every position and of the MTP module.")
        {
            model,
            tokens,
            output,
        };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(tokens)!, parse.GetValue(output), Console.Out, Console.Error));
        return command;
    }

    private static int Run(string modelDir, string tokenList, string? outputPath, TextWriter stdout, TextWriter stderr)
    {
        int[] ids;
        try
        {
            ids = [.. tokenList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
        }
        catch (FormatException)
        {
            stderr.WriteLine($"error: --tokens must be comma-separated integers, got '{tokenList}'");
            return 1;
        }
        if (ids.Length == 0)
        {
            stderr.WriteLine("error: --tokens is empty; give at least one token id");
            return 1;
        }
        try
        {
            using var checkpoint = CheckpointDirectory.Open(modelDir);
            ConfigWarnings.Write(checkpoint.Config, stderr);
            if (ids.Length > checkpoint.Config.MaxPositionEmbeddings)
            {
                throw new ArgumentException($"--tokens has {ids.Length} ids but the context holds {checkpoint.Config.MaxPositionEmbeddings} "
                    + $"(max_position_embeddings in {Path.Combine(modelDir, CheckpointDirectory.ConfigFile)}); expected at most that many");
            }
            using var weights = new ModelWeights(checkpoint.Config);
            weights.Load(checkpoint);
            using var transformer = new Transformer(weights, maxPositions: ids.Length);
            using var arena = new Arena("forward");
            var tape = new Tape(arena) { GradEnabled = false };
            var tokens = arena.FromSpan<int>(ids, 1, ids.Length);
            var (logits, mtp) = transformer.Forward(tape, tokens);
            var json = ToJson(tape.Value(logits), mtp is { } m ? tape.Value(m) : default);
            if (outputPath is null) { stdout.WriteLine(json); } else { AtomicFile.WriteAllText(outputPath, json); }
            return 0;
        }
        catch (Exception e) when (UserError.Is(e))
        {
            return UserError.Report(e, stderr);
        }
    }

    private static string ToJson(Tensor logits, Tensor mtp)
    {
        var sb = new StringBuilder("{\"logits\": ");
        Rows(sb, logits);
        sb.Append(", \"mtp_logits\": ");
        if (mtp.IsValid) { Rows(sb, mtp); } else { sb.Append("[]"); }
        return sb.Append('}').ToString();
    }

    // (1, T, V) → [[v, …] per position], floats in round-trip form.
    private static void Rows(StringBuilder sb, Tensor t)
    {
        var values = t.AsSpan<float>();
        var vocab = (int)t.Shape.Last;
        sb.Append('[');
        for (var row = 0; row < values.Length / vocab; row++)
        {
            sb.Append(row == 0 ? "[" : ", [");
            for (var j = 0; j < vocab; j++)
            {
                if (j > 0) { sb.Append(", "); }
                sb.Append(values[row * vocab + j].ToString("R", CultureInfo.InvariantCulture));
            }
            sb.Append(']');
        }
        sb.Append(']');
    }
}
