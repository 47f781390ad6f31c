// GenerateCommandTests.cs: `sharpseek generate` on a trained run directory: the prompt is echoed, sampling is
// deterministic for a seed and changes with it, and bad input exits 1 with a message; --tokens on a directory with no
// tokenizer, --json, --speculative mtp (same tokens as plain greedy) and --dtype; a seed gives the same tokens as the
// engine behind `serve` and `chat` with the same settings (one sampler, one stream).
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
}
