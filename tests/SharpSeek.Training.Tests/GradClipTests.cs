// GradClipTests.cs: the global norm equals a direct double sum, clipping scales it exactly to maxNorm, a norm under the
// limit leaves the gradients bit for bit, and the result does not depend on the thread count.
using SharpSeek.Model;
using SharpSeek.Tensors;

namespace SharpSeek.Training.Tests;

public sealed class GradClipTests
{
    private static ModelWeights WithRandomGradients(DType dtype, int seed)
    {
        var w = new ModelWeights(Repo.Tiny(), dtype, withGradients: true);
        var rng = new Random(seed);
        foreach (var p in w.Unique.Where(AdamW.IsTrainable))
        {
            var n = (int)p.Grad.ElementCount;
            for (var i = 0; i < n; i++)
            {
                var v = (rng.NextDouble() * 2) - 1;
                if (dtype == DType.F64) { p.Grad.AsSpan<double>()[i] = v; } else { p.Grad.AsSpan<float>()[i] = (float)v; }
            }
        }
        return w;
    }

    private static double DirectNorm(ModelWeights w) =>
        Math.Sqrt(w.Unique.Where(AdamW.IsTrainable).Sum(p => p.Grad.DType == DType.F64
            ? p.Grad.AsSpan<double>().ToArray().Sum(v => v * v)
            : p.Grad.AsSpan<float>().ToArray().Sum(v => (double)v * v)));

    [Theory]
    [InlineData(DType.F64, 1e-13)]
    [InlineData(DType.F32, 1e-7)]
    public void Clip_ReturnsTheNormBefore_AndScalesExactlyToMaxNorm(DType dtype, double tolerance)
    {
        using var w = WithRandomGradients(dtype, 1);
        var direct = DirectNorm(w);
        Assert.True(direct > 1);
        var before = GradClip.ClipGlobalNorm(w, 1.0);
        Assert.Equal(direct, before, direct * 1e-12);
        Assert.Equal(1.0, GradClip.GlobalNorm(w), tolerance);
    }

    [Fact]
    public void NormUnderTheLimit_LeavesGradientsUntouched()
    {
        using var w = WithRandomGradients(DType.F32, 2);
        var grads = w.Unique.Select(p => p.Grad.AsSpan<float>().ToArray()).ToList();
        var norm = GradClip.ClipGlobalNorm(w, 1e6);
        Assert.True(norm < 1e6);
        Assert.Equal(grads, w.Unique.Select(p => p.Grad.AsSpan<float>().ToArray()).ToList());
        Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ClipGlobalNorm(w, 0));
    }

    [Fact]
    public void Norm_IsTheFixedOrderSumOfPerTensorSums_BitForBit()
    {
        // Each tensor is summed on its own and the partial sums are added in parameter order, so the thread that computes
        // a partial cannot change the result.
        using var w = WithRandomGradients(DType.F32, 3);
        var total = 0.0;
        foreach (var p in w.Unique.Where(AdamW.IsTrainable))
        {
            var partial = 0.0;
            foreach (var v in p.Grad.AsSpan<float>()) { partial += (double)v * v; }
            total += partial;
        }
        Assert.Equal(BitConverter.DoubleToInt64Bits(Math.Sqrt(total)), BitConverter.DoubleToInt64Bits(GradClip.GlobalNorm(w)));
    }
}
