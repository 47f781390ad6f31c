// DenseRunnerTests.cs: the cached runtime on the dense GQA family (the PyTorch reference's qwen2_f32: tied, q/k/v bias,
// 4 query / 2 kv heads; llama_f32: MQA, head_dim 12, Llama-3 RoPE): prefill then decode steps against the uncached tape
// forward, a ragged batch of three sequences against each alone, greedy generation against the reference's greedy
// tokens, the engine behind serve/chat against it, the weights read in place (a change to the master is seen by the
// next step), steady-state decode steps allocate nothing, and BF16 and FP8 views against F32 and through generate and
// the engine.
using System.Text.Json;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Runtime;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;

namespace SharpSeek.Inference.Tests.Runtime;

public sealed class DenseRunnerTests
{
    private const double Tolerance = 1e-5;

    private static string Variant(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SharpSeek.slnx"))) { dir = dir.Parent; }
        return Path.Combine(dir!.FullName, "tests", "data", "reference", name);
    }

    private static ModelWeights Load(string variant)
    {
        using var checkpoint = CheckpointDirectory.Open(Variant(variant));
        var weights = new ModelWeights(checkpoint.Config);
        weights.Load(checkpoint);
        return weights;
    }

    [Theory]
    [InlineData("qwen2_f32")]
    [InlineData("llama_f32")]
    public void PrefillThenDecode_MatchesTheUncachedForward(string variant)
    {
        using var model = Load(variant);
        var tokens = JsonSerializer.Deserialize<int[]>(File.ReadAllText(Path.Combine(Variant(variant), "tokens.json")))!;
        var reference = RuntimeFixture.ReferenceLogits(model, tokens);
        using var cache = new KvCache(model.Config, maxSequences: 2, maxContext: 32);
        using var runner = new ModelRunner(InferenceWeights.From(model, WeightFormat.F32), cache);
        var slot = cache.Acquire();
        var v = model.Config.VocabSize;
        var prefill = runner.Step([new SequenceChunk(slot, tokens.AsMemory(..6))]);
        for (var t = 0; t < 6; t++) { RuntimeFixture.AssertClose(reference.AsSpan(t * v, v), prefill.Logits(0, t), Tolerance, $"prefill row {t}"); }
        for (var t = 6; t < tokens.Length; t++)
        {
            var step = runner.Step([new SequenceChunk(slot, tokens.AsMemory(t..(t + 1)))], LogitRows.Last);
            RuntimeFixture.AssertClose(reference.AsSpan(t * v, v), step.LastLogits(0), Tolerance, $"decode position {t}");
        }
        Assert.Equal(tokens.Length, cache.Length(slot));
    }

    [Fact]
    public void RaggedBatch_EachSequenceMatchesItsOwnRun()
    {
        using var model = Load("qwen2_f32");
        var v = model.Config.VocabSize;
        int[][] sequences = [RuntimeFixture.Tokens(8, v, 1), RuntimeFixture.Tokens(4, v, 2), RuntimeFixture.Tokens(12, v, 3)];
        int[] prefill = [5, 1, 9];
        using var cache = new KvCache(model.Config, maxSequences: 3, maxContext: 16);
        using var runner = new ModelRunner(InferenceWeights.From(model, WeightFormat.F32), cache);
        int[] slots = [cache.Acquire(), cache.Acquire(), cache.Acquire()];
        var references = sequences.Select(s => RuntimeFixture.ReferenceLogits(model, s)).ToArray();
        var first = runner.Step([.. Enumerable.Range(0, 3).Select(i => new SequenceChunk(slots[i], sequences[i].AsMemory(..prefill[i])))]);
        for (var i = 0; i < 3; i++)
        {
            for (var t = 0; t < prefill[i]; t++) { RuntimeFixture.AssertClose(references[i].AsSpan(t * v, v), first.Logits(i, t), Tolerance, $"seq {i} row {t}"); }
        }
        var second = runner.Step([.. Enumerable.Range(0, 3).Select(i => new SequenceChunk(slots[i], sequences[i].AsMemory(prefill[i]..(prefill[i] + 2))))]);
        for (var i = 0; i < 3; i++)
        {
            for (var t = 0; t < 2; t++) { RuntimeFixture.AssertClose(references[i].AsSpan((prefill[i] + t) * v, v), second.Logits(i, t), Tolerance, $"seq {i} step 2 row {t}"); }
        }
    }

    [Theory]
    [InlineData("qwen2_f32")]
    [InlineData("llama_f32")]
    public async Task Greedy_GivesTheReferenceTokens_InGenerateAndInTheEngine(string variant)
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Variant(variant), "expected.json")));
        var prompt = expected.RootElement.GetProperty("greedy_prompt").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var want = expected.RootElement.GetProperty("greedy_tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        using var model = Load(variant);
        using (var cache = new KvCache(model.Config, 1, prompt.Length + want.Length))
        using (var runner = new ModelRunner(InferenceWeights.From(model, WeightFormat.F32), cache))
        {
            Assert.Equal(want, new SpeculativeDecoder(runner).Generate(prompt, want.Length, speculative: false));
        }
        using var engine = BatchEngine.Load(Variant(variant), new BatchEngineOptions { MaxConcurrency = 2 });
        var request = new GenerationRequest { Prompt = prompt, MaxNewTokens = want.Length, Sampling = SamplingParameters.Greedy };
        var tokens = new List<int>();
        await foreach (var update in engine.GenerateAsync(request)) { tokens.AddRange(update.Tokens); }
        Assert.Equal(want, tokens);
    }

    [Fact]
    public void Weights_AreReadInPlace_SoAnUpdateIsSeenByTheNextStep()
    {
        using var model = Load("llama_f32");
        using var cache = new KvCache(model.Config, 1, 8);
        using var runner = new ModelRunner(InferenceWeights.From(model, WeightFormat.F32), cache);
        var slot = cache.Acquire();
        var before = runner.Step([new SequenceChunk(slot, new[] { 3, 4 })], LogitRows.Last).LastLogits(0).ToArray();
        cache.Truncate(slot, 0);
        model.FinalNorm.Weight.Value.AsSpan<float>()[0] += 1f; // what an optimizer step does to the master
        var after = runner.Step([new SequenceChunk(slot, new[] { 3, 4 })], LogitRows.Last).LastLogits(0).ToArray();
        Assert.NotEqual(before, after);
    }

    // The tape, its nodes and every activation live in the step arena, the attention's scratch on the stack: after the
    // first steps have grown the tape's node list, a decode step allocates nothing on the managed heap.
    [Theory]
    [InlineData("qwen2_f32")]
    [InlineData("llama_f32")]
    public void DecodeSteps_AllocateNothingAfterWarmUp(string variant)
    {
        using var model = Load(variant);
        var tokens = RuntimeFixture.Tokens(24, model.Config.VocabSize, 5);
        using var cache = new KvCache(model.Config, 1, 24);
        using var runner = new ModelRunner(InferenceWeights.From(model, WeightFormat.F32), cache);
        var slot = cache.Acquire();
        runner.Step([new SequenceChunk(slot, tokens.AsMemory(..4))], LogitRows.Last);
        var chunks = new SequenceChunk[1];
        for (var t = 4; t < 8; t++) { chunks[0] = new SequenceChunk(slot, tokens.AsMemory(t..(t + 1))); runner.Step(chunks, LogitRows.Last); }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var t = 8; t < 24; t++) { chunks[0] = new SequenceChunk(slot, tokens.AsMemory(t..(t + 1))); runner.Step(chunks, LogitRows.Last); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void ACacheTooLargeForMemory_IsRefusedBeforeAllocating()
    {
        var published = Path.Combine(Path.GetDirectoryName(Variant("x"))!, "published", "DeepSeek-R1-Distill-Qwen-7B", "config.json");
        var config = ModelConfig.Load(published); // 14.7 GB per sequence at its 131,072 positions, F32
        var e = Assert.Throws<InvalidOperationException>(() => new KvCache(config, maxSequences: 4, maxContext: config.MaxPositionEmbeddings));
        Assert.Contains("a KV cache of 4 sequence(s) × 131072 positions × 28 layers × 1024 F32 values needs", e.Message, StringComparison.Ordinal);
        Assert.Contains("--context", e.Message, StringComparison.Ordinal);
    }

    // The dense families read their projections through the same views as DeepSeek's. The low-precision GEMMs widen each
    // weight exactly, so a BF16/FP8 run equals the F32 run on the rounded weights (to the f32 summation order, ≤ 1e-4);
    // against the unrounded F32 model the logits move by what BF16 (8 mantissa bits, ≤ 2⁻⁹ relative per weight) and E4M3
    // (3 bits, ≤ 2⁻⁴) round away through 2 layers and the head: a relative RMS change of 0.4–0.6% (BF16) and 6–10% (FP8)
    // on these models, held under 2% and 20%.
    [Theory]
    [InlineData("qwen2_f32", WeightFormat.BF16, 0.02)]
    [InlineData("qwen2_f32", WeightFormat.Fp8, 0.20)]
    [InlineData("llama_f32", WeightFormat.BF16, 0.02)]
    [InlineData("llama_f32", WeightFormat.Fp8, 0.20)]
    public void LowPrecision_EqualsF32OnRoundedWeights_AndIsCloseToF32(string variant, WeightFormat format, double relativeRms)
    {
        using var model = Load(variant);
        var tokens = JsonSerializer.Deserialize<int[]>(File.ReadAllText(Path.Combine(Variant(variant), "tokens.json")))!;
        var f32 = Logits(InferenceWeights.From(model, WeightFormat.F32), tokens);
        var low = Logits(InferenceWeights.From(model, format), tokens);
        using var rounded = Load(variant);
        foreach (var name in rounded.Names.Where(n => n.EndsWith("proj.weight", StringComparison.Ordinal) || n == WeightNames.Head))
        {
            var p = rounded.Get(name).Value;
            Projection.From(p.AsSpan<float>(), (int)p.Size(0), (int)p.Size(1), format).ToSingle().CopyTo(p.AsSpan<float>());
        }
        var onRounded = InferenceWeights.From(rounded, WeightFormat.F32);
        if (rounded.Config.TieWordEmbeddings) { rounded.Head.UseFormat(format); } // a tied head rounds, the embedding lookup stays F32
        RuntimeFixture.AssertClose(Logits(onRounded, tokens), low, 1e-4, $"{format} vs F32 on rounded weights");
        var error = Math.Sqrt(f32.Zip(low, (a, b) => (double)(a - b) * (a - b)).Sum() / f32.Sum(a => (double)a * a));
        Assert.InRange(error, 1e-6, relativeRms);
    }

    // Loaded in BF16 and FP8 (what `generate --dtype` and `serve --dtype` do), greedy generation gives the same tokens
    // alone and through the engine behind serve and chat.
    [Theory]
    [InlineData("qwen2_f32", WeightFormat.BF16)]
    [InlineData("llama_f32", WeightFormat.Fp8)]
    public async Task LowPrecision_GenerateAndTheEngine_GiveTheSameGreedyTokens(string variant, WeightFormat format)
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Variant(variant), "expected.json")));
        var prompt = expected.RootElement.GetProperty("greedy_prompt").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        const int Count = 8;
        using var weights = InferenceWeights.Load(Variant(variant), format);
        Assert.Equal(format, weights.Model.Layers[0].Mlp!.Down.View.Format);
        int[] alone;
        using (var cache = new KvCache(weights.Config, 1, prompt.Length + Count))
        using (var runner = new ModelRunner(weights, cache))
        {
            alone = new SpeculativeDecoder(runner).Generate(prompt, Count, speculative: false);
        }
        using var engine = BatchEngine.Load(Variant(variant), new BatchEngineOptions { Format = format, MaxConcurrency = 2 });
        var request = new GenerationRequest { Prompt = prompt, MaxNewTokens = Count, Sampling = SamplingParameters.Greedy };
        var tokens = new List<int>();
        await foreach (var update in engine.GenerateAsync(request)) { tokens.AddRange(update.Tokens); }
        Assert.Equal(Count, alone.Length);
        Assert.Equal(alone, tokens);
    }

    private static float[] Logits(InferenceWeights weights, int[] tokens)
    {
        using var cache = new KvCache(weights.Config, 1, tokens.Length);
        using var runner = new ModelRunner(weights, cache);
        var step = runner.Step([new SequenceChunk(cache.Acquire(), tokens)]);
        return [.. Enumerable.Range(0, tokens.Length).SelectMany(t => step.Logits(0, t).ToArray())];
    }
}
