// Linear.cs: y = x·Wᵀ (+ b) with W in the checkpoint's (out, in) layout. A Linear owns one weight and its optional bias
// (Qwen2's q/k/v projections, Llama's attention_bias and mlp_bias); DeepSeek-V3 has no bias anywhere (technical report
// §2; `deepseek-ai/DeepSeek-V3:inference/model.py`, Linear with bias=False). The weight is the F32 master Parameter (what
// training differentiates and the optimizer steps) plus its inference view (a Projection): by default the master read in
// place, so generation sees an optimizer step at once; a BF16 or FP8 view is converted from the master when asked
// (UseFormat) and stays as it was until asked again. A model loaded inference-only from BF16 files has no master: its
// weight is the file's BF16 tensor, read in place, and its only view is BF16 (ModelWeights.MapBF16). Forward runs the
// master on the tape, its three GEMMs in F32, BF16 or DeepSeek-V3's FP8 (Precision: FP8 is a property of the Linear);
// Infer and Apply run the view with gradients off. Not here: which format or precision a model asks for
// (ModelWeights.UseFormat, UsePrecision). Tested through MlaTests, DenseFamilyTests, TransformerTests, InferenceWeightsTests,
// DenseRunnerTests and MappedWeightsTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public sealed class Linear
{
    private Projection? _view;

    /// <summary>The weight (out, in).</summary>
    public required Parameter Weight { get; init; }

    /// <summary>The bias (out), or null.</summary>
    public Parameter? Bias { get; init; }

    /// <summary>The weight as inference reads it: the F32 master in place unless <see cref="UseFormat"/> or
    /// <see cref="UseFp8"/> built another view.</summary>
    public Projection View => _view ??= Projection.Over(Weight.Value);

    /// <summary>Builds <see cref="View"/> in <paramref name="format"/> from the master as it is now: F32 reads it in place
    /// (later changes are seen at once); BF16 and FP8 are converted now, so after an optimizer step call this again.
    /// <paramref name="widen"/> also keeps a low-precision view widened to f32 (<see cref="Projection.Widened"/>).</summary>
    public Projection UseFormat(WeightFormat format, bool widen = false)
    {
        var w = Weight.Value;
        if (w.DType == DType.BF16)
        {
            return _view = format == WeightFormat.BF16 ? Projection.Over(w, widen) : throw ModelWeights.NoMasters($"a {format} view of '{Weight.Name}'");
        }
        return _view = format == WeightFormat.F32 ? Projection.Over(w) : Projection.From(w.AsSpan<float>(), (int)w.Size(0), (int)w.Size(1), format, widen);
    }

    /// <summary>Takes FP8 codes and block scales as a checkpoint stored them for <see cref="View"/>, bit for bit.</summary>
    public Projection UseFp8(Float8E4M3[] codes, float[] scaleInv, bool widen = false) =>
        _view = Projection.FromFp8(codes, scaleInv, (int)Weight.Value.Size(0), (int)Weight.Value.Size(1), widen);

    /// <summary>The inputs of this Linear's training GEMMs (<see cref="Forward"/>): F32 unless
    /// <see cref="ModelWeights.UsePrecision"/> chose BF16 or FP8. Inference (<see cref="Infer"/>, <see cref="Apply(ReadOnlySpan{float}, Span{float}, int, bool)"/>) reads <see cref="View"/> whatever this is.</summary>
    public LinearPrecision Precision { get; set; }

    /// <summary>The FP8 GEMMs' recipe when <see cref="Precision"/> is FP8 (the paper's by default).</summary>
    public Fp8Recipe Fp8Recipe { get; set; }

    /// <summary>Under FP8, keep the input for backward in E5M6 (the attention output projection with the recipe's
    /// o-proj-e5m6; ModelWeights.UsePrecision).</summary>
    public bool CacheE5M6 { get; set; }

    /// <summary>x: (..., in) → (..., out), the master on the tape, its GEMMs in <see cref="Precision"/>.</summary>
    public Var Forward(Tape tape, Var x)
    {
        if (Weight.Value.DType == DType.BF16) { throw ModelWeights.NoMasters($"the forward on the tape through '{Weight.Name}'"); }
        if (Precision == LinearPrecision.Fp32 || tape.Value(x).DType != DType.F32) { return Apply(tape, x, Weight, Bias); }   // F64: the gradient checks' reference path
        var y = Precision == LinearPrecision.Fp8 ? Fp8LinearOp.Apply(tape, x, Weight.Bind(tape), Fp8Recipe, CacheE5M6) : Bf16LinearOp.Apply(tape, x, Weight.Bind(tape));
        return Bias is null ? y : BiasAddOp.Apply(tape, y, Bias.Bind(tape));
    }

    /// <summary>x: (..., in) → (..., out) through <see cref="View"/>, gradients off (a cached inference step).</summary>
    public Var Infer(Tape tape, Var x)
    {
        if (tape.GradEnabled) { throw new InvalidOperationException("Infer reads the inference view and computes no gradients; set tape.GradEnabled = false"); }
        var xv = tape.Value(x);
        Span<long> dims = stackalloc long[xv.Rank];
        for (var i = 0; i < dims.Length - 1; i++) { dims[i] = xv.Size(i); }
        dims[^1] = View.Rows;
        var y = tape.Arena.Allocate(DType.F32, new Shape(dims));
        Apply(xv.AsSpan<float>(), y.AsSpan<float>(), (int)xv.Shape.Rows);
        return tape.Constant(y);
    }

    /// <summary>y (rows, out) [+]= x (rows, in)·Wᵀ (+ b) through <see cref="View"/>.</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> y, int rows, bool accumulate = false)
    {
        var view = View;
        view.Apply(x, y, rows, accumulate);
        if (Bias is null) { return; }
        var b = Bias.Value.AsSpan<float>();
        for (var r = 0; r < rows; r++) { Elementwise.Add<float>(y.Slice(r * view.Rows, view.Rows), b, y.Slice(r * view.Rows, view.Rows)); }
    }

    /// <summary>x: (..., in), weight: (out, in), bias: (out) or null → (..., out).</summary>
    public static Var Apply(Tape tape, Var x, Parameter weight, Parameter? bias = null)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var y = MatmulOp.Apply(tape, x, weight.Bind(tape), transposeB: true);
        return bias is null ? y : BiasAddOp.Apply(tape, y, bias.Bind(tape));
    }
}
