// SpeculativeDecoderTests.cs: greedy generation through the cache equals the uncached recompute (absorbed and naive);
// MTP speculation gives the same tokens as plain decoding with consistent drafted/accepted counters (a model whose head
// favours a few tokens so that drafts are sometimes right), and the last token takes a plain step; slot reuse after release gives the same tokens as a fresh cache;
// the MTP draft step's logits equal the tape forward's MTP logits.
using SharpSeek.Inference.Runtime;
using SharpSeek.Model;
using SharpSeek.Model.Layers;

namespace SharpSeek.Inference.Tests.Runtime;

public sealed class SpeculativeDecoderTests
{
    [Fact]
    public void Greedy_AbsorbedNaiveAndUncached_GiveTheSameTokens()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 11);
        var prompt = RuntimeFixture.Tokens(5, config.VocabSize, 12);
        var expected = RuntimeFixture.ReferenceGreedy(model, prompt, 10);
        var weights = InferenceWeights.From(model, WeightFormat.F32);
        foreach (var mode in new[] { AttentionMode.Absorbed, AttentionMode.Naive })
        {
            using var cache = new KvCache(config, 1, 32);
            using var runner = new ModelRunner(weights, cache, mode);
            Assert.Equal(expected, new SpeculativeDecoder(runner).Generate(prompt, 10, speculative: false));
        }
    }

    // Zero new tokens is none (no prefill needed); a full context ends generation with the tokens so far, both ways.
    [Fact]
    public void ZeroTokens_AndAFullContext_StopCleanly()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 13);
        var prompt = RuntimeFixture.Tokens(5, config.VocabSize, 14);
        var weights = InferenceWeights.From(model, WeightFormat.F32);
        using var cache = new KvCache(config, 1, 12);
        using var runner = new ModelRunner(weights, cache);
        Assert.Empty(new SpeculativeDecoder(runner).Generate(prompt, 0, speculative: false));
        var expected = RuntimeFixture.ReferenceGreedy(model, prompt, 8);
        foreach (var speculative in new[] { false, true })
        {
            // 12 positions: the prompt's 5 plus 7 fed tokens, and the 8th token is picked from the last logits.
            Assert.Equal(expected, new SpeculativeDecoder(runner).Generate(prompt, 100, speculative));
        }
    }

    [Fact]
    public void Speculation_SameTokensAsPlainDecoding_CountersConsistent()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 21);
        // A head that favours tokens 0..3: the MTP block (sharing the head) then drafts right some of the time.
        var head = model.Head.Weight.Value.AsSpan<float>();
        for (var i = 0; i < 4 * config.HiddenSize; i++) { head[i] *= 6; }
        var prompt = RuntimeFixture.Tokens(6, config.VocabSize, 22);
        var weights = InferenceWeights.From(model, WeightFormat.F32);
        using var cache = new KvCache(config, 1, 64);
        using var runner = new ModelRunner(weights, cache);
        var plain = new SpeculativeDecoder(runner).Generate(prompt, 30, speculative: false);
        var decoder = new SpeculativeDecoder(runner);
        var speculated = decoder.Generate(prompt, 30, speculative: true);
        Assert.Equal(plain, speculated);
        Assert.Equal(RuntimeFixture.ReferenceGreedy(model, prompt, 30), plain);
        Assert.InRange(decoder.AcceptedDraftTokens, 1, decoder.DraftedTokens - 1);
        // Every step makes one token, plus one per accepted draft: 30 = 1 (prefill) + drafted + accepted, + 1 when the last
        // token came from a plain step (a verify runs only while two tokens are still wanted).
        Assert.InRange(30 - 1 - decoder.DraftedTokens - decoder.AcceptedDraftTokens, 0, 1);
    }

    // With one token left a step drafts nothing: a plain step picks the token a verify's row 0 would, for less.
    [Fact]
    public void Speculation_TheLastTokenTakesAPlainStep()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 21);
        var prompt = RuntimeFixture.Tokens(6, config.VocabSize, 22);
        var weights = InferenceWeights.From(model, WeightFormat.F32);
        using var cache = new KvCache(config, 1, 64);
        using var runner = new ModelRunner(weights, cache);
        var decoder = new SpeculativeDecoder(runner);
        Assert.Equal(new SpeculativeDecoder(runner).Generate(prompt, 2, speculative: false), decoder.Generate(prompt, 2, speculative: true));
        Assert.Equal(0, decoder.DraftedTokens);
        Assert.Equal(new SpeculativeDecoder(runner).Generate(prompt, 3, speculative: false), decoder.Generate(prompt, 3, speculative: true));
        Assert.Equal(1, decoder.DraftedTokens);
        Assert.True(decoder.LastPrefillSeconds > 0);
    }

    [Fact]
    public void Speculation_AtTheContextEnd_FallsBackToPlainSteps()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 5);
        var prompt = RuntimeFixture.Tokens(4, config.VocabSize, 6);
        var weights = InferenceWeights.From(model, WeightFormat.F32);
        using var cache = new KvCache(config, 1, 12);
        using var runner = new ModelRunner(weights, cache);
        var plain = new SpeculativeDecoder(runner).Generate(prompt, 8, speculative: false);
        Assert.Equal(plain, new SpeculativeDecoder(runner).Generate(prompt, 8, speculative: true));
    }

    [Fact]
    public void DraftStep_MatchesTheTapeMtpLogits()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 8);
        var tokens = RuntimeFixture.Tokens(7, config.VocabSize, 9);
        using var transformer = new SharpSeek.Model.Transformer(model);
        using var arena = new SharpSeek.Tensors.Arena("mtp");
        var tape = new SharpSeek.Tensors.Autograd.Tape(arena) { GradEnabled = false };
        var (_, mtp) = transformer.Forward(tape, arena.FromSpan<int>(tokens, 1, tokens.Length));
        var expected = tape.Value(mtp!.Value).AsSpan<float>().ToArray();                          // (T − 1, V): row i drafts token i + 2
        using var cache = new KvCache(config, 1, 16);
        using var runner = new ModelRunner(InferenceWeights.From(model, WeightFormat.F32), cache);
        var slot = cache.Acquire();
        var hidden = runner.Step([new SequenceChunk(slot, tokens)]).HiddenRows(0).ToArray();
        var d = config.HiddenSize;
        var v = config.VocabSize;
        // Two draft steps (4 rows, then 2) must equal the whole-sequence MTP rows.
        var first = runner.DraftStep([new DraftChunk(slot, tokens.AsMemory(1..5), hidden.AsMemory(0, 4 * d))], LogitRows.All);
        for (var i = 0; i < 4; i++) { RuntimeFixture.AssertClose(expected.AsSpan(i * v, v), first.Logits(0, i), 1e-4, $"mtp row {i}"); }
        var second = runner.DraftStep([new DraftChunk(slot, tokens.AsMemory(5..7), hidden.AsMemory(4 * d, 2 * d))], LogitRows.All);
        for (var i = 0; i < 2; i++) { RuntimeFixture.AssertClose(expected.AsSpan((4 + i) * v, v), second.Logits(0, i), 1e-4, $"mtp row {4 + i}"); }
        Assert.Equal(6, cache.DraftLength(slot));
    }

    [Fact]
    public void SlotReuse_AfterRelease_GivesTheSameTokensAsAFreshCache()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 31);
        var weights = InferenceWeights.From(model, WeightFormat.F32);
        var prompt = RuntimeFixture.Tokens(5, config.VocabSize, 32);
        using var fresh = new KvCache(config, 1, 32);
        using var freshRunner = new ModelRunner(weights, fresh);
        var expected = new SpeculativeDecoder(freshRunner).Generate(prompt, 8, speculative: true);
        using var used = new KvCache(config, 1, 32);
        using var runner = new ModelRunner(weights, used);
        new SpeculativeDecoder(runner).Generate(RuntimeFixture.Tokens(9, config.VocabSize, 33), 12, speculative: true);
        Assert.Equal(expected, new SpeculativeDecoder(runner).Generate(prompt, 8, speculative: true));
    }
}
