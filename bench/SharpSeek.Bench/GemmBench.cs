// GemmBench.cs: `sharpseek bench gemm`: f32 Matmul.Gemm against OpenBLAS cblas_sgemm (same run, same threads) and the
// machine's measured FMA peak, then the BF16/FP8-weight GEMMs against the f32 time; first, once, the FP8 accumulation
// ablation (Fp8AccumulationBench). Not here: correctness (MatmulTests).
// Never run in CI.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Bench;

public static class GemmBench
{
    private const string OpenBlasLibrary = "libopenblas.so.0";

    /// <summary>Prints one line per case (or one JSON object per line); returns the process exit code.</summary>
    public static int Run(TextWriter output, int[] threads, bool quick, bool json)
    {
        var openBlas = NativeLibrary.TryLoad(OpenBlasLibrary, out var handle) ? handle : 0;
        var cubes = quick ? new[] { 512, 1024 } : new[] { 512, 1024, 2048 };
        var skinny = quick
            ? new (int M, int N, int K)[] { (64, 2048, 2048), (512, 2048, 512) }
            : [(64, 2048, 2048), (64, 512, 2048), (512, 2048, 2048), (512, 2048, 512), (512, 64, 2048),
               (4096, 2048, 2048), (4096, 512, 2048), (4096, 64, 2048)];
        var lowPrecisionM = quick ? new[] { 64, 512 } : new[] { 64, 512, 4096 };
        var saved = WorkerPool.Current.Threads;
        Fp8AccumulationBench.Run(output, json); // an accuracy table, single-threaded and quick: first, whatever the thread counts
        try
        {
            foreach (var t in threads)
            {
                WorkerPool.UseThreads(t);
                if (openBlas != 0) { OpenBlas.SetThreads(t); }
                var peak = MeasurePeak(t);
                Header(output, json, t, peak, openBlas != 0);
                foreach (var s in cubes) { F32Case(output, json, t, peak, openBlas != 0, s, s, s, false, quick); }
                foreach (var (m, n, k) in skinny) { F32Case(output, json, t, peak, openBlas != 0, m, n, k, true, quick); }
                foreach (var m in lowPrecisionM) { LowPrecisionCases(output, json, t, m, 2048, 2048, quick); }
            }
        }
        finally
        {
            WorkerPool.UseThreads(saved);
        }
        return 0;
    }

    private static void Header(TextWriter output, bool json, int t, double peak, bool haveOpenBlas)
    {
        var simd = Vector256.IsHardwareAccelerated ? "Vector256" : Vector128.IsHardwareAccelerated ? "Vector128" : "scalar";
        if (json)
        {
            output.WriteLine(Inv($"{{\"kind\":\"peak\",\"threads\":{t},\"fma_peak_gflops\":{peak:F1},\"simd\":\"{simd}\",\"openblas\":{(haveOpenBlas ? "true" : "false")}}}"));
            return;
        }
        output.WriteLine(Inv($"gemm peak threads={t}: {peak:F1} GFLOP/s (measured {simd} FMA), openblas {(haveOpenBlas ? "libopenblas.so.0" : "n/a")}"));
    }

    private static void F32Case(TextWriter output, bool json, int t, double peak, bool haveOpenBlas, int m, int n, int k, bool transposeB, bool quick)
    {
        var rng = new Random(1);
        var a = Random(rng, m * k);
        var b = Random(rng, k * n);
        var c = new float[m * n];
        var flop = 2.0 * m * n * k;
        var times = Time(quick, () => Matmul.Gemm<float>(a, b, c, m, n, k, transposeB: transposeB),
            haveOpenBlas ? () => OpenBlas.Sgemm(m, n, k, a, b, c, transposeB) : null);
        var ours = flop / times[0] / 1e9;
        double? blas = haveOpenBlas ? flop / times[1] / 1e9 : null;
        var shape = $"{m}x{n}x{k}";
        if (json)
        {
            output.WriteLine(Inv($"{{\"kind\":\"f32\",\"m\":{m},\"n\":{n},\"k\":{k},\"transpose_b\":{(transposeB ? "true" : "false")},\"threads\":{t},\"gflops\":{ours:F1},\"openblas_gflops\":{(blas is { } v ? v.ToString("F1", CultureInfo.InvariantCulture) : "null")},\"peak_fraction\":{ours / peak:F3}}}"));
            return;
        }
        var blasText = blas is { } x ? Inv($"openblas {x:F1} GFLOP/s, ratio {ours / x:F2}") : "openblas n/a, ratio n/a";
        output.WriteLine(Inv($"gemm f32 {shape} threads={t}: {ours:F1} GFLOP/s, {blasText}, peak {100 * ours / peak:F0}%"));
    }

    private static void LowPrecisionCases(TextWriter output, bool json, int t, int m, int n, int k, bool quick)
    {
        var rng = new Random(2);
        var x = Random(rng, m * k);
        var wf = Random(rng, n * k);
        var wb = new BFloat16[n * k];
        var w8 = new Float8E4M3[n * k];
        for (var i = 0; i < wf.Length; i++)
        {
            wb[i] = new BFloat16((ushort)(BitConverter.SingleToUInt32Bits(wf[i]) >> 16));
            w8[i] = new Float8E4M3((byte)rng.Next(0x7F));
        }
        var scaleInv = new float[(n + 127) / 128 * ((k + 127) / 128)];
        Array.Fill(scaleInv, 0.01f);
        var y = new float[m * n];
        // Training's FP8 Fprop: E4M3 activations in 1×128 tiles too, each 128-block's exact sum promoted with both scales.
        var (xq, xs, ws) = (new Float8E4M3[m * k], new float[m * Fp8Quant.Tiles(k)], new float[n * Fp8Quant.Tiles(k)]);
        Fp8Quant.QuantizeActivations(x, m, k, xq, xs);
        Fp8Gemm.RowScales(scaleInv, n, k, ws);
        var flop = 2.0 * m * n * k;
        var times = Time(quick, () => Matmul.Gemm<float>(x, wf, y, m, n, k, transposeB: true),
            () => Matmul.GemmBf16Weights(x, wb, y, m, n, k), () => Matmul.GemmFp8Weights(x, w8, scaleInv, y, m, n, k),
            () => Fp8Gemm.Gemm(xq, xs, w8, ws, y, m, n, k));
        var (f32, bf16, fp8, fp8Training) = (times[0], times[1], times[2], times[3]);
        Line("bf16-weights", bf16, 2L * n * k);
        Line("fp8-weights", fp8, (long)n * k + 4L * scaleInv.Length);
        Line("fp8-training", fp8Training, (long)n * k + 4L * scaleInv.Length);

        void Line(string kind, double seconds, long bytes)
        {
            var gf = flop / seconds / 1e9;
            var f32Bytes = 4L * n * k;
            if (json)
            {
                output.WriteLine(Inv($"{{\"kind\":\"{kind}\",\"m\":{m},\"n\":{n},\"k\":{k},\"threads\":{t},\"gflops\":{gf:F1},\"time_vs_f32\":{seconds / f32:F2},\"weight_bytes\":{bytes},\"f32_weight_bytes\":{f32Bytes}}}"));
                return;
            }
            output.WriteLine(Inv($"gemm {kind} {m}x{n}x{k} threads={t}: {gf:F1} GFLOP/s, time vs f32 {seconds / f32:F2}x, weights {bytes / 1048576.0:F2} MiB vs f32 {f32Bytes / 1048576.0:F2} MiB"));
        }
    }

    /// <summary>
    /// Best wall time of each candidate (null ones skipped), runs interleaved so that load from other processes hits all
    /// alike, with a 10 ms pause and an untimed run before each timed run: one warm-up each, then rounds until at least 5 rounds (2 when quick) and 1 s (0.2 s) have passed.
    /// </summary>
    private static double[] Time(bool quick, params Action?[] runs)
    {
        var best = new double[runs.Length];
        Array.Fill(best, double.MaxValue);
        foreach (var run in runs) { run?.Invoke(); }
        var minRounds = quick ? 2 : 5;
        var minTotal = quick ? 0.2 : 1.0;
        var start = Stopwatch.GetTimestamp();
        for (var r = 0; r < minRounds || Stopwatch.GetElapsedTime(start).TotalSeconds < minTotal; r++)
        {
            for (var i = 0; i < runs.Length; i++)
            {
                if (runs[i] is not { } run) { continue; }
                // Let the previous library's idle threads stop spinning (OpenMP spin-waits after a parallel region),
                // so neither library is timed while the other's threads still hold a core; then one untimed run wakes
                // this library's threads (an idle vCPU is slow to wake) before the timed one.
                Thread.Sleep(10);
                run();
                var t0 = Stopwatch.GetTimestamp();
                run();
                best[i] = Math.Min(best[i], Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
        }
        return best;
    }

    /// <summary>
    /// Practical FMA peak with t threads: each thread runs 12 independent FMA chains (enough to cover latency × pipes),
    /// so the figure is throughput-bound, as a GEMM microkernel is.
    /// </summary>
    private static double MeasurePeak(int t)
    {
        var work = new FmaWork { Iterations = 4_000_000 / Vector256<float>.Count, Sink = new float[t] };
        WorkerPool.Current.For(t, ref work); // warm-up
        var best = double.MaxValue;
        for (var r = 0; r < 30; r++)
        {
            var start = Stopwatch.GetTimestamp();
            WorkerPool.Current.For(t, ref work);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        var flopPerThread = 2.0 * 12 * Vector256<float>.Count * work.Iterations;
        return t * flopPerThread / best / 1e9;
    }

    private struct FmaWork : IWorkItem
    {
        public int Iterations;
        public float[] Sink;

        public readonly void Execute(int index, int worker)
        {
            var m = Vector256.Create(0.999999f);
            var d = Vector256.Create(1e-7f);
            var a0 = Vector256.Create(1f + index);
            Vector256<float> a1 = a0 + d, a2 = a1 + d, a3 = a2 + d, a4 = a3 + d, a5 = a4 + d, a6 = a5 + d;
            Vector256<float> a7 = a6 + d, a8 = a7 + d, a9 = a8 + d, a10 = a9 + d, a11 = a10 + d;
            for (var i = 0; i < Iterations; i++)
            {
                a0 = Vector256.FusedMultiplyAdd(a0, m, d);
                a1 = Vector256.FusedMultiplyAdd(a1, m, d);
                a2 = Vector256.FusedMultiplyAdd(a2, m, d);
                a3 = Vector256.FusedMultiplyAdd(a3, m, d);
                a4 = Vector256.FusedMultiplyAdd(a4, m, d);
                a5 = Vector256.FusedMultiplyAdd(a5, m, d);
                a6 = Vector256.FusedMultiplyAdd(a6, m, d);
                a7 = Vector256.FusedMultiplyAdd(a7, m, d);
                a8 = Vector256.FusedMultiplyAdd(a8, m, d);
                a9 = Vector256.FusedMultiplyAdd(a9, m, d);
                a10 = Vector256.FusedMultiplyAdd(a10, m, d);
                a11 = Vector256.FusedMultiplyAdd(a11, m, d);
            }
            var sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
            Sink[index] = Vector256.Sum(sum);
        }
    }

    private static float[] Random(Random rng, int count)
    {
        var x = new float[count];
        for (var i = 0; i < x.Length; i++) { x[i] = (float)(rng.NextDouble() * 2 - 1); }
        return x;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Debian's OpenBLAS through P/Invoke, for comparison only.</summary>
    private static class OpenBlas
    {
        private const int RowMajor = 101;
        private const int NoTrans = 111;
        private const int Trans = 112;

        public static void SetThreads(int threads) => openblas_set_num_threads(threads);

        /// <summary>c (m, n) = a (m, k) · b, b: (k, n), or (n, k) when transposed.</summary>
        public static void Sgemm(int m, int n, int k, float[] a, float[] b, float[] c, bool transposeB)
            => cblas_sgemm(RowMajor, NoTrans, transposeB ? Trans : NoTrans, m, n, k, 1f, a, k, b, transposeB ? k : n, 0f, c, n);

#pragma warning disable SYSLIB1054 // LibraryImport's generated stubs need unsafe code, which only SharpSeek.Tensors may enable.
        [DllImport(OpenBlasLibrary)]
        private static extern void openblas_set_num_threads(int threads);

        [DllImport(OpenBlasLibrary)]
        private static extern void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
            float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc);
#pragma warning restore SYSLIB1054
    }
}
