// SamplingPathsTests.cs: one sampler, one seeded stream: the same seed and sampling settings give the same tokens through
// `sharpseek generate`'s path (SpeculativeDecoder on a lone runner) and the engine's path behind `serve`, `chat` and the
// IChatClient (BatchEngine), for temperature, top-k, top-p, min-p and the penalties, alone and beside other requests;
// other seeds give other tokens (so the agreement is not greedy in disguise); speculation refuses a sampled pick; and NaN
// draft logits fail only the request that drafted them (Sampler.ArgMax throws on NaN).
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Runtime;
using SharpSeek.Inference.Tests.Runtime;
using SharpSeek.Model;

namespace SharpSeek.Inference.Tests.Engine;

public sealed class SamplingPathsTests
{
    private const int NewTokens = 16;

    private static readonly SamplingParameters[] Settings =
    [
        new SamplingParameters { Temperature = 1.0, Seed = 5 },
        new SamplingParameters { Temperature = 0.8, TopK = 20, TopP = 0.9, Seed = 9 },
        new SamplingParameters { Temperature = 1.4, MinP = 0.05, Seed = 1L << 40 },
        new SamplingParameters { Temperature = 1.1, TopP = 0.95, RepetitionPenalty = 1.3, FrequencyPenalty = 0.5, PresencePenalty = 0.4, Seed = 3 },
        SamplingParameters.Greedy with { RepetitionPenalty = 1.5 },
    ];

    private static int[] GeneratePath(InferenceWeights weights, int[] prompt, SamplingParameters sampling)
    {
        using var cache = new KvCache(weights.Config, 1, prompt.Length + NewTokens);
        using var runner = new ModelRunner(weights, cache);
        return new SpeculativeDecoder(runner).Generate(prompt, NewTokens, speculative: false, sampling);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task SameSeedAndSettings_SameTokens_ThroughGenerateAndTheEngine(int setting)
    {
        var sampling = Settings[setting];
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 61);
        var weights = InferenceWeights.From(model, WeightFormat.F32);
        var prompt = RuntimeFixture.Tokens(7, config.VocabSize, 62);
        var expected = GeneratePath(weights, prompt, sampling);
        Assert.Equal(NewTokens, expected.Length);

        using var cache = new KvCache(config, 3, 64);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, tokenizer: null);
        GenerationRequest Request(int[] p, SamplingParameters s) => new() { Prompt = p, MaxNewTokens = NewTokens, Sampling = s };
        Assert.Equal(expected, await Tokens(engine.GenerateAsync(Request(prompt, sampling))));
        // Beside neighbours with other prompts and seeds, in the same batched steps.
        var neighbours = Enumerable.Range(0, 2)
            .Select(i => Tokens(engine.GenerateAsync(Request(RuntimeFixture.Tokens(4 + (3 * i), config.VocabSize, 70 + i), sampling with { Seed = 80 + i }))))
            .ToArray();
        var again = Tokens(engine.GenerateAsync(Request(prompt, sampling)));
        await Task.WhenAll(neighbours);
        Assert.Equal(expected, await again);
    }

    [Fact]
    public void OtherSeeds_GiveOtherTokens()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 61);
        var weights = InferenceWeights.From(model, WeightFormat.F32);
        var prompt = RuntimeFixture.Tokens(7, config.VocabSize, 62);
        var runs = Enumerable.Range(0, 4).Select(seed => GeneratePath(weights, prompt, new SamplingParameters { Seed = seed })).ToList();
        Assert.Equal(runs[0], GeneratePath(weights, prompt, new SamplingParameters { Seed = 0 }));
        Assert.True(runs.Skip(1).All(r => !r.SequenceEqual(runs[0])), "every other seed should change some token");
    }

    [Fact]
    public void Speculation_RefusesASampledOrPenalizedPick()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 63);
        using var cache = new KvCache(config, 1, 32);
        using var runner = new ModelRunner(InferenceWeights.From(model, WeightFormat.F32), cache);
        var decoder = new SpeculativeDecoder(runner);
        int[] prompt = [1, 2, 3];
        foreach (var sampling in new[] { new SamplingParameters { Seed = 1 }, SamplingParameters.Greedy with { PresencePenalty = 0.5 } })
        {
            var e = Assert.Throws<ArgumentException>(() => decoder.Generate(prompt, 4, speculative: true, sampling));
            Assert.Contains("greedy", e.Message, StringComparison.Ordinal);
        }
        // Top-k, top-p and min-p do nothing at temperature 0, so they do not stop speculation.
        Assert.Equal(decoder.Generate(prompt, 6, speculative: false), decoder.Generate(prompt, 6, speculative: true, SamplingParameters.Greedy with { TopK = 3, TopP = 0.5 }));
    }

    // NaN MTP logits (shared_head.norm's weight NaN; the main model is untouched): the lone decoder throws, and in the
    // engine only the speculating request fails while its plain neighbour finishes with the lone greedy tokens.
    [Fact]
    public async Task NaNDraftLogits_FailOnlyTheRequestThatDrafted()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 65);
        var prompt = RuntimeFixture.Tokens(5, config.VocabSize, 66);
        var clean = GeneratePath(InferenceWeights.From(model, WeightFormat.F32), prompt, SamplingParameters.Greedy);
        model.Mtp[0].HeadNorm.Weight.Value.AsSpan<float>().Fill(float.NaN);
        var weights = InferenceWeights.From(model, WeightFormat.F32);
        using var cache = new KvCache(config, 2, 64);
        using var runner = new ModelRunner(weights, cache);
        var e = Assert.Throws<ArgumentException>(() => new SpeculativeDecoder(runner).Generate(prompt, NewTokens, speculative: true));
        Assert.Contains("NaN", e.Message, StringComparison.Ordinal);

        using var engine = new BatchEngine(runner, tokenizer: null);
        GenerationRequest Request(bool speculative) => new() { Prompt = prompt, MaxNewTokens = NewTokens, Sampling = SamplingParameters.Greedy, Speculative = speculative };
        var drafting = Tokens(engine.GenerateAsync(Request(true)));
        var plain = Tokens(engine.GenerateAsync(Request(false)));
        Assert.Contains("NaN", (await Assert.ThrowsAsync<ArgumentException>(() => drafting)).Message, StringComparison.Ordinal);
        Assert.Equal(clean, await plain);
    }

    private static async Task<List<int>> Tokens(IAsyncEnumerable<GenerationUpdate> updates)
    {
        var tokens = new List<int>();
        await foreach (var u in updates) { tokens.AddRange(u.Tokens); }
        return tokens;
    }
}
