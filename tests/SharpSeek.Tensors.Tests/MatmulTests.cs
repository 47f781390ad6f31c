// MatmulTests.cs: Gemm (f32/f64, all transposes, accumulate, batched, the fused small-m / small-n paths) and the
// BF16/FP8-weight GEMMs against Matmul.Naive, no allocation on the calling thread after warm-up (the workers' count is
// MatmulThreadingTests'), and the argument checks.
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class MatmulTests
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 0, 5, 7 }, { 5, 0, 7 }, { 5, 7, 0 }, { 1, 1, 1 }, { 1, 7, 1 }, { 7, 1, 127 }, { 1, 129, 300 },
        { 7, 7, 7 }, { 127, 128, 129 }, { 129, 127, 128 }, { 128, 128, 128 }, { 300, 17, 259 }, { 6, 16, 513 }, { 151, 300, 7 },
    };

    /// <summary>
    /// Shapes for the driver's fused paths: m ≤ MC (144 f32, 72 f64) with large n, k (small-m), and n ≤ 16 NR (256 f32,
    /// 128 f64) with m > MC (small-n). k = 700 and 520 end in a partial K block; 1 and 5 leave partial MR / NR tiles.
    /// </summary>
    public static TheoryData<int, int, int> FusedPathShapes => new()
    {
        { 1, 1500, 700 }, { 5, 1500, 700 }, { 64, 700, 600 }, { 100, 530, 520 },
        { 1500, 1, 700 }, { 1500, 5, 700 }, { 700, 64, 600 }, { 530, 100, 520 }, { 400, 256, 300 },
    };

    public static TheoryData<bool, bool, bool> Variants => new()
    {
        { false, false, false }, { false, true, false }, { true, false, false }, { true, true, false },
        { false, false, true }, { false, true, true }, { true, false, true }, { true, true, true },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GemmF32_MatchesNaive_AllVariants(int m, int n, int k)
    {
        foreach (var v in Variants)
        {
            var (ta, tb, acc) = ((bool)v[0], (bool)v[1], (bool)v[2]);
            var rng = new Random(m * 1_000_003 + n * 1009 + k);
            var a = RandomFloats(rng, m * k);
            var b = RandomFloats(rng, k * n);
            var c0 = RandomFloats(rng, m * n);
            var expected = (float[])c0.Clone();
            var actual = (float[])c0.Clone();
            Matmul.Naive<float>(a, b, expected, m, n, k, ta, tb, acc);
            Matmul.Gemm<float>(a, b, actual, m, n, k, ta, tb, acc);
            AssertClose(expected, actual, k, 1.0 / (1 << 23), acc, $"f32 {m}x{n}x{k} ta={ta} tb={tb} acc={acc}");
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GemmF64_MatchesNaive_AllVariants(int m, int n, int k)
    {
        foreach (var v in Variants)
        {
            var (ta, tb, acc) = ((bool)v[0], (bool)v[1], (bool)v[2]);
            var rng = new Random(m * 7919 + n * 104729 + k);
            var a = RandomDoubles(rng, m * k);
            var b = RandomDoubles(rng, k * n);
            var c0 = RandomDoubles(rng, m * n);
            var expected = (double[])c0.Clone();
            var actual = (double[])c0.Clone();
            Matmul.Naive<double>(a, b, expected, m, n, k, ta, tb, acc);
            Matmul.Gemm<double>(a, b, actual, m, n, k, ta, tb, acc);
            AssertClose(expected, actual, k, 1.0 / (1L << 52), acc, $"f64 {m}x{n}x{k} ta={ta} tb={tb} acc={acc}");
        }
    }

    [Theory]
    [MemberData(nameof(FusedPathShapes))]
    public void GemmF32_FusedPaths_MatchNaive_AllVariants(int m, int n, int k) => GemmF32_MatchesNaive_AllVariants(m, n, k);

    [Theory]
    [MemberData(nameof(FusedPathShapes))]
    public void GemmF64_FusedPaths_MatchNaive_AllVariants(int m, int n, int k) => GemmF64_MatchesNaive_AllVariants(m, n, k);

    [Fact]
    public void GemmF32_SpansSeveralNcAndKcBlocks()
    {
        // n > NC (4096) and k > KC exercise the jc and pc loops, including partial last blocks.
        const int M = 7, N = 4100, K = 300;
        var rng = new Random(42);
        var a = RandomFloats(rng, M * K);
        var b = RandomFloats(rng, N * K);
        var expected = new float[M * N];
        var actual = new float[M * N];
        Matmul.Naive<float>(a, b, expected, M, N, K, transposeB: true);
        Matmul.Gemm<float>(a, b, actual, M, N, K, transposeB: true);
        AssertClose(expected, actual, K, 1.0 / (1 << 23), false, "f32 7x4100x300");
    }

    [Theory]
    [InlineData(3, 7, 9, 11, false, false)]
    [InlineData(4, 64, 33, 80, true, false)]
    [InlineData(2, 130, 129, 70, false, true)]
    public void GemmBatched_MatchesNaivePerEntry(int batch, int m, int n, int k, bool ta, bool tb)
    {
        var rng = new Random(batch * 31 + m);
        // Padded strides (and a shared B when strideB = 0 is exercised by the first case) must be honoured.
        var strideA = m * k + 3;
        var strideB = batch == 3 ? 0 : k * n + 5;
        var strideC = m * n + 1;
        var a = RandomFloats(rng, (batch - 1) * strideA + m * k);
        var b = RandomFloats(rng, (batch - 1) * strideB + k * n);
        var c0 = RandomFloats(rng, (batch - 1) * strideC + m * n);
        var expected = (float[])c0.Clone();
        var actual = (float[])c0.Clone();
        for (var p = 0; p < batch; p++)
        {
            Matmul.Naive<float>(a.AsSpan(p * strideA, m * k), b.AsSpan(p * strideB, k * n), expected.AsSpan(p * strideC, m * n),
                m, n, k, ta, tb, accumulate: true);
        }
        Matmul.GemmBatched<float>(a, b, actual, m, n, k, batch, strideA, strideB, strideC, ta, tb, accumulate: true);
        AssertClose(expected, actual, k, 1.0 / (1 << 23), true, $"batched {batch}x{m}x{n}x{k}");
        // The padding between C slices is untouched.
        for (var p = 0; p + 1 < batch; p++) { Assert.Equal(c0[p * strideC + m * n], actual[p * strideC + m * n]); }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 129, 300)]
    [InlineData(64, 256, 128)]
    [InlineData(130, 300, 257)]
    [InlineData(3, 700, 1100)]
    [InlineData(300, 40, 520)]
    public void GemmBf16Weights_MatchesNaiveOnWidenedWeights(int m, int n, int k)
    {
        var rng = new Random(m + 17 * n + 31 * k);
        var x = RandomFloats(rng, m * k);
        var w = new BFloat16[n * k];
        var wf = new float[n * k];
        for (var i = 0; i < w.Length; i++)
        {
            w[i] = new BFloat16((ushort)(BitConverter.SingleToUInt32Bits((float)(rng.NextDouble() * 2 - 1)) >> 16));
            wf[i] = w[i].ToSingle();
        }
        foreach (var acc in new[] { false, true })
        {
            var y0 = RandomFloats(rng, m * n);
            var expected = (float[])y0.Clone();
            var actual = (float[])y0.Clone();
            Matmul.Naive<float>(x, wf, expected, m, n, k, transposeB: true, accumulate: acc);
            Matmul.GemmBf16Weights(x, w, actual, m, n, k, acc);
            AssertClose(expected, actual, k, 1.0 / (1 << 23), acc, $"bf16 {m}x{n}x{k} acc={acc}");
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(5, 129, 300)]
    [InlineData(64, 256, 384)]
    [InlineData(70, 300, 257)]
    [InlineData(3, 700, 1100)]
    [InlineData(300, 40, 520)]
    public void GemmFp8Weights_MatchesNaiveOnDequantizedWeights(int m, int n, int k)
    {
        var rng = new Random(m + 13 * n + 37 * k);
        var x = RandomFloats(rng, m * k);
        var rows = (n + 127) / 128;
        var cols = (k + 127) / 128;
        var scaleInv = new float[rows * cols];
        for (var i = 0; i < scaleInv.Length; i++) { scaleInv[i] = (float)(0.001 + rng.NextDouble() * 0.01); }
        var w = new Float8E4M3[n * k];
        var wf = new float[n * k];
        for (var j = 0; j < n; j++)
        {
            for (var p = 0; p < k; p++)
            {
                var code = (byte)rng.Next(256);
                if ((code & 0x7F) == 0x7F) { code ^= 1; } // no NaN codes
                w[j * k + p] = new Float8E4M3(code);
                wf[j * k + p] = Float8E4M3.DecodeTable[code] * scaleInv[j / 128 * cols + p / 128];
            }
        }
        foreach (var acc in new[] { false, true })
        {
            var y0 = RandomFloats(rng, m * n);
            var expected = (float[])y0.Clone();
            var actual = (float[])y0.Clone();
            Matmul.Naive<float>(x, wf, expected, m, n, k, transposeB: true, accumulate: acc);
            Matmul.GemmFp8Weights(x, w, scaleInv, actual, m, n, k, acc);
            AssertClose(expected, actual, k, 1.0 / (1 << 23), acc, $"fp8 {m}x{n}x{k} acc={acc}", magnitude: 448 * 0.011);
        }
    }

    [Fact]
    public void GemmFp8Weights_EveryCodeDecodesAsTheTable()
    {
        // x = identity, so y[c, c % 16] = W[c % 16, c] = code c decoded. NaN codes are checked apart (0 · NaN would
        // spread NaN over a whole column).
        const int M = 256, N = 16, K = 256;
        var x = new float[M * K];
        for (var i = 0; i < M; i++) { x[i * K + i] = 1f; }
        var w = new Float8E4M3[N * K];
        for (var code = 0; code < 256; code++)
        {
            w[code % 16 * K + code] = new Float8E4M3((code & 0x7F) == 0x7F ? (byte)0 : (byte)code);
        }
        var scaleInv = new[] { 0.5f, 0.25f };
        var y = new float[M * N];
        Matmul.GemmFp8Weights(x, w, scaleInv, y, M, N, K);
        for (var code = 0; code < 256; code++)
        {
            var expected = (code & 0x7F) == 0x7F ? 0f : Float8E4M3.DecodeTable[code] * scaleInv[code / 128];
            Assert.Equal(expected, y[code * N + code % 16]);
        }

        var ones = new float[K];
        Array.Fill(ones, 1f);
        foreach (var nanCode in new byte[] { 0x7F, 0xFF })
        {
            Array.Clear(w);
            w[3 * K + 200] = new Float8E4M3(nanCode);
            var row = new float[N];
            Matmul.GemmFp8Weights(ones, w, scaleInv, row, 1, N, K);
            for (var j = 0; j < N; j++) { Assert.Equal(j == 3 ? float.NaN : 0f, row[j]); }
        }
    }

    [Fact]
    public void Gemm_WrongLengths_Throw()
    {
        var a = new float[6];
        var b = new float[12];
        var c = new float[8];
        Assert.Contains("c has 7 elements; its shape (2, 4) needs 8", Assert.Throws<ArgumentException>(() => Matmul.Gemm<float>(a, b, new float[7], 2, 4, 3)).Message);
        Assert.Contains("a has 6 elements", Assert.Throws<ArgumentException>(() => Matmul.Gemm<float>(a, b, c, 2, 4, 4)).Message);
        Assert.Contains("b has 12 elements", Assert.Throws<ArgumentException>(() => Matmul.Gemm<float>(a, b, c, 2, 5, 3)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Matmul.Gemm<float>(a, b, c, -1, 4, 3));
        Assert.Throws<NotSupportedException>(() => Matmul.Gemm<int>(new int[6], new int[12], new int[8], 2, 4, 3));
        Assert.Contains("strideC", Assert.Throws<ArgumentException>(() => Matmul.GemmBatched<float>(a, b, c, 2, 4, 3, 2, 0, 0, 7)).Message);
        Assert.Contains("at least 16", Assert.Throws<ArgumentException>(() => Matmul.GemmBatched<float>(a, b, c, 2, 4, 3, 2, 0, 0, 8)).Message);
        Assert.Contains("scaleInv", Assert.Throws<ArgumentException>(
            () => Matmul.GemmFp8Weights(new float[129], new Float8E4M3[129], new float[1], new float[1], 1, 1, 129)).Message);
        Assert.Contains("needs 129", Assert.Throws<ArgumentException>(
            () => Matmul.GemmBf16Weights(new float[129], new BFloat16[128], new float[1], 1, 1, 129)).Message);
    }

    [Fact]
    public void Gemm_AllocatesNothingAfterWarmUp()
    {
        const int M = 70, N = 90, K = 300;
        var rng = new Random(3);
        var a = RandomFloats(rng, M * K);
        var b = RandomFloats(rng, K * N);
        var c = new float[M * N];
        Matmul.Gemm<float>(a, b, c, M, N, K);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 5; i++) { Matmul.Gemm<float>(a, b, c, M, N, K, transposeA: false, transposeB: true); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    internal static float[] RandomFloats(Random rng, int count)
    {
        var x = new float[count];
        for (var i = 0; i < count; i++) { x[i] = (float)(rng.NextDouble() * 2 - 1); }
        return x;
    }

    internal static double[] RandomDoubles(Random rng, int count)
    {
        var x = new double[count];
        for (var i = 0; i < count; i++) { x[i] = rng.NextDouble() * 2 - 1; }
        return x;
    }

    /// <summary>
    /// Entries in [-1, 1] make Σ|a||b| ≤ k; a recursive or blocked sum in precision eps errs by at most ~k·eps·Σ|a||b| in the worst
    /// case and ~sqrt(k)·eps·Σ|a||b| typically. We allow 4·sqrt(k+1)·eps·(magnitude·k + |c0|) plus the final rounding of |c|,
    /// where magnitude bounds |a[i, p]·b[p, j]|.
    /// </summary>
    internal static void AssertClose<T>(T[] expected, T[] actual, int k, double eps, bool accumulate, string what, double magnitude = 1)
        where T : IConvertible
    {
        Assert.Equal(expected.Length, actual.Length);
        var bound = 4 * Math.Sqrt(k + 1) * eps * (magnitude * k + (accumulate ? 1 : 0));
        for (var i = 0; i < expected.Length; i++)
        {
            var e = expected[i].ToDouble(null);
            var a = actual[i].ToDouble(null);
            var tol = bound + 2 * eps * Math.Abs(e);
            if (!(Math.Abs(e - a) <= tol))
            {
                Assert.Fail($"{what}: element {i}: expected {e}, got {a}, |diff| {Math.Abs(e - a)} > {tol}");
            }
        }
    }
}
