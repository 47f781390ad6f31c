// SamplerTests.cs: the sampler against the distribution each setting implies: exact supports on hand-made logits, token
// frequencies of 20,000 seeded draws within 5σ of a naive reference (full softmax in double, LINQ sort), penalties exact,
// greedy ties, seeds, parameter validation, the PRNG against published SplitMix64 values, and no allocation per call;
// log-probs against a log-softmax in double at the temperature (penalties and truncation left out), their top-n order.
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;

namespace SharpSeek.Inference.Tests.Text;

public sealed class SamplerTests
{
    private const int Draws = 20_000;

    // Hand-made logits: softmax at T = 1 ≈ [0.474, 0.174, 0.174, 0.106, 0.039, 0.023, 0.006, 0.004] (ids 1 and 2 tie).
    private static readonly float[] Hand = [3.0f, 2.0f, 2.0f, 1.5f, 0.5f, 0.0f, -1.5f, -2.0f];

    private static int[] Draw(SamplingParameters p, float[] logits, int count, IReadOnlyList<int>? prompt = null)
    {
        var sampler = new Sampler(p, prompt ?? []);
        var counts = new int[logits.Length];
        var row = new float[logits.Length];
        for (var i = 0; i < count; i++)
        {
            logits.CopyTo(row, 0);
            counts[sampler.Sample(row, [])]++;
        }
        return counts;
    }

    // The reference: penalties are not involved; softmax(l / T) over all tokens, then top-k, top-p, min-p on the
    // renormalized probabilities, ties in id order.
    private static double[] Reference(float[] logits, double t, int topK, double topP, double minP)
    {
        var max = logits.Max();
        var p = logits.Select(l => Math.Exp((l - max) / t)).ToArray();
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToList();
        if (topK > 0) { order = order.Take(topK).ToList(); }
        var sum = order.Sum(i => p[i]);
        var kept = new List<int>();
        var before = 0.0;
        foreach (var i in order)
        {
            if (before >= topP * sum) { break; }
            kept.Add(i);
            before += p[i];
        }
        var top = p[kept[0]];
        kept = kept.Where(i => p[i] >= minP * top).ToList();
        var total = kept.Sum(i => p[i]);
        var result = new double[logits.Length];
        foreach (var i in kept) { result[i] = p[i] / total; }
        return result;
    }

    private static void AssertMatches(double[] expected, int[] counts)
    {
        var n = counts.Sum();
        for (var i = 0; i < expected.Length; i++)
        {
            if (expected[i] == 0)
            {
                Assert.True(counts[i] == 0, $"token {i} is outside the support but was drawn {counts[i]} times");
                continue;
            }
            var mean = n * expected[i];
            var sigma = Math.Sqrt(n * expected[i] * (1 - expected[i]));
            Assert.True(Math.Abs(counts[i] - mean) <= 5 * sigma + 1, $"token {i}: {counts[i]} draws, expected {mean:F1} ± {5 * sigma:F1}");
        }
    }

    [Theory]
    [InlineData(1.0, 0, 1.0, 0.0)]
    [InlineData(0.7, 0, 1.0, 0.0)]
    [InlineData(1.5, 3, 1.0, 0.0)]
    [InlineData(1.0, 0, 0.8, 0.0)]
    [InlineData(1.0, 0, 1.0, 0.2)]
    [InlineData(0.8, 5, 0.9, 0.05)]
    public void Sample_FollowsTheFilteredDistribution(double t, int topK, double topP, double minP)
    {
        var p = new SamplingParameters { Temperature = t, TopK = topK, TopP = topP, MinP = minP, Seed = 11 };
        AssertMatches(Reference(Hand, t, topK, topP, minP), Draw(p, Hand, Draws));
    }

    [Fact]
    public void Sample_FollowsTheDistribution_OnRandomLogits()
    {
        var random = new Random(3);
        var logits = Enumerable.Range(0, 300).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
        var p = new SamplingParameters { Temperature = 0.9, TopK = 40, TopP = 0.9, MinP = 0.02, Seed = 5 };
        AssertMatches(Reference(logits, 0.9, 40, 0.9, 0.02), Draw(p, logits, Draws));
        AssertMatches(Reference(logits, 1.2, 0, 1.0, 0.0), Draw(new SamplingParameters { Temperature = 1.2, Seed = 6 }, logits, Draws));
        AssertMatches(Reference(logits, 0.7, 0, 0.5, 0.0), Draw(new SamplingParameters { Temperature = 0.7, TopP = 0.5, Seed = 7 }, logits, Draws));
    }

    // Top-p alone on a large vocabulary (the path that sorts only possible nucleus tokens): ten tied high logits at
    // scattered ids, each p = e^5 / (10 e^5 + 19990) ≈ 0.0069; top_p 0.05 keeps them while the mass before is below 0.05:
    // 8 of them (7 · 0.0069 = 0.048, 8 · 0.0069 = 0.055), the 8 lowest ids by the tie rule.
    [Fact]
    public void TopP_OnALargeVocabulary_KeepsTheExactNucleus()
    {
        var logits = new float[20_000];
        int[] high = [19_999, 17, 5_000, 3, 12_345, 800, 9_999, 250, 14_000, 42];
        foreach (var id in high) { logits[id] = 5f; }
        var counts = Draw(new SamplingParameters { TopP = 0.05, Seed = 8 }, logits, 4000);
        Assert.Equal(high.Order().Take(8), Enumerable.Range(0, logits.Length).Where(i => counts[i] > 0));
    }

    // Each filter's support worked out by hand on Hand (probabilities in the comment above).
    [Theory]
    [InlineData(2, 1.0, 0.0, new[] { 0, 1 })]          // top-k 2: the tie between ids 1 and 2 goes to id 1
    [InlineData(3, 1.0, 0.0, new[] { 0, 1, 2 })]
    [InlineData(0, 0.45, 0.0, new[] { 0 })]            // 0.474 ≥ 0.45 already
    [InlineData(0, 0.5, 0.0, new[] { 0, 1 })]          // mass before id 1 is 0.474 < 0.5; before id 2 it is 0.648
    [InlineData(0, 0.7, 0.0, new[] { 0, 1, 2 })]       // before id 2: 0.648 < 0.7; before id 3: 0.823
    [InlineData(0, 0.9, 0.0, new[] { 0, 1, 2, 3 })]    // before id 4: 0.929
    [InlineData(0, 1.0, 0.3, new[] { 0, 1, 2 })]       // p ≥ 0.3 · 0.474 = 0.142
    [InlineData(0, 1.0, 0.2, new[] { 0, 1, 2, 3 })]    // p ≥ 0.095
    [InlineData(0, 1.0, 1.0, new[] { 0 })]
    public void Sample_DrawsExactlyTheSupport(int topK, double topP, double minP, int[] support)
    {
        var counts = Draw(new SamplingParameters { TopK = topK, TopP = topP, MinP = minP, Seed = 2 }, Hand, 4000);
        Assert.Equal(support, Enumerable.Range(0, Hand.Length).Where(i => counts[i] > 0));
    }

    [Fact]
    public void Greedy_TakesTheArgmax_TiesToTheLowerId()
    {
        var sampler = new Sampler(new SamplingParameters { Temperature = 0, TopK = 1, TopP = 0.1 }, []);
        Assert.Equal(1, sampler.Sample(new float[] { 1f, 5f, 5f, -2f }, []));
        Assert.Equal(3, sampler.Sample(new float[] { float.NegativeInfinity, -9f, -9f, -1f }, []));
        // top-k 1 at T > 0 is greedy too, and its tie also goes to the lower id.
        var k1 = new Sampler(new SamplingParameters { TopK = 1, Seed = 4 }, []);
        for (var i = 0; i < 50; i++) { Assert.Equal(2, k1.Sample(new float[] { 0f, 1f, 7f, 7f }, [])); }
    }

    // The one argmax (greedy picks, MTP drafts and verify checks): the lowest index of the maximum, −0 tying +0, NaN
    // anywhere rejected by index, and exactly what a greedy Sampler returns.
    [Fact]
    public void ArgMax_TiesToTheLowerIndex_RejectsNaN_AndIsTheGreedyPick()
    {
        Assert.Equal(1, Sampler.ArgMax([1f, 5f, 5f, -2f]));
        Assert.Equal(0, Sampler.ArgMax([-0f, 0f]));
        Assert.Equal(1, Sampler.ArgMax([-1f, 0f, -0f]));
        Assert.Equal(0, Sampler.ArgMax([float.NegativeInfinity, float.NegativeInfinity]));
        Assert.Equal(2, Sampler.ArgMax([float.MaxValue, 1f, float.PositiveInfinity, float.PositiveInfinity]));
        Assert.Equal(0, Sampler.ArgMax([-3f]));
        foreach (var at in new[] { 0, 2, 4 })
        {
            var row = new float[5];
            row[at] = float.NaN;
            Assert.Contains($"logits[{at}] is NaN", Assert.Throws<ArgumentException>(() => Sampler.ArgMax(row)).Message, StringComparison.Ordinal);
        }
        Assert.Throws<ArgumentException>(() => Sampler.ArgMax([]));

        var greedy = new Sampler(SamplingParameters.Greedy, []);
        var rng = new Random(12);
        for (var r = 0; r < 300; r++)
        {
            var row = Enumerable.Range(0, 40).Select(_ => MathF.Round((float)rng.NextDouble() * 6) / 2).ToArray(); // many ties
            var first = Array.IndexOf(row, row.Max());
            Assert.Equal(first, Sampler.ArgMax(row));
            Assert.Equal(first, greedy.Sample(row, []));
        }
    }

    [Fact]
    public void Penalties_AreExact()
    {
        // Repetition 2 over prompt [1, 1, 3] and output [4, 4, 3, 5]; frequency 0.5 and presence 0.25 over the output
        // (counts: 4 → 2, 3 → 1, 5 → 1).
        var p = new SamplingParameters { Temperature = 0, RepetitionPenalty = 2, FrequencyPenalty = 0.5, PresencePenalty = 0.25 };
        var sampler = new Sampler(p, [1, 1, 3]);
        float[] logits = [0.5f, 4f, 1f, -1f, 3f, 2f, 3.5f];
        var picked = sampler.Sample(logits, [4, 4, 3, 5]);
        float[] expected =
        [
            0.5f,                        // unseen
            2f,                          // 4 / 2
            1f,                          // unseen
            -1f * 2 - (0.5f + 0.25f),    // -2 - 0.75
            3f / 2 - (2 * 0.5f + 0.25f), // 1.5 - 1.25
            2f / 2 - (0.5f + 0.25f),     // 1 - 0.75
            3.5f,                        // unseen
        ];
        Assert.Equal(expected, logits);
        Assert.Equal(6, picked); // id 1 (4) fell to 2, below id 6 (3.5)
    }

    [Fact]
    public void Penalties_ChangeTheGreedyPick()
    {
        var p = new SamplingParameters { Temperature = 0, PresencePenalty = 2 };
        var sampler = new Sampler(p, []);
        Assert.Equal(0, sampler.Sample(new float[] { 2f, 1f }, []));
        Assert.Equal(1, sampler.Sample(new float[] { 2f, 1f }, [0]));
        var repeat = new Sampler(new SamplingParameters { Temperature = 0, RepetitionPenalty = 3 }, [0]);
        Assert.Equal(1, repeat.Sample(new float[] { 2.4f, 1f }, [])); // 2.4 / 3 = 0.8 < 1
    }

    [Fact]
    public void Seed_GivesTheSameSequence_AndOtherSeedsDiffer()
    {
        var random = new Random(9);
        var logits = Enumerable.Range(0, 500).Select(_ => (float)random.NextDouble() * 4).ToArray();
        int[] Run(long? seed)
        {
            var s = new Sampler(new SamplingParameters { Temperature = 1, TopP = 0.95, Seed = seed }, []);
            return Enumerable.Range(0, 64).Select(_ => s.Sample((float[])logits.Clone(), [])).ToArray();
        }
        Assert.Equal(Run(1), Run(1));
        Assert.NotEqual(Run(1), Run(2));
        Assert.NotEqual(Run(null), Run(null));
    }

    [Theory]
    [InlineData("temperature", -0.1, 1.0, 0, 0.0, 1.0, 0.0, "[0, ∞)")]
    [InlineData("temperature", double.NaN, 1.0, 0, 0.0, 1.0, 0.0, "[0, ∞)")]
    [InlineData("top_p", 1.0, 0.0, 0, 0.0, 1.0, 0.0, "(0, 1]")]
    [InlineData("top_p", 1.0, 1.5, 0, 0.0, 1.0, 0.0, "(0, 1]")]
    [InlineData("top_k", 1.0, 1.0, -1, 0.0, 1.0, 0.0, "[0, ∞)")]
    [InlineData("min_p", 1.0, 1.0, 0, 1.5, 1.0, 0.0, "[0, 1]")]
    [InlineData("repetition_penalty", 1.0, 1.0, 0, 0.0, 0.0, 0.0, "(0, ∞)")]
    [InlineData("frequency_penalty", 1.0, 1.0, 0, 0.0, 1.0, 2.5, "[-2, 2]")]
    public void InvalidParameters_Throw_NamingTheParameterAndRange(string name, double t, double topP, int topK, double minP, double rep, double freq, string range)
    {
        var p = new SamplingParameters { Temperature = t, TopP = topP, TopK = topK, MinP = minP, RepetitionPenalty = rep, FrequencyPenalty = freq };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(p, []));
        Assert.Equal(name, e.ParamName);
        Assert.Contains(range, e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new SamplingParameters { PresencePenalty = -3 }, []));
    }

    [Fact]
    public void BadInput_Throws()
    {
        var sampler = new Sampler(new SamplingParameters { RepetitionPenalty = 1.1, Seed = 1 }, [7]);
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Sample(new float[4], [])); // prompt id 7 ≥ V
        var plain = new Sampler(new SamplingParameters { Seed = 1 }, []);
        Assert.Throws<ArgumentException>(() => plain.Sample(new float[] { 1f, float.NaN }, []));
        Assert.Throws<ArgumentException>(() => plain.Sample(new float[] { float.NegativeInfinity, float.NegativeInfinity }, []));
        Assert.Throws<ArgumentException>(() => plain.Sample(Span<float>.Empty, []));
    }

    [Theory]
    [InlineData(0.0, 0, 1.0)]
    [InlineData(1.0, 0, 1.0)]
    [InlineData(1.0, 20, 1.0)]
    [InlineData(0.8, 0, 0.9)]
    public void Sample_AllocatesNothing_AfterTheFirstCall(double t, int topK, double topP)
    {
        var p = new SamplingParameters { Temperature = t, TopK = topK, TopP = topP, MinP = 0.01, RepetitionPenalty = 1.2, FrequencyPenalty = 0.3, PresencePenalty = 0.1, Seed = 3 };
        var random = new Random(1);
        var logits = Enumerable.Range(0, 2000).Select(_ => (float)random.NextDouble() * 5).ToArray();
        var row = new float[logits.Length];
        var sampler = new Sampler(p, [1, 2, 3]);
        var generated = new List<int> { 5, 6, 5 };
        logits.CopyTo(row, 0);
        sampler.Sample(row, generated);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 50; i++)
        {
            logits.CopyTo(row, 0);
            sampler.Sample(row, generated);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    // The reference: log softmax(l / T) in double, T = 1 for greedy.
    private static double[] LogSoftmax(float[] logits, double t)
    {
        var x = logits.Select(l => l / (t == 0 ? 1.0 : t)).ToArray();
        var max = x.Max();
        var lse = max + Math.Log(x.Sum(v => Math.Exp(v - max)));
        return [.. x.Select(v => v - lse)];
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.6)]
    [InlineData(1.0)]
    [InlineData(1.7)]
    public void LogProbs_AreTheLogSoftmaxAtTheTemperature_BeforePenaltiesAndTruncation(double t)
    {
        var random = new Random(5);
        // Logits around 40 (a float ulp there is 4e-6) with repeated values, so top-n has ties to break.
        var logits = Enumerable.Range(0, 3000).Select(_ => 40 + (float)Math.Round(random.NextDouble() * 12, 1)).ToArray();
        var p = new SamplingParameters { Temperature = t, TopK = 3, TopP = 0.5, MinP = 0.2, RepetitionPenalty = 1.5, FrequencyPenalty = 1, PresencePenalty = 1, Seed = 1 };
        var sampler = new Sampler(p, [7, 8, 9]);
        var row = (float[])logits.Clone();
        var token = sampler.Sample(row, [9, 10, 10]);                                                // penalizes row, not logits
        var top = new TokenLogProb[20];
        var expected = LogSoftmax(logits, t);
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(20).ToArray();
        foreach (var id in (int[])[token, 7, 9, 10, 2999, order[0], order[19]])
        {
            Assert.Equal(expected[id], sampler.LogProbs(logits, id, top), 1e-12);
            Assert.Equal(order, top.Select(e => e.Token));
            for (var i = 0; i < top.Length; i++) { Assert.Equal(expected[top[i].Token], top[i].LogProb, 1e-12); }
        }
        Assert.Equal(1.0, expected.Sum(Math.Exp), 1e-12);
        var ties = order.Where((id, i) => i > 0 && logits[id] == logits[order[i - 1]]).Count();
        Assert.True(ties > 0, "the test logits should tie inside the top 20");
    }

    [Fact]
    public void LogProbs_GreedyPickHasTheLargest_TopTiesToTheLowerId()
    {
        var sampler = new Sampler(SamplingParameters.Greedy, []);
        var token = sampler.Sample((float[])Hand.Clone(), []);
        var top = new TokenLogProb[3];
        var logProb = sampler.LogProbs(Hand, token, top);
        Assert.Equal([0, 1, 2], top.Select(e => e.Token));
        Assert.Equal((token, logProb), (top[0].Token, top[0].LogProb));
        Assert.Equal(top[1].LogProb, top[2].LogProb);
        Assert.Equal(LogSoftmax(Hand, 1)[0], logProb, 1e-12);
        Assert.Equal(LogSoftmax(Hand, 1)[6], sampler.LogProbs(Hand, 6, []), 1e-12);
        Assert.Equal(LogSoftmax(Hand, 1), Enumerable.Range(0, 8).Select(i => sampler.LogProbs(Hand, i, new TokenLogProb[8])), new ToleranceComparer(1e-12));
    }

    [Fact]
    public void LogProbs_BadInput_Throws()
    {
        var sampler = new Sampler(new SamplingParameters(), []);
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.LogProbs(Hand, 8, []));
        Assert.Throws<ArgumentException>(() => sampler.LogProbs(Hand, 0, new TokenLogProb[9]));
        Assert.Contains("logits[2] is NaN", Assert.Throws<ArgumentException>(() => sampler.LogProbs([1, 2, float.NaN], 0, [])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => sampler.LogProbs([float.NegativeInfinity, float.NegativeInfinity], 0, []));
        Assert.Throws<ArgumentException>(() => sampler.LogProbs([float.PositiveInfinity, 0], 0, []));
        Assert.Equal(double.NegativeInfinity, sampler.LogProbs([float.NegativeInfinity, 0], 0, []));  // a masked token: probability 0
    }

    [Fact]
    public void LogProbs_AllocateNothing_AfterTheFirstCall()
    {
        var random = new Random(2);
        var logits = Enumerable.Range(0, 2000).Select(_ => (float)random.NextDouble() * 5).ToArray();
        var sampler = new Sampler(new SamplingParameters { Temperature = 0.7 }, []);
        var top = new TokenLogProb[20];
        sampler.LogProbs(logits, 3, top);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 50; i++) { sampler.LogProbs(logits, i, top); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }

    [Fact]
    public void Prng_MatchesPublishedSplitMix64_AndXoshiro256StarStar()
    {
        // SplitMix64 from state 0: the published first outputs.
        var state = 0UL;
        Assert.Equal(0xE220A8397B1DCDAFUL, Xoshiro256.SplitMix64(ref state));
        Assert.Equal(0x6E789E6AA1B965F4UL, Xoshiro256.SplitMix64(ref state));
        Assert.Equal(0x06C45D188009454FUL, Xoshiro256.SplitMix64(ref state));
        // xoshiro256** seeded by four SplitMix64 outputs from 42, as computed by an independent Python port.
        var rng = new Xoshiro256(42);
        ulong[] expected = [0x15780B2E0C2EC716UL, 0x6104D9866D113A7EUL, 0xAE17533239E499A1UL, 0xECB8AD4703B360A1UL, 0xFDE6DC7FE2EC5E64UL];
        Assert.Equal(expected, expected.Select(_ => rng.NextUInt64()));
    }
}
