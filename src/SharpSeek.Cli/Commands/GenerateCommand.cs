// GenerateCommand.cs: `sharpseek generate --model <dir> (--prompt "…" | --tokens 1,2,3) [--max-new-tokens N] [--greedy]
// [--temperature T] [--top-k K] [--seed S] [--speculative mtp] [--dtype f32|bf16|fp8] [--json]`: loads a model directory
// (a training run directory is one) into the inference runtime (latent KV cache, absorbed MLA, weights in the chosen
// format) and prints the prompt's completion, or with --json the generated ids, the text, why it stopped and the MTP
// draft counters. --tokens needs no tokenizer. Tokens are drawn by the inference Sampler from its seeded xoshiro256**
// stream, the same sampler and calls as the engine behind `serve` and `chat`, so a seed gives the same tokens there.
// The context is max_position_embeddings, as serve has it: a prompt that leaves no room is refused, and prompt plus
// output never exceed it (a stop at a full context is reported). Not here: chat templates, batching (Engine).
// Tested by GenerateCommandTests.
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Runtime;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Cli.Commands;

internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory: config.json, model.safetensors (tokenizer.json for --prompt); a run directory is one.", Required = true };
        var prompt = new Option<string?>("--prompt") { Description = "Text to continue (needs tokenizer.json)." };
        var tokens = new Option<string?>("--tokens") { Description = "Prompt token ids, comma-separated (no tokenizer needed)." };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Stop after this many new tokens (or at EOS, or when the context is full).", DefaultValueFactory = _ => 64 };
        var greedy = new Option<bool>("--greedy") { Description = "Always take the most likely token (same as --temperature 0)." };
        var temperature = new Option<double>("--temperature") { Description = "0 is greedy; above 0 samples from softmax(logits / T).", DefaultValueFactory = _ => 0.0 };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0: all).", DefaultValueFactory = _ => 0 };
        var seed = new Option<long>("--seed") { Description = "Seed of the sampler (the same seed gives the same text here and in serve/chat).", DefaultValueFactory = _ => 0 };
        var speculative = new Option<string?>("--speculative") { Description = "mtp: draft with the MTP module, verify with the main model (greedy only)." };
        var dtype = new Option<string>("--dtype") { Description = "Weights in memory: f32, bf16 or fp8 (E4M3, 128×128 block scales).", DefaultValueFactory = _ => "f32" };
        var json = new Option<bool>("--json") { Description = "Print {\"tokens\", \"text\", \"finish_reason\", \"drafted_tokens\", \"accepted_draft_tokens\"} as JSON." };
        var command = new Command("generate", "Continue a prompt with a model on the KV-cache runtime (greedy, sampled or MTP-speculative).")
        {
            model, prompt, tokens, maxNew, greedy, temperature, topK, seed, speculative, dtype, json,
        };
        command.SetAction(parse =>
        {
            try
            {
                var max = parse.GetValue(maxNew);
                var temp = parse.GetValue(greedy) ? 0 : parse.GetValue(temperature);
                var k = parse.GetValue(topK);
                if (max < 0) { throw new ArgumentException($"--max-new-tokens must be ≥ 0; got {max}"); }
                if (temp < 0) { throw new ArgumentException($"--temperature must be ≥ 0; got {temp}"); }
                if (k < 0) { throw new ArgumentException($"--top-k must be ≥ 0; got {k}"); }
                var spec = parse.GetValue(speculative) switch
                {
                    null => false,
                    "mtp" => true,
                    var other => throw new ArgumentException($"--speculative must be 'mtp'; got '{other}'"),
                };
                if (spec && temp > 0) { throw new ArgumentException("--speculative mtp is greedy; drop --temperature or give --greedy"); }
                var format = WeightFormatOption.Parse(parse.GetValue(dtype)!);
                var (text, ids) = (parse.GetValue(prompt), parse.GetValue(tokens));
                if ((text is null) == (ids is null)) { throw new ArgumentException("give exactly one of --prompt and --tokens"); }
                var dir = parse.GetValue(model)!;
                ByteLevelBpe? tokenizer = null;
                int[] input;
                if (text is not null)
                {
                    if (!File.Exists(Path.Combine(dir, ByteLevelBpe.TokenizerFileName)))
                    {
                        throw new FileNotFoundException($"'{dir}' has no {ByteLevelBpe.TokenizerFileName}; --prompt needs one (or give --tokens)");
                    }
                    tokenizer = ByteLevelBpe.Load(dir);
                    EnsureFits(dir, tokenizer);
                    // A document start: BOS where the tokenizer adds one (add_bos_token, as HF models do), else EOS (our shards end each document with one).
                    input = tokenizer.EncodePrompt(text);
                }
                else
                {
                    input = ParseIds(ids!);
                }
                var room = Room(dir, input.Length);
                using var weights = InferenceWeights.Load(dir, format);
                ConfigWarnings.Write(weights.Config, Console.Error);
                var stop = tokenizer?.EosId ?? weights.Config.EosTokenId;
                var budget = Math.Min(max, room);
                using var cache = new KvCache(weights.Config, 1, input.Length + Math.Max(budget, 1));
                using var runner = new ModelRunner(weights, cache);
                var decoder = new SpeculativeDecoder(runner);
                var sampling = new SamplingParameters { Temperature = temp, TopK = k, Seed = parse.GetValue(seed) };
                var generated = budget == 0 ? [] : decoder.Generate(input, budget, spec, sampling, stop);
                var stopped = generated.Length > 0 && generated[^1] == stop;
                var visible = stopped ? generated[..^1] : generated;
                var finish = stopped ? "stop" : generated.Length < max ? "context" : "length";
                var decoded = tokenizer?.Decode(visible);
                if (parse.GetValue(json))
                {
                    Console.Out.WriteLine($"{{\"tokens\": [{string.Join(", ", generated)}], \"text\": {(decoded is null ? "null" : JsonSerializer.Serialize(decoded))}, "
                        + $"\"finish_reason\": \"{finish}\", \"drafted_tokens\": {decoder.DraftedTokens}, \"accepted_draft_tokens\": {decoder.AcceptedDraftTokens}}}");
                }
                else
                {
                    Console.Out.WriteLine(text is not null ? text + decoded : string.Join(",", generated));
                }
                if (finish == "context" && !parse.GetValue(json))
                {
                    Console.Error.WriteLine($"note: stopped after {generated.Length} new tokens: the context is full ({input.Length} prompt + {generated.Length} new = "
                        + $"max_position_embeddings {input.Length + generated.Length})");
                }
                return 0;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or KeyNotFoundException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>A model directory loaded for greedy or sampled completions of text prompts on the runtime (F32 weights).</summary>
    internal sealed class TextGenerator(string directory) : IDisposable
    {
        private readonly ByteLevelBpe _tokenizer = File.Exists(Path.Combine(directory, ByteLevelBpe.TokenizerFileName)) ? ByteLevelBpe.Load(directory)
            : throw new FileNotFoundException($"'{directory}' has no {ByteLevelBpe.TokenizerFileName}; expected a model directory such as a training run's");

        private readonly InferenceWeights _weights = InferenceWeights.Load(directory, WeightFormat.F32);

        public void Dispose() => _weights.Dispose();

        /// <summary>Whether <paramref name="prompt"/> leaves room in the context for at least one new token.</summary>
        public bool Fits(string prompt) => _tokenizer.EncodePrompt(prompt).Length < _weights.Config.MaxPositionEmbeddings;

        /// <summary>The decoded continuation (EOS dropped); prompts get an EOS in front, as documents follow one in the shards.</summary>
        public string Complete(string prompt, SamplingParameters sampling, int maxNewTokens)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(maxNewTokens);
            var ids = _tokenizer.EncodePrompt(prompt);
            var budget = Math.Min(maxNewTokens, Room(directory, ids.Length));
            using var cache = new KvCache(_weights.Config, 1, ids.Length + Math.Max(budget, 1));
            using var runner = new ModelRunner(_weights, cache);
            var generated = budget == 0 ? [] : new SpeculativeDecoder(runner).Generate(ids, budget, false, sampling, _tokenizer.EosId);
            return _tokenizer.Decode(generated.Length > 0 && generated[^1] == _tokenizer.EosId ? generated[..^1] : generated);
        }
    }

    /// <summary>Throws naming both sizes when the tokenizer has more tokens than the model's vocabulary (before any weight is read).</summary>
    internal static void EnsureFits(string directory, ByteLevelBpe tokenizer)
    {
        var path = CheckpointCommit.Resolve(directory, CheckpointDirectory.ConfigFile);
        var vocab = ModelConfig.Load(path).VocabSize;
        if (tokenizer.VocabSize > vocab)
        {
            throw new InvalidDataException($"the tokenizer in '{directory}' has {tokenizer.VocabSize} tokens but vocab_size in {path} is {vocab}; expected a tokenizer that fits the model's vocabulary");
        }
    }

    /// <summary>New tokens the context leaves after a prompt: max_position_embeddings (of the newest complete checkpoint's
    /// config.json) minus the prompt. Throws naming the file when the prompt leaves no room, as serve refuses it.</summary>
    internal static int Room(string directory, int promptTokens)
    {
        var path = CheckpointCommit.Resolve(directory, CheckpointDirectory.ConfigFile);
        var context = ModelConfig.Load(path).MaxPositionEmbeddings;
        if (promptTokens >= context)
        {
            throw new ArgumentException($"the prompt has {promptTokens} tokens but the context holds {context} (max_position_embeddings in {path}, "
                + $"prompt plus output); expected at most {context - 1} prompt tokens, leaving room for one new token: shorten the prompt");
        }
        return context - promptTokens;
    }

    private static int[] ParseIds(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) { throw new ArgumentException("--tokens is empty; give ids such as 1,2,3"); }
        return [.. parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id
            : throw new ArgumentException($"--tokens: '{p}' is not a token id (non-negative integer)"))];
    }
}
