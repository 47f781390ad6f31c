// AttentionBench.cs: GFLOP/s of the fused causal attention forward and forward+backward at DeepSeek-V3 head sizes,
// per thread count, beside our f32 GEMM's rate at 1024³ measured in the same run (the floor: fwd+bwd ≥ 50% of it).
// FLOPs: forward 2·B·H·pairs·(Dqk + Dv), backward 2.5× forward, unmasked pairs only. Run by `sharpseek bench ops`. Never run in CI.
using System.Diagnostics;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Bench;

public static class AttentionBench
{
    public static int Run(TextWriter output, bool quick, bool json)
    {
        const int Batch = 1, Heads = 8, Dqk = 192, Dv = 128;
        var tokens = quick ? 256 : 1024;
        var reps = quick ? 2 : 5;
        var shape = AttentionShape.SelfCausal(Batch, tokens, Heads, Dqk, Dv);
        var rng = new Random(1);
        float[] Fill(int n)
        {
            var x = new float[n];
            for (var i = 0; i < n; i++) { x[i] = (float)((rng.NextDouble() * 2) - 1); }
            return x;
        }
        var q = Fill(Batch * tokens * Heads * Dqk);
        var k = Fill(Batch * tokens * Heads * Dqk);
        var v = Fill(Batch * tokens * Heads * Dv);
        var dOutput = Fill(Batch * tokens * Heads * Dv);
        var o = new float[dOutput.Length];
        var lse = new float[Batch * Heads * tokens];
        var dq = new float[q.Length];
        var dk = new float[k.Length];
        var dv = new float[v.Length];
        const int GemmSize = 1024;
        var ga = Fill(GemmSize * GemmSize);
        var gb = Fill(GemmSize * GemmSize);
        var gc = new float[GemmSize * GemmSize];
        var forwardFlops = 2.0 * shape.AttendedPairs * (Dqk + Dv);
        var backwardFlops = 2.5 * forwardFlops;

        var previous = WorkerPool.Current.Threads;
        try
        {
            foreach (var threads in new[] { 1, 2 })
            {
                WorkerPool.UseThreads(threads);
                Attention.Forward<float>(q, k, v, shape, o, lse);
                Attention.Backward<float>(dOutput, q, k, v, o, lse, shape, dq, dk, dv);
                double bestForward = double.MaxValue, bestBoth = double.MaxValue;
                for (var rep = 0; rep < reps; rep++)
                {
                    var start = Stopwatch.GetTimestamp();
                    Attention.Forward<float>(q, k, v, shape, o, lse);
                    var mid = Stopwatch.GetTimestamp();
                    Attention.Backward<float>(dOutput, q, k, v, o, lse, shape, dq, dk, dv);
                    var end = Stopwatch.GetTimestamp();
                    bestForward = Math.Min(bestForward, Stopwatch.GetElapsedTime(start, mid).TotalSeconds);
                    bestBoth = Math.Min(bestBoth, Stopwatch.GetElapsedTime(start, end).TotalSeconds);
                }
                Matmul.Gemm<float>(ga, gb, gc, GemmSize, GemmSize, GemmSize);
                var bestGemm = double.MaxValue;
                for (var rep = 0; rep < reps; rep++)
                {
                    var start = Stopwatch.GetTimestamp();
                    Matmul.Gemm<float>(ga, gb, gc, GemmSize, GemmSize, GemmSize);
                    bestGemm = Math.Min(bestGemm, Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
                var forwardRate = forwardFlops / bestForward / 1e9;
                var bothRate = (forwardFlops + backwardFlops) / bestBoth / 1e9;
                var gemmRate = 2.0 * GemmSize * GemmSize * GemmSize / bestGemm / 1e9;
                var ratio = bothRate / gemmRate;
                output.WriteLine(json
                    ? $"{{\"bench\":\"attention\",\"causal\":true,\"B\":{Batch},\"T\":{tokens},\"H\":{Heads},\"dqk\":{Dqk},\"dv\":{Dv},\"threads\":{threads},\"fwd_gflops\":{forwardRate:F2},\"fwd_bwd_gflops\":{bothRate:F2},\"gemm_gflops\":{gemmRate:F2},\"ratio\":{ratio:F3}}}"
                    : $"attention causal B={Batch} T={tokens} H={Heads} dqk={Dqk} dv={Dv} threads={threads}: fwd {forwardRate:F1} GFLOP/s, fwd+bwd {bothRate:F1} GFLOP/s, gemm f32 1024³ {gemmRate:F1} GFLOP/s, ratio {ratio:F2}");
            }
        }
        finally
        {
            WorkerPool.UseThreads(previous);
        }
        return 0;
    }
}
