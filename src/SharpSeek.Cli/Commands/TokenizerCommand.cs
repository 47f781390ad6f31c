// TokenizerCommand.cs: `sharpseek tokenizer train --input <files|dirs> --vocab-size N --out <dir>` and
// `sharpseek tokenizer encode --tokenizer <dir|tokenizer.json> --text "..." [--json]`.
// Not here: BPE itself (SharpSeek.Model/Tokenizer). Tested by TokenizerCommandTests.
using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Cli.Commands;

internal static class TokenizerCommand
{
    // Tokens print as JSON strings (quotes, \n escaped) but keep their characters readable: "Ġthe", "<｜User｜>".
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var command = new Command("tokenizer", "Train a byte-level BPE tokenizer (HF tokenizer.json) or encode text with one.");
        command.Subcommands.Add(CreateTrain());
        command.Subcommands.Add(CreateEncode());
        return command;
    }

    private static Command CreateTrain()
    {
        var input = new Option<string[]>("--input") { Description = "Text files or directories (every file below, in name order).", Required = true, AllowMultipleArgumentsPerToken = true };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Vocabulary size: 256 bytes + merges + the 9 DeepSeek special tokens.", Required = true };
        var output = new Option<string>("--out") { Description = "Directory for tokenizer.json and tokenizer_config.json.", Required = true };
        var command = new Command("train", "Learn BPE merges from text; prints progress, the vocab size and bytes/token on the input.") { input, vocabSize, output };
        command.SetAction(parse => Guard(() => Train(parse.GetValue(input)!, parse.GetValue(vocabSize), parse.GetValue(output)!, Console.Out)));
        return command;
    }

    private static Command CreateEncode()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "A tokenizer.json or the directory holding it.", Required = true };
        var text = new Option<string>("--text") { Description = "Text to encode (special tokens such as <think> are matched).", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object with ids and tokens." };
        var command = new Command("encode", "Token ids and tokens of a text.") { tokenizer, text, json };
        command.SetAction(parse => Guard(() => Encode(parse.GetValue(tokenizer)!, parse.GetValue(text)!, parse.GetValue(json), Console.Out)));
        return command;
    }

    private static int Guard(Func<int> run)
    {
        try
        {
            return run();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static int Train(string[] inputs, int vocabSize, string outDir, TextWriter o)
    {
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input)) { files.AddRange(Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)); }
            else if (File.Exists(input)) { files.Add(input); }
            else { throw new FileNotFoundException($"input '{input}' not found; expected a text file or a directory"); }
        }
        if (files.Count == 0) { throw new FileNotFoundException($"no files under {string.Join(", ", inputs)}"); }
        o.WriteLine($"training on {files.Count} file(s), vocab size {vocabSize}");
        var clock = Stopwatch.StartNew();
        var options = BpeTrainerOptions.DeepSeek with { Progress = line => o.WriteLine($"  {line}") };
        var bpe = BpeTrainer.Train(files.Select(File.ReadAllText), vocabSize, DeepSeekTokens.All, options);
        o.WriteLine($"trained in {clock.Elapsed.TotalSeconds:F1} s");
        bpe.Save(outDir);
        long bytes = 0, tokens = 0;
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            bytes += Encoding.UTF8.GetByteCount(text);
            tokens += bpe.Encode(text).Length;
        }
        o.WriteLine($"vocab size {bpe.VocabSize} ({bpe.Merges.Count} merges, {bpe.AddedTokens.Count} special tokens)");
        o.WriteLine($"compression {(double)bytes / Math.Max(tokens, 1):F2} bytes/token on the input ({bytes:N0} bytes -> {tokens:N0} tokens)");
        o.WriteLine($"wrote {Path.Combine(outDir, ByteLevelBpe.TokenizerFileName)} and {ByteLevelBpe.ConfigFileName}");
        return 0;
    }

    private static int Encode(string path, string text, bool json, TextWriter o)
    {
        var bpe = ByteLevelBpe.Load(path);
        var ids = bpe.Encode(text);
        var tokens = ids.Select(id => bpe.IdToToken(id)!).ToArray();
        if (json)
        {
            o.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["ids"] = ids, ["tokens"] = tokens }, Readable));
            return 0;
        }
        o.WriteLine($"{ids.Length} tokens, {Encoding.UTF8.GetByteCount(text)} bytes");
        o.WriteLine($"ids: {string.Join(' ', ids)}");
        o.WriteLine($"tokens: {string.Join(' ', tokens.Select(t => JsonSerializer.Serialize(t, Readable)))}");
        return 0;
    }
}
