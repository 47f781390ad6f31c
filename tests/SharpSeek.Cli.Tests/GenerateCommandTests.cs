// GenerateCommandTests.cs: `sharpseek generate` on a trained run directory: the prompt is echoed, sampling is
// deterministic for a seed and changes with it, and bad input exits 1 with a message; --tokens on a directory with no
// tokenizer, --json, --speculative mtp (same tokens as plain greedy) and --dtype; a seed gives the same tokens as the
// engine behind `serve` and `chat` with the same settings (one sampler, one stream); the context (max_position_embeddings)
// bounds prompt plus output, reported; a run directory killed between the commit and the renames of its first checkpoint
// generates and serves as the completed one; a config the tensors contradict, or one too large for memory, is one short
// error.
using System.Text.Json;
using SharpSeek.Inference.Engine;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Cli.Tests;

public sealed class GenerateCommandTests
{
    [Fact]
    public void Generate_IsDeterministicForASeed()
    {
        string[] args = ["generate", "--model", TrainedRun.Directory, "--prompt", "Add 15 and 27.", "--max-new-tokens", "24", "--temperature", "1.5"];
        var (code, first) = CliTests.Run([.. args, "--seed", "3"]);
        Assert.True(code == 0, first);
        Assert.StartsWith("Add 15 and 27.", first, StringComparison.Ordinal);
        var (_, again) = CliTests.Run([.. args, "--seed", "3"]);
        Assert.Equal(first, again);
        var others = Enumerable.Range(4, 3).Select(seed => CliTests.Run([.. args, "--seed", $"{seed}"]).Output).ToList();
        Assert.Contains(others, o => o != first);
    }

    // The prompt as generate feeds it (EOS in front), the same settings and seed through BatchEngine: the same tokens,
    // the EOS that ends either included.
    [Theory]
    [InlineData("1.5", "0", 3L)]
    [InlineData("0.9", "12", 8_000_000_000L)]
    public async Task Generate_SameTokensAsTheEngine_ForTheSameSeed(string temperature, string topK, long seed)
    {
        const string Prompt = "Add 15 and 27.";
        var (code, output) = CliTests.Run(["generate", "--model", TrainedRun.Directory, "--prompt", Prompt, "--max-new-tokens", "24",
            "--temperature", temperature, "--top-k", topK, "--seed", $"{seed}", "--json"]);
        Assert.True(code == 0, output);
        using var json = JsonDocument.Parse(output);
        var generated = json.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToList();

        var tokenizer = ByteLevelBpe.Load(TrainedRun.Directory);
        int[] prompt = [tokenizer.EosId!.Value, .. tokenizer.Encode(Prompt)];
        // generate's cache holds the prompt and 24 tokens; so does this engine's context.
        using var engine = BatchEngine.Load(TrainedRun.Directory, new BatchEngineOptions { MaxConcurrency = 1, MaxContext = prompt.Length + 24 });
        var request = new GenerationRequest
        {
            Prompt = prompt,
            MaxNewTokens = 24,
            Sampling = new SamplingParameters
            {
                Temperature = double.Parse(temperature, System.Globalization.CultureInfo.InvariantCulture),
                TopK = int.Parse(topK, System.Globalization.CultureInfo.InvariantCulture),
                Seed = seed,
            },
        };
        var served = new List<int>();
        await foreach (var update in engine.GenerateAsync(request)) { served.AddRange(update.Tokens); }
        Assert.Equal(generated, served);
    }

    [Theory]
    [InlineData("--temperature must be ≥ 0", "--temperature", "-1")]
    [InlineData("--max-new-tokens must be ≥ 0", "--max-new-tokens", "-2")]
    public void BadOptions_ExitOne(string expected, params string[] extra)
    {
        var (code, output) = CliTests.Run(["generate", "--model", TrainedRun.Directory, "--prompt", "hi", .. extra]);
        Assert.Equal(1, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingModel_ExitsOne()
    {
        var (code, output) = CliTests.Run("generate", "--model", Path.Combine(Path.GetTempPath(), "no-such-sharpseek-model"), "--prompt", "hi");
        Assert.Equal(1, code);
        Assert.Contains("tokenizer.json", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokens_Json_SpeculativeAndDtypes()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sharpseek-generate-" + Guid.NewGuid().ToString("N"));
        try
        {
            var config = ModelConfig.LoadPreset("tiny");
            using (var weights = new ModelWeights(config))
            {
                weights.InitializeRandom(seed: 5, std: 0.2);
                CheckpointWriter.Save(dir, config, [.. weights.Names.Select(n => (n, weights.Get(n).Value.Shape.ToArray(), (ReadOnlyMemory<float>)weights.Get(n).Value.AsSpan<float>().ToArray()))],
                    CheckpointFormat.BF16);
            }
            string[] args = ["generate", "--model", dir, "--tokens", "3,14,15,92", "--max-new-tokens", "12", "--greedy", "--json"];
            var (code, plain) = CliTests.Run(args);
            Assert.True(code == 0, plain);
            using var plainJson = JsonDocument.Parse(plain);
            Assert.Equal(JsonValueKind.Null, plainJson.RootElement.GetProperty("text").ValueKind);
            Assert.Equal(0, plainJson.RootElement.GetProperty("drafted_tokens").GetInt32());
            var tokens = plainJson.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();
            Assert.InRange(tokens.Length, 1, 12);
            Assert.StartsWith("{\"tokens\": [", plain, StringComparison.Ordinal);

            var (specCode, spec) = CliTests.Run([.. args, "--speculative", "mtp"]);
            Assert.True(specCode == 0, spec);
            using var specJson = JsonDocument.Parse(spec);
            Assert.Equal(tokens, specJson.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray());
            var drafted = specJson.RootElement.GetProperty("drafted_tokens").GetInt32();
            Assert.InRange(specJson.RootElement.GetProperty("accepted_draft_tokens").GetInt32(), 0, drafted);
            Assert.True(drafted > 0, spec);

            foreach (var dtype in new[] { "bf16", "fp8" })
            {
                var (c, o) = CliTests.Run([.. args, "--dtype", dtype]);
                Assert.True(c == 0, o);
            }
            Assert.Contains("--dtype must be f32, bf16 or fp8", CliTests.Run([.. args, "--dtype", "int4"]).Output, StringComparison.Ordinal);
            Assert.Contains("--speculative mtp is greedy", CliTests.Run(["generate", "--model", dir, "--tokens", "1", "--temperature", "1", "--speculative", "mtp"]).Output, StringComparison.Ordinal);
            Assert.Contains("outside the vocabulary", CliTests.Run(["generate", "--model", dir, "--tokens", "1,999"]).Output, StringComparison.Ordinal);
            Assert.Contains("exactly one of --prompt and --tokens", CliTests.Run(["generate", "--model", dir]).Output, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); }
        }
    }

    // max_position_embeddings 4: a 2-token prompt gets 2 new tokens, not 20, and the stop is reported; a prompt of 4 or
    // more is refused naming config.json.
    [Fact]
    public void Context_BoundsPromptPlusOutput()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sharpseek-generate-ctx-" + Guid.NewGuid().ToString("N"));
        try
        {
            SaveTiny(dir, ModelConfig.LoadPreset("tiny") with { MaxPositionEmbeddings = 4, EosTokenId = null });
            string[] args = ["generate", "--model", dir, "--tokens", "3,14", "--max-new-tokens", "20", "--greedy"];
            var (code, output) = CliTests.Run([.. args, "--json"]);
            Assert.True(code == 0, output);
            using var doc = JsonDocument.Parse(output);
            Assert.Equal(2, doc.RootElement.GetProperty("tokens").GetArrayLength());
            Assert.Equal("context", doc.RootElement.GetProperty("finish_reason").GetString());
            (code, output) = CliTests.Run(args);
            Assert.True(code == 0, output);
            Assert.Contains("note: stopped after 2 new tokens: the context is full (2 prompt + 2 new = max_position_embeddings 4)", output, StringComparison.Ordinal);
            (code, output) = CliTests.Run([.. args[..4], "1,2,3", "--max-new-tokens", "1", "--json"]);
            Assert.True(code == 0, output);
            Assert.Contains("\"finish_reason\": \"length\"", output, StringComparison.Ordinal);
            foreach (var prompt in new[] { "1,2,3,4", "1,2,3,4,5,6,7" })
            {
                (code, output) = CliTests.Run("generate", "--model", dir, "--tokens", prompt);
                Assert.Equal(1, code);
                Assert.Contains($"error: the prompt has {prompt.Split(',').Length} tokens but the context holds 4 (max_position_embeddings in {Path.Combine(dir, "config.json")}",
                    output, StringComparison.Ordinal);
            }
        }
        finally
        {
            if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); }
        }
    }

    // A tokenizer with more tokens than the model's vocabulary is refused before the weights are read, naming both sizes,
    // by generate and by train --init.
    [Fact]
    public void TokenizerLargerThanTheVocabulary_IsRefused()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sharpseek-generate-vocab-" + Guid.NewGuid().ToString("N"));
        try
        {
            SaveTiny(dir, ModelConfig.LoadPreset("tiny"));
            File.Copy(Path.Combine(LayeringTests.RepoRoot(), "tests", "data", "tokenizer", "trained.tokenizer.json"), Path.Combine(dir, "tokenizer.json"));
            var (code, output) = CliTests.Run("generate", "--model", dir, "--prompt", "hello");
            Assert.Equal(1, code);
            Assert.Contains("has 1000 tokens but vocab_size in", output, StringComparison.Ordinal);
            Assert.Contains("is 256; expected a tokenizer that fits", output, StringComparison.Ordinal);
            // fine-tuning from it is refused the same way, before any data is built
            (code, output) = CliTests.Run("train", "--init", dir, "--out", dir + "-tuned", "--steps", "1");
            Assert.Equal(1, code);
            Assert.Contains("the tokenizer has 1000 tokens but config.json's vocab_size is 256", output, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); }
            if (Directory.Exists(dir + "-tuned")) { Directory.Delete(dir + "-tuned", recursive: true); }
        }
    }

    // The campaign's kill: the first checkpoint committed in .checkpoint-next/ but not yet moved (the run directory has
    // only the config training starts with). --resume would roll it forward; generate and serve read it as it is.
    [Fact]
    public async Task RunKilledBeforeTheFirstCheckpointMoved_GeneratesAndServesTheSame()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sharpseek-generate-crash-" + Guid.NewGuid().ToString("N"));
        var next = Path.Combine(dir, CheckpointCommit.StagingFolder);
        try
        {
            Directory.CreateDirectory(next);
            foreach (var file in new[] { "config.json", "tokenizer.json", "tokenizer_config.json" }) { File.Copy(Path.Combine(TrainedRun.Directory, file), Path.Combine(dir, file)); }
            foreach (var file in new[] { "config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json" }) { File.Copy(Path.Combine(TrainedRun.Directory, file), Path.Combine(next, file)); }
            File.WriteAllText(Path.Combine(next, CheckpointCommit.Marker), "");
            string[] args = ["generate", "--prompt", "Add 15 and 27.", "--max-new-tokens", "8", "--greedy"];
            var (code, crashed) = CliTests.Run([.. args, "--model", dir]);
            Assert.True(code == 0, crashed);
            Assert.Equal(CliTests.Run([.. args, "--model", TrainedRun.Directory]).Output, crashed);

            var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "sharpseek.dll"), "serve", "--model", dir, "--port", "0" }) { psi.ArgumentList.Add(a); }
            using var serve = System.Diagnostics.Process.Start(psi)!;
            try
            {
                var line = await serve.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) ?? await serve.StandardError.ReadToEndAsync();
                Assert.StartsWith("serving ", line, StringComparison.Ordinal);
            }
            finally
            {
                serve.Kill(entireProcessTree: true);
                await serve.WaitForExitAsync();
            }
        }
        finally
        {
            if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); }
        }
    }

    // A config.json without hidden_size (7168 by default) against a small checkpoint: a cause line and at most five
    // problems, not a line per tensor; a config too large for memory is refused before anything is allocated.
    [Fact]
    public void BadConfig_IsOneShortError()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sharpseek-generate-bad-" + Guid.NewGuid().ToString("N"));
        try
        {
            SaveTiny(dir, ModelConfig.LoadPreset("tiny"));
            var path = Path.Combine(dir, "config.json");
            var text = File.ReadAllText(path);
            File.WriteAllText(path, text.Replace("\"hidden_size\": 32,", "", StringComparison.Ordinal));
            var (code, output) = CliTests.Run("generate", "--model", dir, "--tokens", "1,2");
            Assert.Equal(1, code);
            var lines = output.TrimEnd().Split('\n');
            Assert.InRange(lines.Length, 3, 8);
            Assert.Contains("config.json has hidden_size = 7168 (the default: config.json does not set it), but the tensors say 32", lines[0], StringComparison.Ordinal);

            foreach (var (field, value) in new[] { ("num_hidden_layers", "1000000"), ("n_routed_experts", "1000000000") })
            {
                File.WriteAllText(path, System.Text.RegularExpressions.Regex.Replace(text, $"\"{field}\": \\d+", $"\"{field}\": {value}"));
                (code, output) = CliTests.Run("generate", "--model", dir, "--tokens", "1,2");
                Assert.Equal(1, code);
                Assert.StartsWith($"error: {path}: ", output, StringComparison.Ordinal);
                Assert.Contains($"{field} = {value}", output, StringComparison.Ordinal);
            }
        }
        finally
        {
            if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); }
        }
    }

    private static void SaveTiny(string dir, ModelConfig config)
    {
        using var weights = new ModelWeights(config);
        weights.InitializeRandom(seed: 5, std: 0.2);
        CheckpointWriter.Save(dir, config, [.. weights.Names.Select(n => (n, weights.Get(n).Value.Shape.ToArray(), (ReadOnlyMemory<float>)weights.Get(n).Value.AsSpan<float>().ToArray()))],
            CheckpointFormat.BF16);
    }
}
