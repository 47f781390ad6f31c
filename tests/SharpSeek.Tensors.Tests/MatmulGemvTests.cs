// MatmulGemvTests.cs: the direct small-m path (m ≤ 4, W: (n, k)) for f32, BF16 and FP8 weights against Matmul.Naive on
// the widened / dequantized weights, m = 5 on the packed path beside it, accumulate on and off; bitwise the same for 1, 2
// and 3 threads; no allocation after warm-up; the lifted FP8 decode bitwise equal to the exact one on every code and
// on scales at the lift's limits. Swaps WorkerPool.Current, so it runs in the serial collection.
using SharpSeek.Tensors.Kernels;
using static SharpSeek.Tensors.Tests.MatmulTests;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
[Collection(SerialCollection.Name)]
public sealed class MatmulGemvTests
{
    private static readonly int[] Sizes = [1, 7, 15, 16, 17, 127, 128, 129, 300];

    public static TheoryData<int> Rows => new() { 1, 2, 3, 4, 5 };

    /// <summary>Random weights of every format and the f32 values each stands for: W: (n, k).</summary>
    private sealed record Weights(float[] F32, BFloat16[] Bf16, float[] Bf16Values, Float8E4M3[] Fp8, float[] ScaleInv, float[] Fp8Values);

    private static Weights RandomWeights(Random rng, int n, int k)
    {
        var f32 = RandomFloats(rng, n * k);
        var bf16 = new BFloat16[n * k];
        var bf16Values = new float[n * k];
        var cols = (k + 127) / 128;
        var scaleInv = new float[(n + 127) / 128 * cols];
        for (var i = 0; i < scaleInv.Length; i++) { scaleInv[i] = (float)(0.001 + rng.NextDouble() * 0.01); }
        var fp8 = new Float8E4M3[n * k];
        var fp8Values = new float[n * k];
        for (var j = 0; j < n; j++)
        {
            for (var p = 0; p < k; p++)
            {
                var i = j * k + p;
                bf16[i] = new BFloat16((ushort)(BitConverter.SingleToUInt32Bits(f32[i]) >> 16));
                bf16Values[i] = bf16[i].ToSingle();
                var code = (byte)rng.Next(256);
                if ((code & 0x7F) == 0x7F) { code ^= 1; } // no NaN codes
                fp8[i] = new Float8E4M3(code);
                fp8Values[i] = Float8E4M3.DecodeTable[code] * scaleInv[j / 128 * cols + p / 128];
            }
        }
        return new(f32, bf16, bf16Values, fp8, scaleInv, fp8Values);
    }

    /// <summary>y = [y0 +] x·Wᵀ in each format: f32, BF16, FP8.</summary>
    private static float[][] RunAll(float[] x, Weights w, float[] y0, int m, int n, int k, bool accumulate)
    {
        var f32 = (float[])y0.Clone();
        var bf16 = (float[])y0.Clone();
        var fp8 = (float[])y0.Clone();
        Matmul.Gemm<float>(x, w.F32, f32, m, n, k, transposeB: true, accumulate: accumulate);
        Matmul.GemmBf16Weights(x, w.Bf16, bf16, m, n, k, accumulate);
        Matmul.GemmFp8Weights(x, w.Fp8, w.ScaleInv, fp8, m, n, k, accumulate);
        return [f32, bf16, fp8];
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void AllFormats_MatchNaive_EveryEdgeSize(int m)
    {
        foreach (var n in Sizes)
        {
            foreach (var k in Sizes)
            {
                var rng = new Random(m * 100_003 + n * 1009 + k);
                var x = RandomFloats(rng, m * k);
                var w = RandomWeights(rng, n, k);
                foreach (var acc in new[] { false, true })
                {
                    var y0 = RandomFloats(rng, m * n);
                    var actual = RunAll(x, w, y0, m, n, k, acc);
                    var values = new[] { w.F32, w.Bf16Values, w.Fp8Values };
                    var names = new[] { "f32", "bf16", "fp8" };
                    for (var f = 0; f < 3; f++)
                    {
                        var expected = (float[])y0.Clone();
                        Matmul.Naive<float>(x, values[f], expected, m, n, k, transposeB: true, accumulate: acc);
                        AssertClose(expected, actual[f], k, 1.0 / (1 << 23), acc, $"{names[f]} {m}x{n}x{k} acc={acc}",
                            magnitude: f == 2 ? 448 * 0.011 : 1);
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(1, 1000, 700)]
    [InlineData(2, 999, 300)]
    [InlineData(3, 1001, 129)]
    [InlineData(4, 640, 1100)]
    [InlineData(1, 1100, 1000)]                                                                // above the f32/BF16 threading threshold (2^20)
    [InlineData(2, 2050, 520)]
    public void LargeShapes_MatchNaive_AndAreBitwiseIndependentOfThreadCount(int m, int n, int k)
    {
        var rng = new Random(m + n + k);
        var x = RandomFloats(rng, m * k);
        var w = RandomWeights(rng, n, k);
        var y0 = RandomFloats(rng, m * n);
        float[][] Run(int threads)
        {
            var saved = WorkerPool.Current.Threads;
            WorkerPool.UseThreads(threads);
            try { return RunAll(x, w, y0, m, n, k, accumulate: true); }
            finally { WorkerPool.UseThreads(saved); }
        }
        var one = Run(1);
        for (var f = 0; f < 3; f++)
        {
            var expected = (float[])y0.Clone();
            Matmul.Naive<float>(x, new[] { w.F32, w.Bf16Values, w.Fp8Values }[f], expected, m, n, k, transposeB: true, accumulate: true);
            AssertClose(expected, one[f], k, 1.0 / (1 << 23), true, $"format {f} {m}x{n}x{k}", magnitude: f == 2 ? 448 * 0.011 : 1);
        }
        foreach (var threads in new[] { 2, 3 })
        {
            var other = Run(threads);
            for (var f = 0; f < 3; f++) { Assert.Equal(one[f], other[f]); }
        }
    }

    [Fact]
    public void AllFormats_AllocateNothingAfterWarmUp()
    {
        const int M = 2, N = 1000, K = 700;
        var rng = new Random(9);
        var x = RandomFloats(rng, M * K);
        var w = RandomWeights(rng, N, K);
        var y = new float[M * N];
        var pool = WorkerPool.Current;
        void Step()
        {
            Matmul.Gemm<float>(x, w.F32, y, M, N, K, transposeB: true);
            Matmul.GemmBf16Weights(x, w.Bf16, y, M, N, K, accumulate: true);
            Matmul.GemmFp8Weights(x, w.Fp8, w.ScaleInv, y, M, N, K, accumulate: true);
        }
        Step();
        var before = GC.GetAllocatedBytesForCurrentThread() + pool.WorkerAllocatedBytes;
        for (var i = 0; i < 5; i++) { Step(); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() + pool.WorkerAllocatedBytes - before);
    }
    /// <summary>Scales that hit every case of the lift: ordinary, subnormal, products that underflow, the largest that
    /// still lifts (255·2^120 is finite), ones that do not (256, 1e30, ∞, NaN), zero and negative.</summary>
    private static readonly float[] EdgeScales = [0.004f, 1e-40f, 1e-30f, 255f, 256f, 1e30f, float.PositiveInfinity, float.NaN, 0f, -0.02f, 3e-3f];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Fp8_LiftedDecode_IsBitwiseTheExactDecode_AllCodesEdgeScalesAndShapes(int m)
    {
        int[] rows = [1, 2, 3, 5, 6, 7, 9, 130, 131];
        int[] cols = [1, 7, 8, 9, 33, 127, 128, 129, 256, 300];
        foreach (var n in rows)
        {
            foreach (var k in cols)
            {
                var rng = new Random(m * 7919 + n * 101 + k);
                var (codes, scaleInv, nanRows) = EdgeFp8(rng, n, k, edgeScales: n * k % 3 != 0);
                var x = RandomFloats(rng, m * k);
                foreach (var acc in new[] { false, true })
                {
                    var y0 = RandomFloats(rng, m * n);
                    CheckLiftedDecode(x, codes, scaleInv, nanRows, y0, m, n, k, acc, $"{m}x{n}x{k} acc={acc}");
                }
            }
        }
    }

    [Fact]
    public void Fp8_LiftedDecode_IsBitwiseTheExactDecode_OnOneAndTwoThreads()
    {
        const int N = 1030, K = 300; // above the FP8 threading threshold (2^18)
        var saved = WorkerPool.Current.Threads;
        try
        {
            for (var m = 1; m <= 4; m++)
            {
                var rng = new Random(m);
                var (codes, scaleInv, nanRows) = EdgeFp8(rng, N, K, edgeScales: true);
                var x = RandomFloats(rng, m * K);
                var y0 = RandomFloats(rng, m * N);
                var results = new List<float[]>();
                foreach (var threads in new[] { 1, 2 })
                {
                    WorkerPool.UseThreads(threads);
                    results.Add(CheckLiftedDecode(x, codes, scaleInv, nanRows, y0, m, N, K, true, $"m={m} threads={threads}"));
                }
                Assert.Equal(results[0], results[1]);
            }
        }
        finally { WorkerPool.UseThreads(saved); }
    }

    /// <summary>
    /// Codes over all 256 values (every row runs through them from a random start, so subnormals, ±0 and the NaN codes
    /// all occur), NaN codes then removed from all rows but every eleventh; scales ordinary or, with edgeScales, drawn from
    /// <see cref="EdgeScales"/> too. Returns which rows keep a NaN code.
    /// </summary>
    private static (Float8E4M3[] Codes, float[] ScaleInv, bool[] NanRows) EdgeFp8(Random rng, int n, int k, bool edgeScales)
    {
        var codes = new Float8E4M3[n * k];
        var nanRows = new bool[n];
        for (var j = 0; j < n; j++)
        {
            var start = rng.Next(256);
            for (var p = 0; p < k; p++)
            {
                var code = (byte)(p < 256 ? start + p : rng.Next(256));
                if ((code & 0x7F) == 0x7F && j % 11 != 5) { code ^= 1; }
                nanRows[j] |= (code & 0x7F) == 0x7F;
                codes[j * k + p] = new Float8E4M3(code);
            }
        }
        var scaleInv = new float[(n + 127) / 128 * ((k + 127) / 128)];
        for (var i = 0; i < scaleInv.Length; i++)
        {
            scaleInv[i] = edgeScales && rng.Next(2) == 0 ? EdgeScales[rng.Next(EdgeScales.Length)] : (float)(0.001 + rng.NextDouble() * 0.01);
        }
        return (codes, scaleInv, nanRows);
    }

    /// <summary>GemmFp8Weights against the exact-decode oracle: the same bits, NaN where the oracle is NaN, and NaN in
    /// every output of a row with a NaN code. Returns the result.</summary>
    private static float[] CheckLiftedDecode(float[] x, Float8E4M3[] codes, float[] scaleInv, bool[] nanRows, float[] y0,
        int m, int n, int k, bool accumulate, string what)
    {
        var expected = (float[])y0.Clone();
        var actual = (float[])y0.Clone();
        Matmul.GemvFp8Exact(x, codes, scaleInv, expected, m, n, k, accumulate);
        Matmul.GemmFp8Weights(x, codes, scaleInv, actual, m, n, k, accumulate);
        for (var i = 0; i < m * n; i++)
        {
            if (nanRows[i % n]) { Assert.True(float.IsNaN(actual[i]), $"{what}: y[{i / n}, {i % n}] = {actual[i]}, expected NaN (NaN code in the row)"); }
            if (float.IsNaN(expected[i])) { Assert.True(float.IsNaN(actual[i]), $"{what}: y[{i / n}, {i % n}] = {actual[i]}, expected NaN"); }
            else
            {
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                    $"{what}: y[{i / n}, {i % n}] = {actual[i]:R}, expected {expected[i]:R} bit for bit");
            }
        }
        if (!nanRows.Contains(true))
        {
            // Codes checked once by the caller: skipping the per-row scan changes no bit.
            Assert.False(Fp8Quant.HasNaNCode(codes));
            var vouched = (float[])y0.Clone();
            Matmul.GemmFp8Weights(x, codes, scaleInv, vouched, m, n, k, accumulate, noNaNCodes: true);
            Assert.True(actual.AsSpan().SequenceEqual(vouched), $"{what}: noNaNCodes changed the result");
        }
        return actual;
    }
}
