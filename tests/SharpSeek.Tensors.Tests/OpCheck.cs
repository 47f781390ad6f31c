// OpCheck.cs: one helper tests an op's forward and backward: the float32 forward against a double-precision
// reference on random inputs, then the float64 backward against central finite differences (GradCheck).
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Tensors.Tests;

internal static class OpCheck
{
    /// <summary>
    /// <paramref name="op"/> builds the output from input vars; <paramref name="reference"/> computes the same output in
    /// double from the flattened inputs. Inputs are uniform in [-1, 1) (seeded); <paramref name="makeInput"/> may override one.
    /// </summary>
    public static void Run(
        long[][] shapes,
        Func<Tape, Var[], Var> op,
        Func<double[][], double[]> reference,
        double atol,
        double gradAtol,
        int seed = 7,
        Func<int, Random, double>? makeInput = null)
    {
        var rng = new Random(seed);
        var values = new double[shapes.Length][];
        for (var i = 0; i < shapes.Length; i++)
        {
            var n = shapes[i].Aggregate(1L, (a, b) => a * b);
            values[i] = new double[n];
            for (var j = 0; j < n; j++) { values[i][j] = makeInput?.Invoke(i, rng) ?? (rng.NextDouble() * 2 - 1); }
        }

        // Forward in float32 against the reference evaluated on the same float32-rounded inputs.
        using (var arena = new Arena("opcheck-f32"))
        {
            var tape = new Tape(arena) { GradEnabled = false };
            var rounded = values.Select(v => v.Select(x => (double)(float)x).ToArray()).ToArray();
            var vars = new Var[shapes.Length];
            for (var i = 0; i < shapes.Length; i++)
            {
                vars[i] = tape.Constant(arena.FromSpan<float>(rounded[i].Select(x => (float)x).ToArray(), shapes[i]));
            }
            var got = tape.Value(op(tape, vars)).AsSpan<float>().ToArray();
            var want = reference(rounded);
            Assert.Equal(want.Length, got.Length);
            for (var j = 0; j < want.Length; j++)
            {
                var tol = atol * Math.Max(1, Math.Abs(want[j]));
                if (!(Math.Abs(got[j] - want[j]) <= tol))
                {
                    Assert.Fail($"forward element {j}: got {got[j]}, want {want[j]} (tolerance {tol})");
                }
            }
        }

        // Backward in float64 against finite differences.
        using (var arena = new Arena("opcheck-f64"))
        {
            var inputs = new Tensor[shapes.Length];
            for (var i = 0; i < shapes.Length; i++) { inputs[i] = arena.FromSpan<double>(values[i], shapes[i]); }
            foreach (var e in GradCheck.Run(op, inputs))
            {
                if (!(Math.Min(e.AbsError, e.RelError) <= gradAtol))
                {
                    Assert.Fail($"gradient of input {e.Input} element {e.Element}: analytic {e.Analytic}, numeric {e.Numeric} (abs {e.AbsError:g3}, rel {e.RelError:g3}, tolerance {gradAtol})");
                }
            }
        }
    }
}
