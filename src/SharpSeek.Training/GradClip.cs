// GradClip.cs: clipping by the global gradient norm (DeepSeek-V3 technical report §4.2: 1.0). The norm is summed in double, per tensor in a fixed
// order, so it does not depend on the thread count. Not here: the optimizer (AdamW). Tested by GradClipTests.
using System.Numerics;
using SharpSeek.Model;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;

namespace SharpSeek.Training;

/// <summary>Global-norm gradient clipping.</summary>
public static class GradClip
{
    /// <summary>
    /// ‖g‖ = √(Σ over every trainable gradient element of g²); when it exceeds <paramref name="maxNorm"/> every gradient is
    /// multiplied by maxNorm/‖g‖. Returns the norm before clipping. A non-finite norm is returned without scaling (the
    /// caller should skip the step).
    /// </summary>
    public static double ClipGlobalNorm(ModelWeights weights, double maxNorm)
    {
        if (!(maxNorm > 0)) { throw new ArgumentOutOfRangeException(nameof(maxNorm), $"maxNorm must be > 0; got {maxNorm}"); }
        var norm = GlobalNorm(weights);
        if (double.IsFinite(norm) && norm > maxNorm)
        {
            var scale = maxNorm / norm;
            foreach (var p in Trainable(weights))
            {
                if (p.Grad.DType == DType.F64) { Scale<double>(p.Grad.AsSpan<double>(), scale); }
                else { Scale<float>(p.Grad.AsSpan<float>(), scale); }
            }
        }
        return norm;
    }

    /// <summary>√(Σ g²) over every trainable gradient, accumulated in double.</summary>
    public static double GlobalNorm(ModelWeights weights)
    {
        var parameters = Trainable(weights).ToArray();
        var partial = new double[parameters.Length];
        Parallel.For(0, parameters.Length, i =>
        {
            var g = parameters[i].Grad;
            partial[i] = g.DType == DType.F64 ? SumOfSquares<double>(g.AsSpan<double>()) : SumOfSquares<float>(g.AsSpan<float>());
        });
        var total = 0.0;
        foreach (var s in partial) { total += s; }
        return Math.Sqrt(total);
    }

    private static IEnumerable<Parameter> Trainable(ModelWeights weights) => weights.Unique.Where(p => p.Grad.IsValid && AdamW.IsTrainable(p));

    private static double SumOfSquares<T>(ReadOnlySpan<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var s = 0.0;
        foreach (var v in x)
        {
            var d = double.CreateChecked(v);
            s += d * d;
        }
        return s;
    }

    private static void Scale<T>(Span<T> x, double scale) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (var i = 0; i < x.Length; i++) { x[i] = T.CreateChecked(double.CreateChecked(x[i]) * scale); }
    }
}
