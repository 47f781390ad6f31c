// OpsBench.cs: `sharpseek bench ops`: copy bandwidth (buffers far beyond the L3, best of several, 1 and 2 threads), then
// each memory-bound kernel's effective bandwidth (bytes it must read + write / best time) as a share of copy.
// Also the dtype conversions and FP8 quantizers (bytes: f32 read + low-precision written, or the reverse).
// Not here: matmul (compute-bound). Never run in CI.
using System.Diagnostics;
using System.Globalization;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Bench;

public static class OpsBench
{
    private struct CopyWork : IWorkItem
    {
        public float[] Source;
        public float[] Destination;
        public int Chunk;

        public readonly void Execute(int index, int worker)
        {
            var start = index * Chunk;
            var n = Math.Min(Chunk, Source.Length - start);
            Source.AsSpan(start, n).CopyTo(Destination.AsSpan(start, n));
        }
    }

    /// <summary>Runs the benchmark; quick uses 4M-element buffers and fewer repeats (a smoke test, partly cache-resident).</summary>
    public static int Run(TextWriter output, bool quick, bool json)
    {
        var n = quick ? 1 << 22 : 1 << 24; // floats per buffer: 16 MiB or 64 MiB
        var reps = quick ? 2 : 5;
        var random = new Random(1);
        var buffers = new float[6][];
        for (var b = 0; b < buffers.Length; b++)
        {
            buffers[b] = GC.AllocateUninitializedArray<float>(n);
            for (var i = 0; i < n; i++) { buffers[b][i] = (float)(random.NextDouble() * 4 - 2); }
        }
        float[] a = buffers[0], b1 = buffers[1], c = buffers[2], d = buffers[3], e = buffers[4], f = buffers[5];
        var bf16 = new BFloat16[n];
        var fp8 = new Float8E4M3[n];
        var results = new List<string>();
        var before = WorkerPool.Current.Threads;
        try
        {
            foreach (var threads in new[] { 1, 2 })
            {
                WorkerPool.UseThreads(threads);
                var copy = CopyBandwidth(a, b1, reps);
                Report(output, json, results, "copy", $"({n})", threads, copy, copy);

                void Op(string name, string shape, long bytes, Action action)
                    => Report(output, json, results, name, shape, threads, bytes / Best(reps, action) / 1e9, copy);

                const long F = sizeof(float);
                Op("add", $"({n})", 3 * F * n, () => Elementwise.Add<float>(a, b1, c));
                Op("mul", $"({n})", 3 * F * n, () => Elementwise.Mul<float>(a, b1, c));
                Op("silu", $"({n})", 2 * F * n, () => Elementwise.Silu<float>(a, c));
                int cols = 4096, rows = n / cols;
                Op("softmax", $"({rows}, {cols})", 2 * F * n, () => Softmax.Forward<float>(a, rows, cols, c));
                int dim = 7168, tokens = n / dim, used = tokens * dim;
                var w = b1.AsMemory(0, dim);
                var rstd = new float[tokens];
                var dw = new float[dim];
                Op("rmsnorm_fwd", $"({tokens}, {dim})", 2 * F * used, () => RmsNorm.Forward<float>(a.AsSpan(0, used), w.Span, 1e-6f, c.AsSpan(0, used), rstd));
                Op("rmsnorm_bwd", $"({tokens}, {dim})", 3 * F * used,
                    () => RmsNorm.Backward<float>(d.AsSpan(0, used), a.AsSpan(0, used), w.Span, rstd, c.AsSpan(0, used), dw));
                int heads = 128, ropeDim = 64, ropeTokens = n / (heads * ropeDim);
                var cos = new float[ropeTokens * ropeDim / 2];
                var sin = new float[cos.Length];
                var invFreq = new float[ropeDim / 2];
                Rope.InverseFrequencies<float>(ropeDim, 10000, invFreq);
                Rope.Tables<float>(invFreq, ropeTokens, cos, sin);
                Op("rope", $"({ropeTokens}, {heads}, {ropeDim})", 2 * F * n, () => Rope.Forward<float>(a, cos, sin, 0, heads, ropeDim, c));
                Op("swiglu_fwd", $"({n})", 3 * F * n, () => SwiGlu.Forward<float>(a, b1, c));
                Op("swiglu_bwd", $"({n})", 5 * F * n, () => SwiGlu.Backward<float>(d, a, b1, c, e));
                int vocab = 129280, ceRows = n / vocab, ceUsed = ceRows * vocab;
                var targets = Enumerable.Range(0, ceRows).Select(i => i * 7919 % vocab).ToArray();
                float[] losses = new float[ceRows], stats = new float[2 * ceRows];
                Op("xent_fwd", $"({ceRows}, {vocab})", F * ceUsed, () => CrossEntropy.Forward<float>(a.AsSpan(0, ceUsed), targets, vocab, -100, losses, stats));
                Op("xent_bwd", $"({ceRows}, {vocab})", 2 * F * ceUsed,
                    () => CrossEntropy.Backward(1f, a.AsSpan(0, ceUsed), targets, stats, vocab, -100, c.AsSpan(0, ceUsed)));
                int embDim = 1024, embVocab = n / embDim, embTokens = embVocab / 2;
                var ids = Enumerable.Range(0, embTokens).Select(i => (int)((long)i * 40503 % embVocab)).ToArray();
                Op("embedding_gather", $"({embTokens}, {embDim}) of ({embVocab}, {embDim})", 2 * F * embTokens * embDim,
                    () => Embedding.Forward<float>(a, ids, embDim, c.AsSpan(0, embTokens * embDim)));
                var weights = new float[embTokens];
                Array.Fill(weights, 0.5f);
                Op("scatter_add", $"({embTokens}, {embDim}) into ({embVocab}, {embDim})", 3 * F * embTokens * embDim,
                    () => ScatterAddRows.Forward<float>(c.AsSpan(0, embTokens * embDim), ids, weights, embDim, f));
                Op("to_bf16", $"({n})", 6L * n, () => DTypeConvert.ToBFloat16(a, bf16));
                Op("from_bf16", $"({n})", 6L * n, () => DTypeConvert.ToSingle(bf16, c));
                Op("to_e4m3", $"({n})", 5L * n, () => DTypeConvert.ToFloat8E4M3(a, fp8));
                Op("from_e4m3", $"({n})", 5L * n, () => DTypeConvert.ToSingle(fp8, c));
                int qCols = 7168, qRows = n / qCols, qUsed = qRows * qCols;
                var actScales = new float[qRows * Fp8Quant.Tiles(qCols)];
                var blockScales = new float[Fp8Quant.Tiles(qRows) * Fp8Quant.Tiles(qCols)];
                Op("fp8_quant_1x128", $"({qRows}, {qCols})", 5L * qUsed, () => Fp8Quant.QuantizeActivations(a.AsSpan(0, qUsed), qRows, qCols, fp8.AsSpan(0, qUsed), actScales));
                Op("fp8_quant_128x128", $"({qRows}, {qCols})", 5L * qUsed, () => Fp8Quant.QuantizeWeightBlocks(a.AsSpan(0, qUsed), qRows, qCols, fp8.AsSpan(0, qUsed), blockScales));
            }
        }
        finally
        {
            WorkerPool.UseThreads(before);
        }
        if (json) { output.WriteLine("[" + string.Join(",\n ", results) + "]"); }
        return 0;
    }

    /// <summary>Copy bandwidth in GB/s (bytes read + written over the best of <paramref name="reps"/> copies of
    /// <paramref name="source"/> into <paramref name="destination"/>) on the current worker pool.</summary>
    public static double CopyBandwidth(float[] source, float[] destination, int reps)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Length < source.Length) { throw new ArgumentException($"the destination holds {destination.Length} floats; the source has {source.Length}", nameof(destination)); }
        var work = new CopyWork { Source = source, Destination = destination, Chunk = 1 << 18 };
        var seconds = Best(reps, () => WorkerPool.Current.For((source.Length + work.Chunk - 1) / work.Chunk, ref work));
        return 2.0 * source.Length * sizeof(float) / seconds / 1e9;
    }

    private static double Best(int reps, Action action)
    {
        // Warm-up: first touch of the pages, and enough calls (or time) for tiered JIT to promote the kernels to tier 1.
        var warm = Stopwatch.StartNew();
        for (var i = 0; i < 40 && warm.Elapsed.TotalSeconds < 2; i++) { action(); }
        Thread.Sleep(100); // let the background tier-1 compile land
        action();
        var best = double.MaxValue;
        for (var r = 0; r < reps; r++)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return best;
    }

    private static void Report(TextWriter output, bool json, List<string> results, string name, string shape, int threads, double gbps, double copy)
    {
        var percent = 100 * gbps / copy;
        if (json)
        {
            results.Add(string.Create(CultureInfo.InvariantCulture,
                $"{{\"op\": \"{name}\", \"shape\": \"{shape}\", \"threads\": {threads}, \"gbps\": {gbps:F2}, \"copy_gbps\": {copy:F2}, \"percent_of_copy\": {percent:F1}}}"));
            return;
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"op {name} {shape} threads={threads}: {gbps:F1} GB/s, copy {copy:F1} GB/s, {percent:F0}% of copy"));
    }
}
