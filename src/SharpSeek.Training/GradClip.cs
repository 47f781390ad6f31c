// GradClip.cs: clipping by the global gradient norm (DeepSeek-V3 technical report §4.2: 1.0). The norm is summed in double, per tensor in a fixed
// order, so it does not depend on the thread count; the tensors' sums run on the worker pool with no allocation. Not here:
// the optimizer (AdamW). Tested by GradClipTests and DeepSeekTrainingStepAllocationTests.
using System.Buffers;
using System.Numerics;
using SharpSeek.Model;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Kernels;

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
            var parameters = weights.Unique;
            for (var i = 0; i < parameters.Count; i++) // indexed, no enumerator: a step allocates nothing
            {
                var p = parameters[i];
                if (!IsTrainable(p)) { continue; }
                if (p.Grad.DType == DType.F64) { Scale<double>(p.Grad.AsSpan<double>(), scale); }
                else { Scale<float>(p.Grad.AsSpan<float>(), scale); }
            }
        }
        return norm;
    }

    /// <summary>√(Σ g²) over every trainable gradient, accumulated in double.</summary>
    public static double GlobalNorm(ModelWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var parameters = weights.Unique;
        var partial = ArrayPool<double>.Shared.Rent(parameters.Count); // after the first step, rented without allocating
        try
        {
            var work = new SumOfSquaresWork { Parameters = parameters, Partial = partial };
            WorkerPool.Current.For(parameters.Count, ref work);
            var total = 0.0;
            for (var i = 0; i < parameters.Count; i++) { total += partial[i]; } // a fixed order; + 0 for the rest is exact
            return Math.Sqrt(total);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(partial);
        }
    }

    private static bool IsTrainable(Parameter p) => p.Grad.IsValid && AdamW.IsTrainable(p);

    // Partial[i] = Σ g² of parameter i in double (0 when it is not trainable): one tensor per work item, summed serially.
    private struct SumOfSquaresWork : IWorkItem
    {
        public IReadOnlyList<Parameter> Parameters;
        public double[] Partial;

        public readonly void Execute(int index, int worker)
        {
            var p = Parameters[index];
            var g = p.Grad;
            Partial[index] = !IsTrainable(p) ? 0
                : g.DType == DType.F64 ? SumOfSquares<double>(g.AsSpan<double>()) : SumOfSquares<float>(g.AsSpan<float>());
        }
    }

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
