// Fp8AccumulationBench.cs: the accumulation ablation of DeepSeek-V3 (arXiv 2412.19437 §3.3.2; appendix B's "no FP32
// promotion") at the K of our presets and of DeepSeek-V3's own layers: the relative error an FP8 GEMM's sum adds on top
// of the quantized inputs, for exact 128-block sums (promoted to f32, as training's exact recipe), Hopper's ~14-bit
// accumulator promoted every 128 products (DeepGEMM), and the same accumulator never promoted (Fp8Gemm.Reference with
// Fp8Accumulator). Printed by `sharpseek bench gemm`. Not here: the accumulator model itself (Fp8Gemm). Never run in CI.
using System.Globalization;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Bench;

public static class Fp8AccumulationBench
{
    private const int M = 16, N = 16;

    /// <summary>The K values measured: the small preset's expert, hidden and MLP widths, then DeepSeek-V3's hidden size
    /// and its dense MLP width.</summary>
    public static IReadOnlyList<int> Ks { get; } = [96, 256, 768, 7168, 18432];

    /// <summary>One line per K and data kind: the three sums' relative errors against the exact product of the quantized
    /// operands (in double).</summary>
    public static void Run(TextWriter output, bool json)
    {
        ArgumentNullException.ThrowIfNull(output);
        foreach (var positive in new[] { false, true })
        {
            foreach (var k in Ks)
            {
                var (exact, hopper, unpromoted) = Errors(k, positive, seed: k);
                var data = positive ? "positive" : "random-sign";
                output.WriteLine(json
                    ? string.Create(CultureInfo.InvariantCulture, $"{{\"kind\":\"fp8-accumulation\",\"k\":{k},\"data\":\"{data}\",\"exact_promoted\":{exact:E3},\"hopper_promoted\":{hopper:E3},\"hopper_unpromoted\":{unpromoted:E3}}}")
                    : string.Create(CultureInfo.InvariantCulture, $"fp8 accumulation K={k} {data}: relative error exact blocks {exact:0.00E+0}, 14-bit promoted every 128 {hopper:0.00E+0}, 14-bit never promoted {unpromoted:0.00E+0}"));
            }
        }
    }

    /// <summary>‖c − c*‖ / ‖c*‖ for the three sums, c* the double-precision product of the dequantized operands.</summary>
    public static (double Exact, double Hopper, double Unpromoted) Errors(int k, bool positive, int seed)
    {
        var rng = new Random(seed);
        float Draw(double spread) => (float)((positive ? rng.NextDouble() : rng.NextDouble() * 2 - 1) * spread * (rng.Next(16) == 0 ? 8 : 1));
        var x = Enumerable.Range(0, M * k).Select(_ => Draw(1.0)).ToArray();
        var w = Enumerable.Range(0, N * k).Select(_ => Draw(0.05)).ToArray();
        var (xq, xs) = (new Float8E4M3[M * k], new float[M * Fp8Quant.Tiles(k)]);
        Fp8Quant.QuantizeActivations(x, M, k, xq, xs);
        var (wq, blocks) = (new Float8E4M3[N * k], new float[Fp8Quant.Tiles(N) * Fp8Quant.Tiles(k)]);
        Fp8Quant.QuantizeWeightBlocks(w, N, k, wq, blocks);
        var ws = new float[N * Fp8Quant.Tiles(k)];
        Fp8Gemm.RowScales(blocks, N, k, ws);
        var (xd, wd) = (new float[M * k], new float[N * k]);
        Fp8Quant.DequantizeActivations(xq, xs, M, k, xd);
        Fp8Quant.DequantizeActivations(wq, ws, N, k, wd);
        var truth = new double[M * N];
        for (var i = 0; i < M; i++)
        {
            for (var j = 0; j < N; j++)
            {
                double sum = 0;
                for (var p = 0; p < k; p++) { sum += (double)xd[(i * k) + p] * wd[(j * k) + p]; }
                truth[(i * N) + j] = sum;
            }
        }
        double Error(Fp8Accumulator accumulator)
        {
            var c = new float[M * N];
            Fp8Gemm.Reference(xq, xs, wq, ws, c, M, N, k, accumulator);
            double num = 0, den = 0;
            for (var i = 0; i < c.Length; i++) { num += (c[i] - truth[i]) * (c[i] - truth[i]); den += truth[i] * truth[i]; }
            return Math.Sqrt(num / den);
        }
        return (Error(default), Error(Fp8Accumulator.Hopper), Error(Fp8Accumulator.HopperUnpromoted));
    }
}
