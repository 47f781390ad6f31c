// EngineLogProbsTests.cs: the engine's log-probs on a tiny random-weight model against a reference computed here from a
// lone runner's logits (log-softmax in double at the request's temperature, 1 for greedy), for greedy and sampled
// requests with penalties and truncation on (which the log-probs leave out); the top alternatives sorted with the chosen
// token's log-prob among them; one entry per token in every update; the same numbers batched with chunked prefill and
// with MTP speculation; nothing when not asked; top_logprobs out of range or without logprobs refused at the call.
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Runtime;
using SharpSeek.Inference.Tests.Runtime;

namespace SharpSeek.Inference.Tests.Engine;

public sealed class EngineLogProbsTests
{
    private const int Context = 64;

    private static async Task<(List<int> Tokens, List<TokenLogProbs> LogProbs)> Collect(IAsyncEnumerable<GenerationUpdate> updates)
    {
        var (tokens, logProbs) = (new List<int>(), new List<TokenLogProbs>());
        await foreach (var u in updates)
        {
            Assert.NotNull(u.LogProbs);
            Assert.Equal(u.Tokens, u.LogProbs.Select(e => e.Token));                               // one entry per token, in order
            tokens.AddRange(u.Tokens);
            logProbs.AddRange(u.LogProbs);
        }
        return (tokens, logProbs);
    }

    // The reference: replay prompt and tokens through a lone runner one token a step; row i is log softmax(logits / T)
    // in double of the logits that picked token i.
    private static double[][] Reference(InferenceWeights weights, int[] prompt, List<int> tokens, double temperature)
    {
        using var cache = new KvCache(weights.Config, 1, Context);
        using var runner = new ModelRunner(weights, cache);
        var slot = cache.Acquire();
        var t = temperature == 0 ? 1.0 : temperature;
        var rows = new double[tokens.Count][];
        var step = runner.Step([new SequenceChunk(slot, prompt)], LogitRows.Last);
        for (var i = 0; i < tokens.Count; i++)
        {
            var x = step.LastLogits(0).ToArray().Select(l => l / t).ToArray();
            var max = x.Max();
            var lse = max + Math.Log(x.Sum(v => Math.Exp(v - max)));
            rows[i] = [.. x.Select(v => v - lse)];
            if (i + 1 < tokens.Count) { step = runner.Step([new SequenceChunk(slot, new[] { tokens[i] })], LogitRows.Last); }
        }
        return rows;
    }

    private static void AssertMatches(double[][] reference, List<int> tokens, List<TokenLogProbs> logProbs, int topN, double tolerance)
    {
        Assert.Equal(tokens.Count, logProbs.Count);
        for (var i = 0; i < tokens.Count; i++)
        {
            var (row, entry) = (reference[i], logProbs[i]);
            Assert.Equal(row[tokens[i]], entry.LogProb, tolerance);
            var top = entry.Top.ToArray();
            var expectedTop = Enumerable.Range(0, row.Length).OrderByDescending(id => row[id]).ThenBy(id => id).Take(topN).ToArray();
            Assert.Equal(topN, top.Length);
            for (var k = 0; k < topN; k++)
            {
                Assert.Equal(row[top[k].Token], top[k].LogProb, tolerance);
                if (k > 0) { Assert.True(top[k - 1].LogProb >= top[k].LogProb, $"token {i}: top {k - 1} and {k} out of order"); }
                // The order is the reference's unless two log-probs are within the tolerance of each other.
                if (top[k].Token != expectedTop[k]) { Assert.Equal(row[expectedTop[k]], top[k].LogProb, 2 * tolerance); }
            }
            if (topN > 0) { Assert.True(entry.LogProb <= top[0].LogProb, $"token {i}: its log-prob is above the top one's"); }
        }
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.7, false)]
    [InlineData(1.3, false)]
    [InlineData(0.7, true)]
    public async Task LogProbs_AreTheLogSoftmaxOfTheRunnersLogits_AtTheTemperature(double temperature, bool penalties)
    {
        var config = RuntimeFixture.Config();
        var weights = BatchEngineTests.Model(config, seed: 61);
        using var cache = new KvCache(config, 2, Context);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, tokenizer: null);
        var prompt = RuntimeFixture.Tokens(7, config.VocabSize, 62);
        var sampling = new SamplingParameters { Temperature = temperature, Seed = 63 };
        if (penalties) { sampling = sampling with { TopK = 4, TopP = 0.8, MinP = 0.1, RepetitionPenalty = 1.4, FrequencyPenalty = 0.5, PresencePenalty = 0.3 }; }
        var (tokens, logProbs) = await Collect(engine.GenerateAsync(new GenerationRequest
        {
            Prompt = prompt,
            MaxNewTokens = 12,
            Sampling = sampling,
            LogProbs = true,
            TopLogProbs = 5,
        }));
        var reference = Reference(weights, prompt, tokens, temperature);
        AssertMatches(reference, tokens, logProbs, 5, 1e-5);
        if (temperature == 0)
        {
            Assert.All(logProbs, e => Assert.Equal((e.Token, e.LogProb), (e.Top.Span[0].Token, e.Top.Span[0].LogProb)));
        }
        else
        {
            Assert.Contains(logProbs, e => e.Token != e.Top.Span[0].Token);                       // it sampled, not only argmaxed
        }
    }

    // Batched rows and chunked prefill round the logits' last bits differently from the one-chunk reference, hence 1e-4.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LogProbs_BatchedWithChunkedPrefill_AndSpeculative_EqualALoneRun(bool speculative)
    {
        var config = RuntimeFixture.Config();
        var weights = BatchEngineTests.Model(config, seed: 64);
        var prompts = Enumerable.Range(0, 6).Select(i => RuntimeFixture.Tokens(3 + (i * 5 % 13), config.VocabSize, 65 + i)).ToArray();
        using var cache = new KvCache(config, 3, Context);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, tokenizer: null, prefillChunk: 4);
        var results = await Task.WhenAll(prompts.Select((p, i) => Collect(engine.GenerateAsync(Greedy(p, 6 + i, speculative, topN: i % 3)))));
        for (var i = 0; i < prompts.Length; i++)
        {
            AssertMatches(Reference(weights, prompts[i], results[i].Tokens, 0), results[i].Tokens, results[i].LogProbs, i % 3, 1e-4);
        }
        if (speculative) { Assert.True(engine.Metrics.AcceptedDraftTokens > 0, "no draft was accepted; the test saw no speculated token"); }
    }

    // Alone, a 2-row verify rounds each row as the 1-row decode step it stands for (docs/inference.md), so an accepted
    // draft and the token after it get exactly the log-probs plain decoding gives them.
    [Fact]
    public async Task LogProbs_Speculative_EqualPlainDecoding_BitForBit()
    {
        var config = RuntimeFixture.Config();
        var weights = BatchEngineTests.Model(config, seed: 64);
        using var cache = new KvCache(config, 1, Context);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, tokenizer: null);
        for (var i = 0; i < 4; i++)
        {
            var prompt = RuntimeFixture.Tokens(3 + (4 * i), config.VocabSize, 68 + i);
            var plain = await Collect(engine.GenerateAsync(Greedy(prompt, 16, speculative: false, topN: 3)));
            var speculated = await Collect(engine.GenerateAsync(Greedy(prompt, 16, speculative: true, topN: 3)));
            Assert.Equal(plain.Tokens, speculated.Tokens);
            Assert.Equal(plain.LogProbs.Select(e => (e.Token, e.LogProb)), speculated.LogProbs.Select(e => (e.Token, e.LogProb)));
            Assert.Equal(plain.LogProbs.SelectMany(e => e.Top.ToArray()), speculated.LogProbs.SelectMany(e => e.Top.ToArray()));
        }
        Assert.True(engine.Metrics.AcceptedDraftTokens > 0, "no draft was accepted; the test saw no speculated token");
    }

    private static GenerationRequest Greedy(int[] prompt, int max, bool speculative, int topN) => new()
    {
        Prompt = prompt,
        MaxNewTokens = max,
        Sampling = SamplingParameters.Greedy,
        Speculative = speculative,
        LogProbs = true,
        TopLogProbs = topN,
    };

    [Fact]
    public async Task LogProbs_NotAsked_AreNull_BadTopLogProbs_ThrowAtTheCall()
    {
        var config = RuntimeFixture.Config();
        var weights = BatchEngineTests.Model(config, seed: 66);
        using var cache = new KvCache(config, 1, Context);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, tokenizer: null);
        var request = new GenerationRequest { Prompt = RuntimeFixture.Tokens(4, config.VocabSize, 67), MaxNewTokens = 3, Sampling = SamplingParameters.Greedy };
        await foreach (var u in engine.GenerateAsync(request)) { Assert.Null(u.LogProbs); }

        var outOfRange = Assert.Throws<ArgumentOutOfRangeException>(() => engine.GenerateAsync(request with { LogProbs = true, TopLogProbs = 21 }));
        Assert.Contains("top_logprobs must be in [0, 20]", outOfRange.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.GenerateAsync(request with { LogProbs = true, TopLogProbs = -1 }));
        var without = Assert.Throws<ArgumentException>(() => engine.GenerateAsync(request with { TopLogProbs = 2 }));
        Assert.Contains("needs logprobs", without.Message, StringComparison.Ordinal);
        var (tokens, logProbs) = await Collect(engine.GenerateAsync(request with { LogProbs = true, TopLogProbs = 20 }));
        Assert.Equal(3, tokens.Count);
        Assert.All(logProbs, e => Assert.Equal(20, e.Top.Length));
    }
}
