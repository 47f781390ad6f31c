// BatchEngineTests.cs: the continuous-batching engine on a tiny random-weight model: concurrent greedy requests (more than
// slots, prompts longer than the prefill chunk) give exactly a lone SpeculativeDecoder's tokens, with and without MTP
// speculation; seeded sampling repeats across different neighbours; stop string / stop token / EOS / max tokens /
// context full end with the right reason and text; cancellation and early exit free the slot; queue full, prompt too
// long and bad requests throw at the call; metrics add up; Dispose fails what is left; k samples of one prompt share one
// prefill (KvCache.CopyPrefix) and each equals its separate run.
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Runtime;
using SharpSeek.Inference.Tests.Runtime;
using SharpSeek.Inference.Text;
using SharpSeek.Model;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Inference.Tests.Engine;

public sealed class BatchEngineTests
{
    private static readonly Lazy<ByteLevelBpe> SharedTokenizer = new(() => BpeTrainer.Train(
        Enumerable.Range(0, 60).Select(i => $"the quick brown fox {i} jumps over the lazy dog; stop here and there"), 300, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek));

    // A model whose head favours tokens 0..3 (so MTP drafts are sometimes right), as in SpeculativeDecoderTests.
    internal static InferenceWeights Model(ModelConfig config, int seed, Action<float[]>? editHead = null)
    {
        var model = RuntimeFixture.Weights(config, seed); // not disposed: the runtime reads these weights in place
        var head = model.Head.Weight.Value.AsSpan<float>();
        for (var i = 0; i < 4 * config.HiddenSize; i++) { head[i] *= 6; }
        if (editHead is not null)
        {
            var copy = head.ToArray();
            editHead(copy);
            copy.CopyTo(head);
        }
        return InferenceWeights.From(model, WeightFormat.F32);
    }

    private static int[] Lone(InferenceWeights weights, int[] prompt, int count, int context = 64)
    {
        using var cache = new KvCache(weights.Config, 1, context);
        using var runner = new ModelRunner(weights, cache);
        return new SpeculativeDecoder(runner).Generate(prompt, count, speculative: false);
    }

    private static async Task<(List<int> Tokens, string Text, GenerationUpdate Last)> Collect(IAsyncEnumerable<GenerationUpdate> updates)
    {
        var (tokens, text) = (new List<int>(), "");
        GenerationUpdate? last = null;
        await foreach (var u in updates)
        {
            Assert.Null(last?.Finish);
            tokens.AddRange(u.Tokens);
            text += u.Text;
            Assert.Equal(tokens.Count, u.CompletionTokens);
            last = u;
        }
        Assert.NotNull(last);
        Assert.NotNull(last.Finish);
        return (tokens, text, last);
    }

    private static GenerationRequest Greedy(int[] prompt, int? max, bool speculative = false) =>
        new() { Prompt = prompt, MaxNewTokens = max, Sampling = new SamplingParameters { Temperature = 0 }, Speculative = speculative };

    private static GenerationRequest Seeded(int[] prompt, long seed, int maxNew, SamplingParameters sampling) =>
        new() { Prompt = prompt, MaxNewTokens = maxNew, Sampling = sampling with { Seed = seed } };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ConcurrentGreedy_MoreRequestsThanSlots_EachEqualsALoneRun(bool speculative)
    {
        var config = RuntimeFixture.Config();
        var weights = Model(config, seed: 41);
        var prompts = Enumerable.Range(0, 10).Select(i => RuntimeFixture.Tokens(1 + (i * 7 % 19), config.VocabSize, 100 + i)).ToArray();
        var counts = Enumerable.Range(0, 10).Select(i => 3 + (i * 5 % 17)).ToArray();
        var expected = prompts.Select((p, i) => Lone(weights, p, counts[i])).ToArray();
        using var cache = new KvCache(config, 3, 64);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, tokenizer: null, queueCapacity: 10, prefillChunk: 5);
        var results = await Task.WhenAll(prompts.Select((p, i) => Collect(engine.GenerateAsync(Greedy(p, counts[i], speculative)))));
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(expected[i], results[i].Tokens);
            Assert.Equal(FinishReason.Length, results[i].Last.Finish);
            Assert.Equal(prompts[i].Length, results[i].Last.PromptTokens);
            Assert.Equal("", results[i].Text);
        }
        var m = engine.Metrics;
        Assert.Equal(10, m.Requests);
        Assert.Equal(prompts.Sum(p => p.Length), m.PromptTokens);
        Assert.Equal(counts.Sum(), m.GeneratedTokens);
        Assert.Equal((0, 0), (m.Running, m.Queued));
        Assert.True(m.PromptSeconds > 0 && m.DecodeSeconds > 0);
        if (speculative)
        {
            Assert.InRange(m.AcceptedDraftTokens, 1, m.DraftedTokens - 1);
            // Per sequence: 1 token from the prefill, then 1 per verify plus 1 per accepted draft, and 1 from a plain
            // step when a single token is left (a verify runs only while two are wanted; the 64-position context leaves
            // every other step room to verify).
            Assert.InRange(m.DraftedTokens + m.AcceptedDraftTokens, m.GeneratedTokens - 20, m.GeneratedTokens - 10);
        }
        else
        {
            Assert.Equal((0, 0), (m.DraftedTokens, m.AcceptedDraftTokens));
        }
        Assert.True(SpinWait.SpinUntil(() => engine.Metrics.Running == 0, 5000), "the engine should release every slot"); // it releases after the last update
        Assert.Equal(3, Enumerable.Range(0, 3).Select(_ => cache.Acquire()).Distinct().Count());  // every slot came back
    }

    [Fact]
    public async Task SeededSampling_SameTokensWhateverTheNeighbours()
    {
        var config = RuntimeFixture.Config();
        var weights = Model(config, seed: 43);
        using var cache = new KvCache(config, 4, 64);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, tokenizer: null, prefillChunk: 4);
        var prompt = RuntimeFixture.Tokens(9, config.VocabSize, 44);
        GenerationRequest Sampled(int[] p, long seed) => Seeded(p, seed, 20, new SamplingParameters { Temperature = 1.3, TopK = 50, TopP = 0.95 });
        var alone = await Collect(engine.GenerateAsync(Sampled(prompt, 7)));
        var neighbours = Enumerable.Range(0, 3).Select(i => engine.GenerateAsync(Sampled(RuntimeFixture.Tokens(3 + (5 * i), config.VocabSize, 50 + i), 60 + i))).ToArray();
        var again = engine.GenerateAsync(Sampled(prompt, 7));
        var crowded = await Collect(again);
        foreach (var n in neighbours) { await Collect(n); }
        Assert.Equal(alone.Tokens, crowded.Tokens);
        var other = await Collect(engine.GenerateAsync(Sampled(prompt, 8)));
        Assert.NotEqual(alone.Tokens, other.Tokens);
    }

    [Fact]
    public async Task SamePrompt_IsPrefilledOnce_AndEachSampleEqualsItsSeparateRun()
    {
        var config = RuntimeFixture.Config();
        var weights = Model(config, seed: 47);
        using var cache = new KvCache(config, 4, 64);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, tokenizer: null, prefillChunk: 4);
        var (prompt, other) = (RuntimeFixture.Tokens(11, config.VocabSize, 48), RuntimeFixture.Tokens(6, config.VocabSize, 49)); // 3 prefill chunks, 2
        GenerationRequest Sampled(int[] p, long seed) => Seeded(p, seed, 12, new SamplingParameters { Temperature = 1.2, TopP = 0.95 });
        var alone = new List<(List<int> Tokens, string Text, GenerationUpdate Last)>();
        for (var seed = 0; seed < 4; seed++) { alone.Add(await Collect(engine.GenerateAsync(Sampled(prompt, seed)))); }
        Assert.Equal(0, engine.Metrics.SharedPromptTokens);
        Assert.True(alone.Select(a => string.Join(",", a.Tokens)).Distinct().Count() > 1, "the seeds should give different samples");

        // Four slots: samples 1 and 2 wait on sample 0's prefill beside a different prompt; sample 3 is admitted when the
        // other prompt's slot frees, copies all but the prompt's last row from a running sibling and runs that one.
        var updates = engine.GenerateAll([Sampled(prompt, 0), Sampled(other, 9), Sampled(prompt, 1), Sampled(prompt, 2), Sampled(prompt, 3)]);
        var together = await Task.WhenAll(updates.Select(Collect));
        var samples = new[] { together[0], together[2], together[3], together[4] };
        for (var seed = 0; seed < 4; seed++)
        {
            Assert.Equal(alone[seed].Tokens, samples[seed].Tokens);
            Assert.Equal(prompt.Length, samples[seed].Last.PromptTokens);
        }
        Assert.Equal((2 * prompt.Length) + prompt.Length - 1, engine.Metrics.SharedPromptTokens);
        Assert.Equal(12, together[1].Tokens.Count);
        Assert.True(SpinWait.SpinUntil(() => engine.Metrics.Running == 0, 5000), "the engine should release every slot"); // it releases after the last update
        Assert.Equal(4, Enumerable.Range(0, 4).Select(_ => cache.Acquire()).Distinct().Count());  // every slot came back
    }

    [Fact]
    public void CopyPrefix_TakesTheRows_AndRefusesBadSlotsAndLengths()
    {
        var config = RuntimeFixture.Config();
        var weights = Model(config, seed: 53);
        using var cache = new KvCache(config, 3, 16);
        using var runner = new ModelRunner(weights, cache);
        var (a, b, free) = (cache.Acquire(), cache.Acquire(), 2);
        runner.Step([new SequenceChunk(a, RuntimeFixture.Tokens(5, config.VocabSize, 54))]);
        var sequel = new[] { 3 };
        cache.CopyPrefix(a, b, 5);
        Assert.Equal((5, 0), (cache.Length(b), cache.DraftLength(b)));
        // The copy continues as the original does: the same next logits, bit for bit.
        var fromCopy = runner.Step([new SequenceChunk(b, sequel)]).LastLogits(0).ToArray();
        var fromOriginal = runner.Step([new SequenceChunk(a, sequel)]).LastLogits(0).ToArray();
        Assert.Equal(fromOriginal, fromCopy);
        Assert.Throws<ArgumentException>(() => cache.CopyPrefix(a, a, 2));
        Assert.Contains("holds 6 positions", Assert.Throws<ArgumentOutOfRangeException>(() => cache.CopyPrefix(a, b, 7)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.CopyPrefix(a, free, 2));
    }

    [Fact]
    public async Task StopRules_EndWithTheRightReasonAndText()
    {
        var bpe = SharedTokenizer.Value;
        var eos = bpe.EosId!.Value;
        var config = RuntimeFixture.Config() with { VocabSize = bpe.VocabSize };
        var prompt = RuntimeFixture.Tokens(6, 256, 71);
        var plain = Model(config, seed: 72);
        var full = Lone(plain, prompt, 24);
        Assert.DoesNotContain(eos, full);
        using (var cache = new KvCache(config, 2, 64))
        using (var runner = new ModelRunner(plain, cache))
        using (var engine = new BatchEngine(runner, bpe))
        {
            var all = await Collect(engine.GenerateAsync(Greedy(prompt, 24)));
            Assert.Equal(full, all.Tokens);
            Assert.Equal(Text(bpe, full), all.Text);
            Assert.Equal(FinishReason.Length, all.Last.Finish);

            // A stop string cut from the middle of the text: the output ends just before its first occurrence.
            var stop = all.Text.Substring(all.Text.Length / 2, 2);
            var stopped = await Collect(engine.GenerateAsync(Greedy(prompt, 24) with { StopStrings = ["zzzz-never", stop] }));
            Assert.Equal(FinishReason.Stop, stopped.Last.Finish);
            Assert.Equal(all.Text[..all.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
            Assert.Equal(full[..stopped.Tokens.Count], stopped.Tokens);

            // A stop token: generation ends on it; it counts as a token but adds no text.
            var at = 5;
            var byToken = await Collect(engine.GenerateAsync(Greedy(prompt, 24, speculative: true) with { StopTokens = [full[at]] }));
            var first = Array.IndexOf(full, full[at]);
            Assert.Equal(full[..(first + 1)], byToken.Tokens);
            Assert.Equal(Text(bpe, full[..first]), byToken.Text);
            Assert.Equal(FinishReason.Stop, byToken.Last.Finish);
        }

        // EOS: swap the head rows of EOS and a greedy token new at position k ≥ 2, so the model says EOS there instead.
        var k = Enumerable.Range(2, full.Length - 2).First(i => !full.AsSpan(0, i).Contains(full[i]));
        var swap = full[k];
        var d = config.HiddenSize;
        var withEos = Model(config, seed: 72, head =>
        {
            var row = head.AsSpan(swap * d, d).ToArray();
            head.AsSpan(eos * d, d).CopyTo(head.AsSpan(swap * d, d));
            row.CopyTo(head.AsSpan(eos * d, d));
        });
        using (var cache = new KvCache(config, 1, 16))
        using (var runner = new ModelRunner(withEos, cache))
        using (var engine = new BatchEngine(runner, bpe))
        {
            var ended = await Collect(engine.GenerateAsync(Greedy(prompt, null)));
            Assert.Equal([.. full[..k], eos], ended.Tokens);
            Assert.Equal(Text(bpe, full[..k]), ended.Text);
            Assert.Equal(FinishReason.Stop, ended.Last.Finish);

            // Context full: 16 positions hold the 6-token prompt and 10 new tokens.
            var other = Enumerable.Range(73, 30).Select(seed => RuntimeFixture.Tokens(6, 256, seed)).First(p => !Lone(withEos, p, 10).Contains(eos));
            var expected = Lone(withEos, other, 10);
            var filled = await Collect(engine.GenerateAsync(Greedy(other, null, speculative: true)));
            Assert.Equal(expected, filled.Tokens);
            Assert.Equal(FinishReason.Length, filled.Last.Finish);
        }
    }

    [Fact]
    public async Task AFailingSequence_FailsOnlyItsOwnRequest()
    {
        // The model's vocabulary is 20 ids wider than the tokenizer's (its head favours one of the extra ids): a request
        // that generates an extra id cannot be detokenized and fails; its neighbour, stopping before one, completes.
        var bpe = SharedTokenizer.Value;
        var config = RuntimeFixture.Config() with { VocabSize = bpe.VocabSize + 20 };
        var unknown = bpe.VocabSize + 5;
        var d = config.HiddenSize;
        var weights = Model(config, seed: 97, head => { for (var i = unknown * d; i < (unknown + 1) * d; i++) { head[i] *= 6; } });
        var prompts = Enumerable.Range(0, 12).Select(seed => RuntimeFixture.Tokens(5, 256, 200 + seed)).ToArray();
        var firstUnknown = prompts.Select(p => Array.FindIndex(Lone(weights, p, 20), t => t >= bpe.VocabSize) is var at && at >= 0 ? at : 20).ToArray();
        var failing = Array.FindIndex(firstUnknown, at => at < 20);
        var lasting = Array.IndexOf(firstUnknown, firstUnknown.Max());
        var safe = firstUnknown[lasting];
        Assert.True(failing >= 0 && failing != lasting && safe >= 2, $"pick another seed: first unknown ids at {string.Join(", ", firstUnknown)}");
        using var cache = new KvCache(config, 2, 64);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, bpe);
        var bad = Collect(engine.GenerateAsync(Greedy(prompts[failing], 20)));
        var good = Collect(engine.GenerateAsync(Greedy(prompts[lasting], safe)));
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => bad);
        Assert.Contains("is not in the vocabulary", error.Message, StringComparison.Ordinal);
        Assert.Equal(Lone(weights, prompts[lasting], safe), (await good).Tokens);
        Assert.Equal(3, (await Collect(engine.GenerateAsync(Greedy(prompts[lasting], 3)))).Tokens.Count);
        Assert.Equal(0, engine.Metrics.Running);
    }

    private static string Text(ByteLevelBpe bpe, int[] tokens)
    {
        var detokenizer = new StreamingDetokenizer(bpe, skipSpecialTokens: true);
        return string.Concat(tokens.Select(detokenizer.Push)) + detokenizer.Flush();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Cancellation_FreesTheSlotForTheQueuedRequest(bool breakEarly)
    {
        var config = RuntimeFixture.Config();
        var weights = Model(config, seed: 81);
        using var cache = new KvCache(config, 1, 2048);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, tokenizer: null);
        using var cts = new CancellationTokenSource();
        var longOne = engine.GenerateAsync(Greedy(RuntimeFixture.Tokens(4, config.VocabSize, 82), null), cts.Token);
        var queuedPrompt = RuntimeFixture.Tokens(5, config.VocabSize, 83);
        var queued = engine.GenerateAsync(Greedy(queuedPrompt, 6));
        var seen = 0;
        var read = async () =>
        {
            await foreach (var u in longOne)
            {
                seen += u.Tokens.Count;
                if (breakEarly) { break; }
                await cts.CancelAsync();
            }
        };
        if (breakEarly) { await read(); } else { await Assert.ThrowsAnyAsync<OperationCanceledException>(read); }
        Assert.InRange(seen, 1, 1000);
        var result = await Collect(queued);
        Assert.Equal(Lone(weights, queuedPrompt, 6), result.Tokens);
        Assert.Equal((0, 0), (engine.Metrics.Running, engine.Metrics.Queued));
    }

    [Fact]
    public async Task QueueFull_PromptTooLong_AndBadRequests_ThrowAtTheCall()
    {
        var config = RuntimeFixture.Config();
        var weights = Model(config, seed: 91);
        using var cache = new KvCache(config, 1, 2048);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, tokenizer: null, queueCapacity: 2);
        using var cts = new CancellationTokenSource();
        var prompt = RuntimeFixture.Tokens(3, config.VocabSize, 92);
        var running = engine.GenerateAsync(Greedy(prompt, null), cts.Token).GetAsyncEnumerator();
        Assert.True(await running.MoveNextAsync());                                            // it holds the only slot now
        var waiting = new[] { engine.GenerateAsync(Greedy(prompt, 2), cts.Token), engine.GenerateAsync(Greedy(prompt, 2), cts.Token) };
        var full = Assert.Throws<QueueFullException>(() => engine.GenerateAsync(Greedy(prompt, 2)));
        Assert.Equal(2, full.Capacity);
        Assert.Equal(2, engine.Metrics.Queued);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => { while (await running.MoveNextAsync()) { } });
        await running.DisposeAsync();
        foreach (var w in waiting) { await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Collect(w)); }

        var tooLong = Assert.Throws<PromptTooLongException>(() => engine.GenerateAsync(Greedy(new int[2048], 1)));
        Assert.Contains("2048 tokens", tooLong.Message, StringComparison.Ordinal);
        Assert.Contains("holds 2048", tooLong.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => engine.GenerateAsync(Greedy([], 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.GenerateAsync(Greedy([config.VocabSize], 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.GenerateAsync(Greedy(prompt, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.GenerateAsync(Greedy(prompt, 1) with { Sampling = new SamplingParameters { TopP = 0 } }));
        var noTokenizer = Assert.Throws<ArgumentException>(() => engine.GenerateAsync(Greedy(prompt, 1) with { StopStrings = ["x"] }));
        Assert.Contains("tokenizer", noTokenizer.Message, StringComparison.Ordinal);
        Assert.Equal(3, (await Collect(engine.GenerateAsync(Greedy(prompt, 3)))).Tokens.Count);  // the engine still works
    }

    [Fact]
    public async Task Dispose_FailsRunningAndQueuedRequests()
    {
        var config = RuntimeFixture.Config();
        var weights = Model(config, seed: 95);
        using var cache = new KvCache(config, 1, 2048);
        using var runner = new ModelRunner(weights, cache);
        var engine = new BatchEngine(runner, tokenizer: null);
        var prompt = RuntimeFixture.Tokens(3, config.VocabSize, 96);
        var running = engine.GenerateAsync(Greedy(prompt, null)).GetAsyncEnumerator();
        Assert.True(await running.MoveNextAsync());
        var queued = engine.GenerateAsync(Greedy(prompt, 2));
        engine.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => { while (await running.MoveNextAsync()) { } });
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Collect(queued));
        Assert.Throws<ObjectDisposedException>(() => engine.GenerateAsync(Greedy(prompt, 2)));
    }
}
