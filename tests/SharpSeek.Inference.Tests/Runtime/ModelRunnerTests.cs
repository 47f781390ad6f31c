// ModelRunnerTests.cs: the cached, tape-free step against the uncached tape forward: prefill then decode steps, absorbed
// and naive attention, q-lora and q_proj, YaRN and plain RoPE, the correction bias; ragged batches of three sequences;
// truncate, slot reuse and the errors for context overflow, bad slots and tokens outside the vocabulary; decode steps
// bitwise the same on one thread (serial paths) and two (the parallel decode paths); each row of a 2-row verify step
// bitwise the 1-row step it stands for; decode steps allocate nothing.
using SharpSeek.Inference.Runtime;
using SharpSeek.Model;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Inference.Tests.Runtime;

[Collection(SerialCollection.Name)] // one test swaps WorkerPool.Current
public sealed class ModelRunnerTests
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("qlora", AttentionMode.Absorbed)]
    [InlineData("qlora", AttentionMode.Naive)]
    [InlineData("qproj", AttentionMode.Absorbed)]
    [InlineData("qproj", AttentionMode.Naive)]
    [InlineData("plain-rope", AttentionMode.Absorbed)]
    public void PrefillThenDecode_MatchesUncachedForward(string variant, AttentionMode mode)
    {
        var config = RuntimeFixture.Config(variant);
        using var model = RuntimeFixture.Weights(config, seed: 3);
        var tokens = RuntimeFixture.Tokens(13, config.VocabSize, seed: 5);
        var reference = RuntimeFixture.ReferenceLogits(model, tokens);
        using var cache = new KvCache(config, maxSequences: 2, maxContext: 32);
        using var runner = new ModelRunner(InferenceWeights.From(model, WeightFormat.F32), cache, mode);
        var slot = cache.Acquire();
        var v = config.VocabSize;
        var prefill = runner.Step([new SequenceChunk(slot, tokens.AsMemory(..8))]);
        for (var t = 0; t < 8; t++) { RuntimeFixture.AssertClose(reference.AsSpan(t * v, v), prefill.Logits(0, t), Tolerance, $"prefill row {t}"); }
        for (var t = 8; t < tokens.Length; t++)
        {
            var step = runner.Step([new SequenceChunk(slot, tokens.AsMemory(t..(t + 1)))]);
            RuntimeFixture.AssertClose(reference.AsSpan(t * v, v), step.Logits(0, 0), Tolerance, $"decode position {t}");
        }
        Assert.Equal(tokens.Length, cache.Length(slot));
    }

    [Theory]
    [InlineData(AttentionMode.Absorbed)]
    [InlineData(AttentionMode.Naive)]
    public void LongPrefill_AttendsInQueryTiles_MatchingTheUncachedForward_InScratchLinearInT(AttentionMode mode)
    {
        var config = RuntimeFixture.Config() with { MaxPositionEmbeddings = 1200 };
        using var model = RuntimeFixture.Weights(config, seed: 3);
        var tokens = RuntimeFixture.Tokens(600, config.VocabSize, seed: 5);
        var reference = RuntimeFixture.ReferenceLogits(model, tokens);
        var weights = InferenceWeights.From(model, WeightFormat.F32);
        using var cache = new KvCache(config, maxSequences: 1, maxContext: 1200);
        using var runner = new ModelRunner(weights, cache, mode);
        var slot = cache.Acquire();
        var v = config.VocabSize;
        runner.Step([new SequenceChunk(slot, tokens.AsMemory(..30))]);
        var rest = runner.Step([new SequenceChunk(slot, tokens.AsMemory(30..))]);      // tiles of 256, 256 and 58 queries after 30 cached
        foreach (var t in new[] { 30, 285, 286, 541, 542, 599 }) { RuntimeFixture.AssertClose(reference.AsSpan(t * v, v), rest.Logits(0, t - 30), Tolerance, $"prefill row {t}"); }

        long Scratch(int length)
        {
            using var c = new KvCache(config, maxSequences: 1, maxContext: 1200);
            using var r = new ModelRunner(weights, c, mode);
            r.Step([new SequenceChunk(c.Acquire(), RuntimeFixture.Tokens(length, v, seed: 9))]);
            return r.ScratchBytes;
        }
        var (shorter, longer) = (Scratch(512), Scratch(1024));
        Assert.True(longer < 2.2 * shorter, $"1024 tokens take {longer} bytes of scratch, 512 take {shorter}: more than linear");
    }

    [Theory]
    [InlineData(AttentionMode.Absorbed)]
    [InlineData(AttentionMode.Naive)]
    public void RaggedBatch_EachSequenceMatchesItsOwnRun(AttentionMode mode)
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 7);
        int[][] sequences = [RuntimeFixture.Tokens(8, config.VocabSize, 1), RuntimeFixture.Tokens(4, config.VocabSize, 2), RuntimeFixture.Tokens(12, config.VocabSize, 3)];
        int[] prefill = [5, 1, 9];
        using var cache = new KvCache(config, maxSequences: 3, maxContext: 16);
        using var runner = new ModelRunner(InferenceWeights.From(model, WeightFormat.F32), cache, mode);
        int[] slots = [cache.Acquire(), cache.Acquire(), cache.Acquire()];
        var v = config.VocabSize;
        var references = sequences.Select(s => RuntimeFixture.ReferenceLogits(model, s)).ToArray();
        var first = runner.Step([.. Enumerable.Range(0, 3).Select(i => new SequenceChunk(slots[i], sequences[i].AsMemory(..prefill[i])))]);
        for (var i = 0; i < 3; i++)
        {
            for (var t = 0; t < prefill[i]; t++) { RuntimeFixture.AssertClose(references[i].AsSpan(t * v, v), first.Logits(i, t), Tolerance, $"seq {i} row {t}"); }
        }

        // Then decode (1), verify-sized (2) and a further prefill chunk (3) in one step.
        int[] next = [1, 2, 3];
        var second = runner.Step([.. Enumerable.Range(0, 3).Select(i => new SequenceChunk(slots[i], sequences[i].AsMemory(prefill[i]..(prefill[i] + next[i]))))], LogitRows.All);
        for (var i = 0; i < 3; i++)
        {
            for (var t = 0; t < next[i]; t++)
            {
                var pos = prefill[i] + t;
                RuntimeFixture.AssertClose(references[i].AsSpan(pos * v, v), second.Logits(i, t), Tolerance, $"seq {i} position {pos}");
            }
            Assert.Equal(prefill[i] + next[i], cache.Length(slots[i]));
        }
    }

    [Theory]
    [InlineData(WeightFormat.F32)]
    [InlineData(WeightFormat.BF16)]
    [InlineData(WeightFormat.Fp8)]
    public void DecodeSteps_AreBitwiseTheSameOnOneAndTwoThreads(WeightFormat format)
    {
        // Two threads take the parallel decode paths (experts together, attention heads and GEMV rows over the hot pool),
        // one thread the serial ones: every logit must agree to the bit.
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 6);
        var weights = InferenceWeights.From(model, format);
        var tokens = RuntimeFixture.Tokens(14, config.VocabSize, 8);
        float[] Run(int threads)
        {
            WorkerPool.UseThreads(threads);
            using var cache = new KvCache(config, 1, 16);
            using var runner = new ModelRunner(weights, cache);
            var slot = cache.Acquire();
            var logits = new List<float>();
            logits.AddRange(runner.Step([new SequenceChunk(slot, tokens.AsMemory(..6))], LogitRows.Last).LastLogits(0).ToArray());
            for (var t = 6; t < 11; t++) { logits.AddRange(runner.Step([new SequenceChunk(slot, tokens.AsMemory(t..(t + 1)))]).Logits(0, 0).ToArray()); }
            var verify = runner.Step([new SequenceChunk(slot, tokens.AsMemory(11..14))]);
            for (var t = 0; t < 3; t++) { logits.AddRange(verify.Logits(0, t).ToArray()); }
            return [.. logits];
        }
        var saved = WorkerPool.Current.Threads;
        try
        {
            var one = Run(1);
            Assert.Equal(one, Run(2));
        }
        finally { WorkerPool.UseThreads(saved); }
    }

    // What greedy MTP speculation rests on: a 2-row verify step rounds each row as the 1-row decode step it stands for
    // (projections on the GEMV path, attention in the row-independent latent kernel, experts shared by the rows or not),
    // on one thread and on two. Logits and hidden states of both rows, bit for bit, every format, three positions.
    [Theory]
    [InlineData(WeightFormat.F32)]
    [InlineData(WeightFormat.BF16)]
    [InlineData(WeightFormat.Fp8)]
    public void VerifyStep_EachRowIsBitwiseTheDecodeStepItStandsFor(WeightFormat format)
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 17);
        var weights = InferenceWeights.From(model, format);
        var tokens = RuntimeFixture.Tokens(12, config.VocabSize, 18);
        var saved = WorkerPool.Current.Threads;
        try
        {
            foreach (var threads in new[] { 1, 2 })
            {
                WorkerPool.UseThreads(threads);
                using var cache = new KvCache(config, 1, 16);
                using var runner = new ModelRunner(weights, cache);
                var slot = cache.Acquire();
                runner.Step([new SequenceChunk(slot, tokens.AsMemory(..6))], LogitRows.Last);
                for (var t = 6; t < 12; t += 2)
                {
                    var pair = runner.Step([new SequenceChunk(slot, tokens.AsMemory(t..(t + 2)))]);
                    float[][] verify = [pair.Logits(0, 0).ToArray(), pair.Logits(0, 1).ToArray(), pair.Hidden(0, 0).ToArray(), pair.Hidden(0, 1).ToArray()];
                    cache.Truncate(slot, t);
                    var first = runner.Step([new SequenceChunk(slot, tokens.AsMemory(t..(t + 1)))]);
                    float[][] one = [first.Logits(0, 0).ToArray(), [], first.Hidden(0, 0).ToArray(), []];
                    var second = runner.Step([new SequenceChunk(slot, tokens.AsMemory((t + 1)..(t + 2)))]);
                    (one[1], one[3]) = (second.Logits(0, 0).ToArray(), second.Hidden(0, 0).ToArray());
                    for (var i = 0; i < 4; i++) { Assert.Equal(one[i], verify[i]); }
                }
            }
        }
        finally { WorkerPool.UseThreads(saved); }
    }

    [Theory]
    [InlineData(WeightFormat.F32)]
    [InlineData(WeightFormat.Fp8)]
    public void DecodeSteps_AllocateNothingAfterWarmUp(WeightFormat format)
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 12);
        var tokens = RuntimeFixture.Tokens(16, config.VocabSize, 12);
        using var cache = new KvCache(config, 1, 16);
        using var runner = new ModelRunner(InferenceWeights.From(model, format), cache);
        var slot = cache.Acquire();
        runner.Step([new SequenceChunk(slot, tokens.AsMemory(..4))], LogitRows.Last);
        var chunks = new SequenceChunk[1];
        for (var t = 4; t < 8; t++) { chunks[0] = new SequenceChunk(slot, tokens.AsMemory(t..(t + 1))); runner.Step(chunks, LogitRows.Last); }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var t = 8; t < 16; t++) { chunks[0] = new SequenceChunk(slot, tokens.AsMemory(t..(t + 1))); runner.Step(chunks, LogitRows.Last); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void LastRowLogits_EqualTheAllRowsLastRow()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 2);
        var tokens = RuntimeFixture.Tokens(6, config.VocabSize, 9);
        using var cache = new KvCache(config, 2, 16);
        using var runner = new ModelRunner(InferenceWeights.From(model, WeightFormat.F32), cache);
        int a = cache.Acquire(), b = cache.Acquire();
        var all = runner.Step([new SequenceChunk(a, tokens)]).Logits(0, 5).ToArray();
        var last = runner.Step([new SequenceChunk(b, tokens)], LogitRows.Last);
        RuntimeFixture.AssertClose(all, last.LastLogits(0), 1e-5, "last row");
        Assert.Throws<InvalidOperationException>(() => last.Logits(0, 0).Length);
    }

    [Fact]
    public void Truncate_RollsBackExactly()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 4);
        var tokens = RuntimeFixture.Tokens(9, config.VocabSize, 4);
        using var cache = new KvCache(config, 1, 16);
        using var runner = new ModelRunner(InferenceWeights.From(model, WeightFormat.F32), cache);
        var slot = cache.Acquire();
        runner.Step([new SequenceChunk(slot, tokens.AsMemory(..6))]);
        var expected = runner.Step([new SequenceChunk(slot, tokens.AsMemory(6..8))]).Logits(0, 1).ToArray();
        runner.Step([new SequenceChunk(slot, new[] { 3, 4 })]);   // rejected tokens
        cache.Truncate(slot, 6);
        Assert.Equal(6, cache.Length(slot));
        var again = runner.Step([new SequenceChunk(slot, tokens.AsMemory(6..8))]).Logits(0, 1).ToArray();
        Assert.Equal(expected, again);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Truncate(slot, 9));
    }

    [Fact]
    public void Errors_NameTheProblem()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config);
        using var cache = new KvCache(config, 2, 8);
        using var runner = new ModelRunner(InferenceWeights.From(model, WeightFormat.F32), cache);
        var slot = cache.Acquire();
        var overflow = Assert.Throws<InvalidOperationException>(() => runner.Step([new SequenceChunk(slot, new int[9])]));
        Assert.Contains("overflow the cache's 8-position context", overflow.Message);
        var badSlot = Assert.Throws<ArgumentOutOfRangeException>(() => runner.Step([new SequenceChunk(1, new[] { 1 })]));
        Assert.Contains("slot 1 is not an acquired slot", badSlot.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => runner.Step([new SequenceChunk(7, new[] { 1 })]));
        var vocab = Assert.Throws<ArgumentOutOfRangeException>(() => runner.Step([new SequenceChunk(slot, new[] { 1, config.VocabSize })]));
        Assert.Contains($"token 1 of chunk 0 is {config.VocabSize}, outside the vocabulary", vocab.Message);
        Assert.Throws<ArgumentException>(() => runner.Step([new SequenceChunk(slot, new[] { 1 }), new SequenceChunk(slot, new[] { 2 })]));
        Assert.Equal(0, cache.Length(slot));
        cache.Acquire();
        Assert.Contains("all 2 KV-cache slots are in use", Assert.Throws<InvalidOperationException>(() => cache.Acquire()).Message);
    }
}
