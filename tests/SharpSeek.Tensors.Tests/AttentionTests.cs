// AttentionTests.cs: both attention paths (fused tiles, materialized scores) forward/backward vs the naive double oracle
// and vs each other, chunked prefill, additive masks, fully masked rows, finite differences in double, thread-count
// independence, no allocation after warm-up, the path rule, the vector exp and argument validation.
using System.Runtime.Intrinsics;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class AttentionTests
{
    private const double ForwardTolerance = 2e-6;
    private const double BackwardTolerance = 2e-5;

    private static readonly AttentionPath[] Paths = [AttentionPath.Fused, AttentionPath.Materialized];

    public static TheoryData<int, int, int, int, int> Sizes()
    {
        var data = new TheoryData<int, int, int, int, int>();
        foreach (var t in new[] { 1, 7, 64, 65, 129, 200 })
        {
            foreach (var b in new[] { 1, 2 })
            {
                foreach (var h in new[] { 1, 3 })
                {
                    foreach (var (dqk, dv) in new[] { (8, 8), (24, 16), (192, 128) })
                    {
                        // the largest heads run once per T to keep the suite fast
                        if (dqk == 192 && (b, h) != (1, 3) && t > 65) { continue; }
                        data.Add(b, t, h, dqk, dv);
                    }
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void ForwardAndBackward_MatchNaive(int batch, int tokens, int heads, int dqk, int dv)
    {
        var shape = AttentionShape.SelfCausal(batch, tokens, heads, dqk, dv);
        CheckAgainstNaive(shape, [], seed: (tokens * 31) + (heads * 7) + dqk + batch);
    }

    [Theory]
    [InlineData(0, 7)]
    [InlineData(50, 79)]
    [InlineData(64, 65)]
    [InlineData(130, 70)]
    [InlineData(30, 300)] // two forward groups of query blocks
    public void StartOffset_MatchesNaive(int startPos, int tokens)
    {
        var shape = new AttentionShape(2, tokens, startPos + tokens, 3, 24, 16, 0.3, startPos);
        CheckAgainstNaive(shape, [], seed: startPos + tokens);
    }

    [Theory]
    [InlineData(50, AttentionPath.Fused)]
    [InlineData(64, AttentionPath.Fused)]
    [InlineData(199, AttentionPath.Fused)]
    [InlineData(50, AttentionPath.Materialized)]
    [InlineData(199, AttentionPath.Materialized)]
    public void ChunkedPrefill_EqualsRowsOfTheFullRun(int startPos, AttentionPath path)
    {
        const int Full = 200, Heads = 2, Dqk = 192, Dv = 128;
        var rng = new Random(startPos);
        var q = RandomArray(rng, Full * Heads * Dqk);
        var k = RandomArray(rng, Full * Heads * Dqk);
        var v = RandomArray(rng, Full * Heads * Dv);
        var full = AttentionShape.SelfCausal(1, Full, Heads, Dqk, Dv);
        var output = new float[Full * Heads * Dv];
        var lse = new float[Heads * Full];
        Attention.Forward<float>(q, k, v, [], full, output, lse, path);

        var chunk = full with { Tokens = Full - startPos, StartPos = startPos };
        var chunkOutput = new float[chunk.Tokens * Heads * Dv];
        var chunkLse = new float[Heads * chunk.Tokens];
        Attention.Forward<float>(q.AsSpan(startPos * Heads * Dqk), k, v, [], chunk, chunkOutput, chunkLse, path);

        AssertClose(output.AsSpan(startPos * Heads * Dv), chunkOutput, 1e-6, "chunk output");
        for (var h = 0; h < Heads; h++)
        {
            AssertClose(lse.AsSpan((h * Full) + startPos, chunk.Tokens), chunkLse.AsSpan(h * chunk.Tokens, chunk.Tokens), 1e-6, "chunk logSumExp");
        }
    }

    [Theory]
    [InlineData(true, 65, 65, 0)]
    [InlineData(true, 70, 130, 60)]
    [InlineData(false, 33, 100, 0)]
    [InlineData(false, 129, 7, 0)]
    public void AdditiveMask_MatchesNaive(bool causal, int tokens, int keyTokens, int startPos)
    {
        var shape = new AttentionShape(2, tokens, keyTokens, 3, 24, 16, 0.25, startPos, causal);
        var rng = new Random(tokens + keyTokens);
        var mask = new float[tokens * keyTokens];
        for (var i = 0; i < tokens; i++)
        {
            for (var j = 0; j < keyTokens; j++)
            {
                // keep key 0 open so every row attends something; mask a fifth of the rest outright
                mask[(i * keyTokens) + j] = j > 0 && rng.Next(5) == 0 ? float.NegativeInfinity : (float)((rng.NextDouble() * 4) - 2);
            }
        }
        CheckAgainstNaive(shape, mask, seed: tokens);
    }

    [Theory]
    [InlineData(AttentionPath.Fused)]
    [InlineData(AttentionPath.Materialized)]
    public void FullyMaskedRow_GivesZeroOutputAndNoNaN(AttentionPath path)
    {
        var shape = new AttentionShape(1, 3, 5, 1, 8, 8, 0.5, 0, Causal: false);
        var rng = new Random(3);
        var mask = new float[3 * 5];
        mask.AsSpan(5, 5).Fill(float.NegativeInfinity); // row 1 sees nothing
        var q = RandomArray(rng, 3 * 8);
        var k = RandomArray(rng, 5 * 8);
        var v = RandomArray(rng, 5 * 8);
        var output = new float[3 * 8];
        var lse = new float[3];
        Attention.Forward<float>(q, k, v, mask, shape, output, lse, path);
        Assert.All(output.AsSpan(8, 8).ToArray(), x => Assert.Equal(0f, x));
        Assert.Equal(float.NegativeInfinity, lse[1]);
        var dq = new float[q.Length];
        var dk = new float[k.Length];
        var dv = new float[v.Length];
        Attention.Backward<float>(RandomArray(rng, output.Length), q, k, v, mask, output, lse, shape, dq, dk, dv, path);
        Assert.All(dq.Concat(dk).Concat(dv), x => Assert.True(float.IsFinite(x)));
        Assert.All(dq.AsSpan(8, 8).ToArray(), x => Assert.Equal(0f, x)); // the masked query row gets no gradient
    }

    [Theory]
    [InlineData(AttentionPath.Fused)]
    [InlineData(AttentionPath.Materialized)]
    public void Backward_MatchesFiniteDifferences_InDouble(AttentionPath path)
    {
        var shape = new AttentionShape(2, 5, 8, 2, 6, 3, 0.45, StartPos: 3);
        var rng = new Random(11);
        double[] Fill(int n) => Enumerable.Range(0, n).Select(_ => (rng.NextDouble() * 2) - 1).ToArray();
        var q = Fill(2 * 5 * 2 * 6);
        var k = Fill(2 * 8 * 2 * 6);
        var v = Fill(2 * 8 * 2 * 3);
        var mask = Fill(5 * 8);
        var dOutput = Fill(2 * 5 * 2 * 3);
        var output = new double[dOutput.Length];
        var lse = new double[2 * 2 * 5];
        Attention.Forward<double>(q, k, v, mask, shape, output, lse, path);
        var dq = new double[q.Length];
        var dk = new double[k.Length];
        var dv = new double[v.Length];
        Attention.Backward<double>(dOutput, q, k, v, mask, output, lse, shape, dq, dk, dv, path);

        // loss = Σ output ∘ dOutput, so dloss/dx = (loss(x + h) − loss(x − h)) / 2h
        double Loss()
        {
            var o = new double[dOutput.Length];
            Attention.Forward<double>(q, k, v, mask, shape, o, new double[lse.Length], path);
            return o.Zip(dOutput, (a, g) => a * g).Sum();
        }
        foreach (var (x, grad, name) in new[] { (q, dq, "dq"), (k, dk, "dk"), (v, dv, "dv") })
        {
            for (var i = 0; i < x.Length; i++)
            {
                const double H = 1e-5;
                var saved = x[i];
                x[i] = saved + H;
                var up = Loss();
                x[i] = saved - H;
                var down = Loss();
                x[i] = saved;
                var numeric = (up - down) / (2 * H);
                Assert.True(Math.Abs(numeric - grad[i]) <= 1e-8 + (1e-6 * Math.Abs(numeric)), $"{name}[{i}]: analytic {grad[i]}, numeric {numeric}");
            }
        }
    }

    [Theory]
    [InlineData(24, 16, AttentionPath.Fused)]
    [InlineData(192, 128, AttentionPath.Fused)]
    [InlineData(12, 8, AttentionPath.Materialized)]
    [InlineData(24, 16, AttentionPath.Materialized)]
    public void Results_AreBitwiseEqual_With1And2Threads(int dqk, int dv, AttentionPath path)
    {
        var shape = new AttentionShape(2, 300, 320, 3, dqk, dv, 0.2, StartPos: 20);
        var rng = new Random(dqk);
        var q = RandomArray(rng, 2 * 300 * 3 * dqk);
        var k = RandomArray(rng, 2 * 320 * 3 * dqk);
        var v = RandomArray(rng, 2 * 320 * 3 * dv);
        var dOutput = RandomArray(rng, 2 * 300 * 3 * dv);
        float[][] Run(int threads)
        {
            using var pool = new WorkerPool(threads);
            var output = new float[dOutput.Length];
            var lse = new float[2 * 3 * 300];
            var dq = new float[q.Length];
            var dk = new float[k.Length];
            var dvOut = new float[v.Length];
            Attention.Forward<float>(q, k, v, [], shape, output, lse, pool, path);
            Attention.Backward<float>(dOutput, q, k, v, [], output, lse, shape, dq, dk, dvOut, pool, path);
            return [output, lse, dq, dk, dvOut];
        }
        var one = Run(1);
        var two = Run(2);
        for (var i = 0; i < one.Length; i++) { Assert.Equal(one[i], two[i]); }
    }

    [Theory]
    [InlineData(AttentionPath.Fused)]
    [InlineData(AttentionPath.Materialized)]
    public void Forward_AllocatesNothingAfterWarmUp(AttentionPath path)
    {
        using var pool = new WorkerPool(1);
        var shape = AttentionShape.SelfCausal(1, 130, 2, 24, 16);
        var rng = new Random(5);
        var q = RandomArray(rng, 130 * 2 * 24);
        var k = RandomArray(rng, 130 * 2 * 24);
        var v = RandomArray(rng, 130 * 2 * 16);
        var output = new float[130 * 2 * 16];
        var lse = new float[2 * 130];
        var dq = new float[q.Length];
        var dk = new float[k.Length];
        var dv = new float[v.Length];
        for (var warm = 0; warm < 3; warm++) // a few rounds: with intrinsics off the code is slow enough for the runtime to
        {                                     // finish first-call work (type loads, tier-ups) during a second call
            Attention.Forward<float>(q, k, v, [], shape, output, lse, pool, path);
            Attention.Backward<float>(output, q, k, v, [], output, lse, shape, dq, dk, dv, pool, path);
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        Attention.Forward<float>(q, k, v, [], shape, output, lse, pool, path);
        Attention.Backward<float>(output, q, k, v, [], output, lse, shape, dq, dk, dv, pool, path);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    public static TheoryData<int, int, int, int, int, bool, bool> PathShapes()
    {
        var data = new TheoryData<int, int, int, int, int, bool, bool>();
        foreach (var t in new[] { 1, 7, 64, 65, 129 })
        {
            data.Add(2, t, 0, 12, 8, true, false);    // tiny's heads
            data.Add(1, t, 0, 24, 16, true, true);    // with a mask that blanks some rows
        }
        data.Add(2, 65, 30, 12, 8, true, false);       // chunked prefill: startPos > 0
        data.Add(1, 40, 25, 48, 32, true, true);
        data.Add(2, 33, 0, 8, 16, false, true);        // Dv > Dqk, not causal
        return data;
    }

    [Theory]
    [MemberData(nameof(PathShapes))]
    public void FusedAndMaterialized_AgreeToRounding(int batch, int tokens, int startPos, int dqk, int dv, bool causal, bool masked)
    {
        var keyTokens = startPos + tokens + (causal ? 0 : 5);
        var shape = new AttentionShape(batch, tokens, keyTokens, 3, dqk, dv, 0.3, startPos, causal);
        var rng = new Random((tokens * 13) + dqk + startPos);
        var mask = masked ? new float[tokens * keyTokens] : [];
        for (var i = 0; i < mask.Length; i++) { mask[i] = rng.Next(4) == 0 ? float.NegativeInfinity : (float)((rng.NextDouble() * 2) - 1); }
        if (masked) { mask.AsSpan(0, keyTokens).Fill(float.NegativeInfinity); } // row 0 sees nothing
        var q = RandomArray(rng, batch * tokens * 3 * dqk);
        var k = RandomArray(rng, batch * keyTokens * 3 * dqk);
        var v = RandomArray(rng, batch * keyTokens * 3 * dv);
        var dOutput = RandomArray(rng, batch * tokens * 3 * dv);
        float[][] Run(AttentionPath path)
        {
            var output = new float[dOutput.Length];
            var lse = new float[batch * 3 * tokens];
            var dq = new float[q.Length];
            var dk = new float[k.Length];
            var dvOut = new float[v.Length];
            Attention.Forward<float>(q, k, v, mask, shape, output, lse, path);
            Attention.Backward<float>(dOutput, q, k, v, mask, output, lse, shape, dq, dk, dvOut, path);
            return [output, lse, dq, dk, dvOut];
        }
        var fused = Run(AttentionPath.Fused);
        var materialized = Run(AttentionPath.Materialized);
        string[] names = ["output", "logSumExp", "dq", "dk", "dv"];
        for (var i = 0; i < names.Length; i++)
        {
            // −∞ logSumExp rows (fully masked) must match exactly; AssertClose would see ∞ − ∞
            for (var j = 0; j < fused[i].Length; j++)
            {
                if (float.IsInfinity(fused[i][j]) || float.IsInfinity(materialized[i][j])) { Assert.Equal(fused[i][j], materialized[i][j]); fused[i][j] = materialized[i][j] = 0; }
            }
            AssertClose(fused[i], materialized[i], i < 2 ? 1e-6 : 1e-5, names[i]);
        }
        if (masked)
        {
            Assert.Equal(float.NegativeInfinity, Run(AttentionPath.Materialized)[1][0]);
        }
    }

    [Fact]
    public void Auto_PicksMaterializedForShortKeysAndSmallHeads()
    {
        Assert.Equal(AttentionPath.Materialized, Attention.Choose(AttentionShape.SelfCausal(8, 128, 4, 12, 8)));
        Assert.Equal(AttentionPath.Materialized, Attention.Choose(AttentionShape.SelfCausal(1, Attention.MaterializedMaxKeys, 4, 20, 12)));
        Assert.Equal(AttentionPath.Fused, Attention.Choose(AttentionShape.SelfCausal(1, Attention.MaterializedMaxKeys + 1, 4, 12, 8)));
        Assert.Equal(AttentionPath.Fused, Attention.Choose(AttentionShape.SelfCausal(8, 128, 8, 48, 32)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Attention.Forward<float>(new float[8], new float[8], new float[8], [],
            AttentionShape.SelfCausal(1, 1, 1, 8, 8), new float[8], new float[1], (AttentionPath)7));
    }

    [Fact]
    public void VectorExp_IsWithin2UlpOfMathFExp()
    {
        var rng = new Random(1);
        var xs = new float[1 << 16];
        for (var i = 0; i < xs.Length; i++)
        {
            xs[i] = i < 4096 ? -87f + (175f * i / 4096) : (float)((rng.NextDouble() * 175) - 87);
        }
        xs[0] = 0f;
        xs[1] = -1e-8f;
        xs[2] = 88.3f;
        xs[3] = -87.3f;
        var worst = 0.0;
        for (var i = 0; i < xs.Length; i += 8)
        {
            var y = TileMath.Exp(Vector256.Create(xs, i));
            for (var lane = 0; lane < 8; lane++)
            {
                var expected = MathF.Exp(xs[i + lane]);
                var ulp = MathF.BitIncrement(expected) - expected;
                worst = Math.Max(worst, Math.Abs(y.GetElement(lane) - expected) / ulp);
            }
        }
        Assert.True(worst <= 2, $"worst error {worst} ulp");
        var special = TileMath.Exp(Vector256.Create(float.NegativeInfinity, -100f, -87.4f, 0f, 1f, -1f, 10f, -10f));
        Assert.Equal(0f, special.GetElement(0));
        Assert.Equal(0f, special.GetElement(1));
        Assert.Equal(0f, special.GetElement(2));
        Assert.Equal(1f, special.GetElement(3));
        Assert.Equal(MathF.E, special.GetElement(4), 6);
    }

    [Fact]
    public void WrongSizes_ThrowNamingExpectedAndActual()
    {
        var shape = AttentionShape.SelfCausal(1, 4, 2, 8, 8);
        var q = new float[4 * 2 * 8];
        var output = new float[4 * 2 * 8];
        var lse = new float[2 * 4];
        var e = Assert.Throws<ArgumentException>(() => Attention.Forward<float>(new float[63], q, q, shape, output, lse));
        Assert.Contains("expected 64", e.Message);
        Assert.Contains("got 63", e.Message);
        Assert.Equal("q", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Attention.Forward<float>(q, q, q, shape, output, new float[9]));
        Assert.Contains("expected 8", e.Message);
        Assert.Contains("got 9", e.Message);
        e = Assert.Throws<ArgumentException>(() => Attention.Forward<float>(q, q, q, new float[15], shape, output, lse));
        Assert.Contains("expected 16", e.Message);
        Assert.Equal("mask", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Attention.Forward<float>(q, q, q, shape with { StartPos = 1 }, output, lse));
        Assert.Contains("StartPos + Tokens = 5", e.Message);
        e = Assert.Throws<ArgumentException>(() => Attention.Backward<float>(output, q, q, q, output, lse, shape, q, q, new float[65]));
        Assert.Contains("expected 64", e.Message);
        Assert.Equal("dv", e.ParamName);
    }

    [Fact]
    public void EmptyBatchOrTokens_DoNothing()
    {
        Attention.Forward<float>([], [], [], AttentionShape.SelfCausal(0, 5, 2, 8, 8), [], []);
        Attention.Forward<float>([], [], [], AttentionShape.SelfCausal(2, 0, 2, 8, 8), [], []);
        Attention.Backward<float>([], [], [], [], [], [], AttentionShape.SelfCausal(2, 0, 2, 8, 8), [], [], []);
    }

    private static void CheckAgainstNaive(AttentionShape shape, float[] mask, int seed)
    {
        foreach (var path in Paths) { CheckAgainstNaive(shape, mask, seed, path); }
    }

    private static void CheckAgainstNaive(AttentionShape shape, float[] mask, int seed, AttentionPath path)
    {
        var rng = new Random(seed);
        var q = RandomArray(rng, shape.Batch * shape.Tokens * shape.Heads * shape.QkHeadDim);
        var k = RandomArray(rng, shape.Batch * shape.KeyTokens * shape.Heads * shape.QkHeadDim);
        var v = RandomArray(rng, shape.Batch * shape.KeyTokens * shape.Heads * shape.VHeadDim);
        var dOutput = RandomArray(rng, shape.Batch * shape.Tokens * shape.Heads * shape.VHeadDim);
        var output = new float[dOutput.Length];
        var lse = new float[shape.Batch * shape.Heads * shape.Tokens];
        var expectedOutput = new float[output.Length];
        var expectedLse = new float[lse.Length];
        Attention.Forward<float>(q, k, v, mask, shape, output, lse, path);
        Attention.Naive<float>(q, k, v, mask, shape, expectedOutput, expectedLse);
        AssertClose(expectedOutput, output, ForwardTolerance, $"{path} output");
        AssertClose(expectedLse, lse, ForwardTolerance, $"{path} logSumExp");

        var dq = new float[q.Length];
        var dk = new float[k.Length];
        var dv = new float[v.Length];
        var expectedDq = new float[q.Length];
        var expectedDk = new float[k.Length];
        var expectedDv = new float[v.Length];
        Attention.Backward<float>(dOutput, q, k, v, mask, output, lse, shape, dq, dk, dv, path);
        Attention.NaiveBackward<float>(dOutput, q, k, v, mask, shape, expectedDq, expectedDk, expectedDv);
        AssertClose(expectedDq, dq, BackwardTolerance, $"{path} dq");
        AssertClose(expectedDk, dk, BackwardTolerance, $"{path} dk");
        AssertClose(expectedDv, dv, BackwardTolerance, $"{path} dv");
    }

    // |actual − expected| ≤ tolerance·(1 + |expected|)
    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string name)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs((double)actual[i] - expected[i]);
            if (!(error <= tolerance * (1 + Math.Abs(expected[i]))))
            {
                Assert.Fail($"{name}[{i}]: expected {expected[i]}, got {actual[i]} (error {error}, tolerance {tolerance})");
            }
        }
    }

    private static float[] RandomArray(Random rng, int length)
    {
        var x = new float[length];
        for (var i = 0; i < length; i++) { x[i] = (float)((rng.NextDouble() * 2) - 1); }
        return x;
    }
}
