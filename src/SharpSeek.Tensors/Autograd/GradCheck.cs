// GradCheck.cs: checks an op's backward against central finite differences in float64. The scalar probed is
// L = Σ y ⊙ r for a fixed random r, so every output element contributes with its own weight.
// Not here: float32 checks (too noisy for differences). Tested by OpGradientTests.
namespace SharpSeek.Tensors.Autograd;

/// <summary>The worst disagreement found for one input.</summary>
public readonly record struct GradError(int Input, long Element, double Analytic, double Numeric, double AbsError, double RelError);

/// <summary>Finite-difference gradient checking on the float64 path.</summary>
public static class GradCheck
{
    /// <summary>
    /// Runs <paramref name="build"/> on float64 <paramref name="inputs"/> and compares the tape's gradient of
    /// L = Σ y ⊙ r (r random, fixed by <paramref name="seed"/>) with central differences (L(x+h) − L(x−h)) / 2h.
    /// Returns the worst element per input, ranked by min(abs, rel) error. <paramref name="differentiable"/> marks which
    /// inputs get gradients (default: all); integer inputs are always constants.
    /// </summary>
    public static GradError[] Run(Func<Tape, Var[], Var> build, Tensor[] inputs, double h = 1e-5, int seed = 1234, bool[]? differentiable = null)
    {
        foreach (var t in inputs)
        {
            if (t.DType is not (DType.F64 or DType.I32 or DType.I64))
            {
                throw new ArgumentException($"GradCheck needs float64 inputs; got {t.DType} {t.Shape}");
            }
        }
        using var arena = new Arena("gradcheck");
        var tape = new Tape(arena);
        bool IsDiff(int i) => inputs[i].DType == DType.F64 && (differentiable is null || differentiable[i]);

        Var[] Record()
        {
            var vars = new Var[inputs.Length];
            for (var i = 0; i < inputs.Length; i++) { vars[i] = IsDiff(i) ? tape.Input(inputs[i]) : tape.Constant(inputs[i]); }
            return vars;
        }

        // The weights r and the analytic gradients.
        var vars0 = Record();
        var out0 = build(tape, vars0);
        var y0 = tape.Value(out0);
        var rng = new Random(seed);
        var r = new double[y0.ElementCount];
        for (var i = 0; i < r.Length; i++) { r[i] = rng.NextDouble() * 2 - 1; }
        var seedGrad = arena.FromSpan<double>(r, y0.Shape.ToArray());
        tape.Backward(out0, seedGrad);
        var analytic = new double[inputs.Length][];
        for (var i = 0; i < inputs.Length; i++)
        {
            analytic[i] = IsDiff(i) ? tape.Grad(vars0[i]).AsSpan<double>().ToArray() : [];
        }

        double Loss()
        {
            tape.Reset();
            var vars = Record();
            var y = tape.Value(build(tape, vars)).AsSpan<double>();
            double l = 0;
            for (var i = 0; i < y.Length; i++) { l += y[i] * r[i]; }
            return l;
        }

        var worst = new List<GradError>();
        for (var i = 0; i < inputs.Length; i++)
        {
            if (!IsDiff(i)) { continue; }
            var x = inputs[i].AsSpan<double>();
            var best = new GradError(i, -1, 0, 0, 0, 0);
            for (var j = 0; j < x.Length; j++)
            {
                var saved = x[j];
                x[j] = saved + h;
                var lp = Loss();
                x = inputs[i].AsSpan<double>();
                x[j] = saved - h;
                var lm = Loss();
                x = inputs[i].AsSpan<double>();
                x[j] = saved;
                var numeric = (lp - lm) / (2 * h);
                var abs = Math.Abs(numeric - analytic[i][j]);
                var rel = abs / Math.Max(Math.Abs(numeric), Math.Abs(analytic[i][j]));
                var score = Math.Min(abs, double.IsNaN(rel) ? 0 : rel);
                if (best.Element < 0 || score > Math.Min(best.AbsError, best.RelError) || double.IsNaN(numeric) || double.IsNaN(analytic[i][j]))
                {
                    best = new GradError(i, j, analytic[i][j], numeric, abs, double.IsNaN(rel) ? 0 : rel);
                }
            }
            worst.Add(best);
        }
        return [.. worst];
    }
}
