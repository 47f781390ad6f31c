// GqaAttentionTests.cs: the grouped-query attention kernel over a KV cache vs its naive double oracle (GQA, MQA and MHA
// groupings; head widths that take the 16-, 8- and 4-lane paths and scalar tails; chunks of 1..5 rows and longer,
// starts inside and across softmax blocks), vs the per-row Dot/Softmax/Axpy loop the dense runner used before it (the
// R1-Distill-Qwen-1.5B head shape), row independence (each row of a chunk bitwise equals the row computed alone), pool
// vs inline, no allocation after warm-up, and argument validation. Run again by CI with AVX-512, AVX2 and all hardware
// intrinsics disabled (Category=Kernels).
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class GqaAttentionTests
{
    private const double Tolerance = 1e-5;

    public static TheoryData<int, int, int, int, int> Sizes()
    {
        var data = new TheoryData<int, int, int, int, int>();
        foreach (var (h, hkv, d) in new[] { (4, 2, 5), (6, 2, 24), (3, 1, 16), (2, 2, 36), (12, 2, 128) })
        {
            for (var t = 1; t <= 4; t++)
            {
                foreach (var tk in new[] { 1, 7, 70 })
                {
                    if (tk >= t) { data.Add(h, hkv, d, t, tk); }
                }
            }
            data.Add(h, hkv, d, 9, 150);                                                      // several tiles, ten key blocks
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_MatchesNaive(int heads, int kvHeads, int headDim, int tokens, int keyTokens)
    {
        var shape = new GqaAttentionShape(tokens, keyTokens - tokens, heads, kvHeads, headDim, (float)(1 / Math.Sqrt(headDim)));
        var (q, keys, values) = Inputs(shape, seed: (headDim * 1000) + (tokens * 100) + keyTokens);
        var expected = new float[tokens * heads * headDim];
        var actual = new float[expected.Length];
        GqaAttention.Naive(q, keys, values, shape, expected);
        GqaAttention.Forward(q, keys, values, shape, actual);
        AssertClose(expected, actual);
        var pooled = new float[expected.Length];
        GqaAttention.Forward(q, keys, values, shape, pooled, WorkerPool.Current);
        Assert.Equal(actual, pooled);
    }

    // The attention ModelRunner.Dense.cs ran before this kernel: per row and head, s_j = scale·Dot(q, k_j), Softmax, then
    // o = Σ_j Axpy(v_j, p_j); the kernel agrees with it within float rounding on DeepSeek-R1-Distill-Qwen-1.5B's heads.
    [Theory]
    [InlineData(1, 40)]
    [InlineData(1, 300)]
    [InlineData(16, 16)]
    public void Forward_MatchesThePerRowLoop(int tokens, int keyTokens)
    {
        var shape = new GqaAttentionShape(tokens, keyTokens - tokens, 12, 2, 128, (float)(1 / Math.Sqrt(128)));
        var (q, keys, values) = Inputs(shape, seed: keyTokens);
        var expected = new float[tokens * 12 * 128];
        var actual = new float[expected.Length];
        PerRowLoop(q, keys, values, shape, expected);
        GqaAttention.Forward(q, keys, values, shape, actual, WorkerPool.Current);
        AssertClose(expected, actual);
    }

    [Theory]
    [InlineData(6, 2, 24, 0)]
    [InlineData(6, 2, 24, 9)]     // rows on both sides of the block boundary at 16
    [InlineData(3, 1, 16, 61)]   // rows on both sides of the block boundary at 64 (and 48)
    [InlineData(12, 2, 128, 130)]
    public void EachRow_EqualsTheRowComputedAlone(int heads, int kvHeads, int headDim, int start)
    {
        var width = heads * headDim;
        for (var tokens = 1; tokens <= 6; tokens++)
        {
            var shape = new GqaAttentionShape(tokens, start, heads, kvHeads, headDim, 0.2f);
            var (q, keys, values) = Inputs(shape, seed: start + tokens + headDim);
            var chunk = new float[tokens * width];
            GqaAttention.Forward(q, keys, values, shape, chunk, WorkerPool.Current);
            for (var r = 0; r < tokens; r++)
            {
                var alone = new float[width];
                GqaAttention.Forward(q.AsSpan(r * width, width), keys, values, shape with { Tokens = 1, Start = start + r }, alone);
                Assert.Equal(alone, chunk.AsSpan(r * width, width).ToArray());
            }
        }
    }

    [Fact]
    public void Forward_AllocatesNothingAfterWarmUp()
    {
        var shape = new GqaAttentionShape(2, 100, 12, 2, 128, 0.1f);
        var (q, keys, values) = Inputs(shape, seed: 4);
        var output = new float[2 * 12 * 128];
        GqaAttention.Forward(q, keys, values, shape, output);
        var before = GC.GetAllocatedBytesForCurrentThread();
        GqaAttention.Forward(q, keys, values, shape, output);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void BadArguments_Throw()
    {
        var shape = new GqaAttentionShape(2, 3, 4, 2, 8, 0.3f);
        var (q, keys, values) = Inputs(shape, seed: 1);
        var output = new float[2 * 4 * 8];
        var e = Assert.Throws<ArgumentException>(() => GqaAttention.Forward(q, keys.AsSpan(0, (shape.KeyTokens * 16) - 1), values, shape, output));
        Assert.Contains("keys: expected at least 80 elements", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => GqaAttention.Forward(q, keys, values.AsSpan(0, 79), shape, output));
        Assert.Throws<ArgumentException>(() => GqaAttention.Forward(q.AsSpan(1), keys, values, shape, output));
        Assert.Throws<ArgumentException>(() => GqaAttention.Forward(q, keys, values, shape, output.AsSpan(1)));
        Assert.Throws<ArgumentException>(() => GqaAttention.Forward(q, keys, values, shape with { Start = -1 }, output));
        Assert.Contains("must divide H", Assert.Throws<ArgumentException>(() => GqaAttention.Forward(q, keys, values, shape with { KvHeads = 3 }, output)).Message, StringComparison.Ordinal);
        var wide = shape with { HeadDim = GqaAttention.MaxHeadDim + 1 };
        Assert.Contains("exceeds", Assert.Throws<ArgumentException>(() => GqaAttention.Forward(q, keys, values, wide, output)).Message, StringComparison.Ordinal);
    }

    private static void PerRowLoop(float[] q, float[] keys, float[] values, in GqaAttentionShape s, float[] output)
    {
        var scores = new float[s.KeyTokens];
        for (var t = 0; t < s.Tokens; t++)
        {
            var visible = s.Start + t + 1;
            for (var head = 0; head < s.Heads; head++)
            {
                var query = q.AsSpan(((t * s.Heads) + head) * s.HeadDim, s.HeadDim);
                var kvOffset = head / s.Groups * s.HeadDim;
                for (var j = 0; j < visible; j++) { scores[j] = s.Scale * Elementwise.Dot<float>(query, keys.AsSpan((j * s.KvWidth) + kvOffset, s.HeadDim)); }
                Softmax.Forward<float>(scores.AsSpan(0, visible), 1, visible, scores.AsSpan(0, visible));
                var o = output.AsSpan(((t * s.Heads) + head) * s.HeadDim, s.HeadDim);
                o.Clear();
                for (var j = 0; j < visible; j++) { Elementwise.Axpy<float>(values.AsSpan((j * s.KvWidth) + kvOffset, s.HeadDim), scores[j], o); }
            }
        }
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs((double)actual[i] - expected[i]);
            Assert.True(error <= Tolerance * (1 + Math.Abs(expected[i])), $"output[{i}]: expected {expected[i]}, got {actual[i]} (error {error})");
        }
    }

    // Random inputs in [−1, 1] (never near zero), larger queries so the softmax is not flat; the cache holds a few
    // positions beyond Start + T, as a slot does.
    private static (float[] Q, float[] Keys, float[] Values) Inputs(in GqaAttentionShape s, int seed)
    {
        var rng = new Random(seed);
        var positions = s.KeyTokens + 3;
        var q = Random(rng, s.Tokens * s.Heads * s.HeadDim);
        for (var i = 0; i < q.Length; i++) { q[i] *= 3; }
        return (q, Random(rng, positions * s.KvWidth), Random(rng, positions * s.KvWidth));
    }

    private static float[] Random(Random rng, int length)
    {
        var x = new float[length];
        for (var i = 0; i < length; i++)
        {
            var v = (rng.NextDouble() * 2) - 1;
            x[i] = (float)(Math.Abs(v) < 1e-3 ? 0.5 : v);
        }
        return x;
    }
}
