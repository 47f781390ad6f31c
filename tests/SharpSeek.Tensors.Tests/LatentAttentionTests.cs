// LatentAttentionTests.cs: the absorbed-MLA latent kernel vs its naive double oracle (odd widths, chunks of 1..4 rows and
// longer, starts inside and across softmax blocks), row independence (each row of a T-row call bitwise equals the row
// computed alone), pool vs inline, no allocation after warm-up, and argument validation.
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class LatentAttentionTests
{
    private const double Tolerance = 1e-5;
    private const int Heads = 3, Nope = 7, Value = 9;

    public static TheoryData<int, int, int, int> Sizes()
    {
        var data = new TheoryData<int, int, int, int>();
        foreach (var (c, dr) in new[] { (13, 5), (64, 16) })
        {
            for (var t = 1; t <= 4; t++)
            {
                foreach (var tk in new[] { 1, 7, 70 })
                {
                    if (tk >= t) { data.Add(c, dr, t, tk); }
                }
            }
            data.Add(c, dr, 6, 150);                                                          // two row groups, three key blocks
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_MatchesNaive(int c, int dr, int tokens, int keyTokens)
    {
        var shape = new LatentAttentionShape(tokens, keyTokens - tokens, Heads, c, Nope, dr, Value, 0.3f);
        var (q, qPe, kvB, latent, rope) = Inputs(shape, seed: (c * 1000) + (tokens * 100) + keyTokens);
        var expected = new float[tokens * Heads * Value];
        var actual = new float[expected.Length];
        LatentAttention.Naive(q, qPe, kvB, latent, rope, shape, expected);
        LatentAttention.Forward(q, qPe, kvB, latent, rope, shape, actual);
        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs((double)actual[i] - expected[i]);
            Assert.True(error <= Tolerance * (1 + Math.Abs(expected[i])), $"output[{i}]: expected {expected[i]}, got {actual[i]} (error {error})");
        }
        var pooled = new float[expected.Length];
        LatentAttention.Forward(q, qPe, kvB, latent, rope, shape, pooled, WorkerPool.Current);
        Assert.Equal(actual, pooled);
    }

    [Theory]
    [InlineData(13, 5, 0)]
    [InlineData(13, 5, 9)]
    [InlineData(64, 16, 0)]
    [InlineData(64, 16, 61)]   // rows on both sides of the block boundary at 64
    [InlineData(64, 16, 130)]
    public void EachRow_EqualsTheRowComputedAlone(int c, int dr, int start)
    {
        for (var tokens = 1; tokens <= 6; tokens++)
        {
            var shape = new LatentAttentionShape(tokens, start, Heads, c, Nope, dr, Value, 0.25f);
            var (q, qPe, kvB, latent, rope) = Inputs(shape, seed: start + tokens + c);
            var chunk = new float[tokens * Heads * Value];
            LatentAttention.Forward(q, qPe, kvB, latent, rope, shape, chunk);
            for (var r = 0; r < tokens; r++)
            {
                var one = shape with { Tokens = 1, Start = start + r };
                var alone = new float[Heads * Value];
                LatentAttention.Forward(q.AsSpan(r * Heads * (Nope + dr), Heads * (Nope + dr)), qPe.AsSpan(r * Heads * dr, Heads * dr), kvB, latent, rope, one, alone);
                Assert.Equal(alone, chunk.AsSpan(r * Heads * Value, Heads * Value).ToArray());
            }
        }
    }

    [Fact]
    public void Forward_AllocatesNothingAfterWarmUp()
    {
        var shape = new LatentAttentionShape(2, 100, Heads, 64, Nope, 16, Value, 0.3f);
        var (q, qPe, kvB, latent, rope) = Inputs(shape, seed: 4);
        var output = new float[2 * Heads * Value];
        LatentAttention.Forward(q, qPe, kvB, latent, rope, shape, output);
        var before = GC.GetAllocatedBytesForCurrentThread();
        LatentAttention.Forward(q, qPe, kvB, latent, rope, shape, output);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void BadArguments_Throw()
    {
        var shape = new LatentAttentionShape(2, 3, Heads, 13, Nope, 5, Value, 0.3f);
        var (q, qPe, kvB, latent, rope) = Inputs(shape, seed: 1);
        var output = new float[2 * Heads * Value];
        var e = Assert.Throws<ArgumentException>(() => LatentAttention.Forward(q, qPe, kvB, latent.AsSpan(0, (shape.KeyTokens - 1) * 13), rope, shape, output));
        Assert.Contains("latent", e.Message);
        Assert.Throws<ArgumentException>(() => LatentAttention.Forward(q.AsSpan(1), qPe, kvB, latent, rope, shape, output));
        Assert.Throws<ArgumentException>(() => LatentAttention.Forward(q, qPe, kvB.AsSpan(1), latent, rope, shape, output));
        Assert.Throws<ArgumentException>(() => LatentAttention.Forward(q, qPe, kvB, latent, rope, shape, output.AsSpan(1)));
        Assert.Throws<ArgumentException>(() => LatentAttention.Forward(q, qPe, kvB, latent, rope, shape with { Start = -1 }, output));
        var wide = shape with { KvLoraRank = LatentAttention.MaxRank + 1 };
        Assert.Contains("exceeds", Assert.Throws<ArgumentException>(() => LatentAttention.Forward(q, qPe, kvB, latent, rope, wide, output)).Message);
    }

    // Random inputs in [−1, 1] (never zero); the cache holds a few positions beyond Start + T, as a slot does.
    private static (float[] Q, float[] QPe, float[] KvB, float[] Latent, float[] Rope) Inputs(in LatentAttentionShape s, int seed)
    {
        var rng = new Random(seed);
        var keys = s.KeyTokens + 3;
        return (Random(rng, s.Tokens * s.Heads * s.QkHeadDim), Random(rng, s.Tokens * s.Heads * s.QkRopeHeadDim),
            Random(rng, s.Heads * (s.QkNopeHeadDim + s.VHeadDim) * s.KvLoraRank), Random(rng, keys * s.KvLoraRank), Random(rng, keys * s.QkRopeHeadDim));
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
