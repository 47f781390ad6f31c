// GenerateCommand.cs: `sharpseek generate --model <run or model dir> --prompt "…" [--max-new-tokens N] [--temperature T]
// [--top-k K] [--seed S]`: loads the checkpoint and tokenizer of a model directory (a training run directory is one) and
// prints the prompt's completion. A first look by full recompute per token (Sampling.Generate); the KV-cache engine is
// SharpSeek.Inference. Not here: chat templates. Tested by GenerateCommandTests.
using System.CommandLine;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Training.Runs;

namespace SharpSeek.Cli.Commands;

internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory: config.json, model.safetensors, tokenizer.json (a run directory is one).", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "Text to continue.", Required = true };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Stop after this many new tokens (or at EOS).", DefaultValueFactory = _ => 64 };
        var temperature = new Option<double>("--temperature") { Description = "0 is greedy; above 0 samples from softmax(logits / T).", DefaultValueFactory = _ => 0.0 };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0: all).", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Seed of the sampler (the same seed gives the same text).", DefaultValueFactory = _ => 0 };
        var command = new Command("generate", "Continue a prompt with a trained model (greedy or sampled), no KV cache.")
        {
            model,
            prompt,
            maxNew,
            temperature,
            topK,
            seed,
        };
        command.SetAction(parse =>
        {
            var options = new SamplingOptions
            {
                MaxNewTokens = parse.GetValue(maxNew),
                Temperature = parse.GetValue(temperature),
                TopK = parse.GetValue(topK),
                Seed = parse.GetValue(seed),
            };
            try
            {
                if (options.MaxNewTokens < 0) { throw new ArgumentException($"--max-new-tokens must be ≥ 0; got {options.MaxNewTokens}"); }
                if (options.Temperature < 0) { throw new ArgumentException($"--temperature must be ≥ 0; got {options.Temperature}"); }
                if (options.TopK < 0) { throw new ArgumentException($"--top-k must be ≥ 0; got {options.TopK}"); }
                using var generator = new TextGenerator(parse.GetValue(model)!);
                Console.Out.WriteLine(parse.GetValue(prompt) + generator.Complete(parse.GetValue(prompt)!, options));
                return 0;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>A model directory loaded for generation: weights, tokenizer, the model over max_position_embeddings.</summary>
    internal sealed class TextGenerator : IDisposable
    {
        private readonly ModelWeights _weights;
        private readonly Transformer _model;
        private readonly ByteLevelBpe _tokenizer;

        public TextGenerator(string directory)
        {
            if (!File.Exists(Path.Combine(directory, ByteLevelBpe.TokenizerFileName)))
            {
                throw new FileNotFoundException($"'{directory}' has no {ByteLevelBpe.TokenizerFileName}; expected a model directory such as a training run's");
            }
            _tokenizer = ByteLevelBpe.Load(directory);
            using var checkpoint = CheckpointDirectory.Open(directory);
            _weights = new ModelWeights(checkpoint.Config);
            _weights.Load(checkpoint);
            _model = new Transformer(_weights);
        }

        /// <summary>The decoded continuation (EOS dropped). In the token shards EOS ends each document, so the start of a
        /// document follows an EOS: prompts get one in front.</summary>
        public string Complete(string prompt, SamplingOptions options)
        {
            var ids = _tokenizer.Encode(prompt);
            if (_tokenizer.EosId is { } eos) { ids = [eos, .. ids]; }
            var generated = Sampling.Generate(_model, ids, options with { StopId = _tokenizer.EosId });
            var text = generated.Length > 0 && generated[^1] == _tokenizer.EosId ? generated[..^1] : generated;
            return _tokenizer.Decode(text);
        }

        public void Dispose()
        {
            _model.Dispose();
            _weights.Dispose();
        }
    }
}
