// Fp8SwiGluOp.cs: the SwiGLU feed-forward y = down(silu(gate(x)) ⊙ up(x)) under DeepSeek-V3's FP8 recipe with its
// low-precision storage (arXiv 2412.19437 §3.3.3): the three Linears run their GEMMs as Fp8LinearOp does, but the op
// keeps for backward only x and the SwiGLU inputs (gate(x), up(x)) as E4M3 codes with a scale per 1×128 tile; the F32
// intermediates live in scratch that the forward gives back, and the backward recomputes the SwiGLU output from the
// dequantized inputs ("the inputs of the SwiGLU operator in MoE are cached in FP8 ... its output recomputed in the
// backward pass"). The forward's value equals the unfused Fp8LinearOp → SwiGluOp → Fp8LinearOp chain bit for bit; the
// backward reads the cached inputs where that chain reads their F32 values. Saved per row: in + 2·inter bytes of codes
// against the chain's 4·(in-sized FP8 copy + 4 inter-sized F32 tensors). Not here: which FFNs use it (the model's Mlp),
// the GEMMs and quantizers (Fp8LinearOp, Fp8Quant). Tested by Fp8SwiGluOpTests.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class Fp8SwiGluOp
{
    private const string Input = "the FP8 SwiGLU's input";
    private const string Hidden = "the FP8 SwiGLU's gate or up output";
    private const string Weight = "the FP8 SwiGLU's weight";

    /// <summary>x: (..., D) F32; gate, up: (I, D); down: (D, I) F32 masters → (..., D) F32.</summary>
    public static Var Apply(Tape tape, Var x, Var gate, Var up, Var down, Fp8Recipe recipe = default)
    {
        var xv = tape.Value(x);
        var (wg, wu, wd) = (tape.Value(gate), tape.Value(up), tape.Value(down));
        if (xv.DType != DType.F32 || wg.DType != DType.F32 || wu.DType != DType.F32 || wd.DType != DType.F32 || xv.Rank < 1 || wg.Rank != 2 || wg.Size(1) != xv.Shape.Last
            || wu.Shape != wg.Shape || wd.Rank != 2 || wd.Size(0) != xv.Shape.Last || wd.Size(1) != wg.Size(0))
        {
            throw new ArgumentException($"fp8 swiglu: expected x (..., D), gate and up (I, D), down (D, I), all F32; got x {xv.DType} {xv.Shape}, gate {wg.DType} {wg.Shape}, up {wu.DType} {wu.Shape}, down {wd.DType} {wd.Shape}");
        }
        var (rows, inter, d) = ((int)xv.Shape.Rows, (int)wg.Size(0), (int)xv.Shape.Last);
        var y = tape.Arena.AllocateUninitialized(DType.F32, xv.Shape);                               // each GEMM writes its whole output
        var (xq, xs) = Fp8LinearOp.Codes(tape, rows, d);
        var codes = tape.Arena.AllocateUninitialized(DType.F8E4M3, new Shape(2, rows, inter));     // gate(x), up(x)
        var scales = tape.Arena.AllocateUninitialized(DType.F32, new Shape(2, rows, Fp8Quant.Tiles(inter)));
        using (tape.Arena.Scope())                                                                 // the F32 intermediates
        {
            var g = tape.Arena.AllocateUninitialized(DType.F32, new Shape(rows, inter));
            var u = tape.Arena.AllocateUninitialized(DType.F32, new Shape(rows, inter));
            Fp8LinearOp.QuantizeInto(xv.AsSpan<float>(), rows, d, recipe.ForInput, xq, xs, Input);
            Fp8LinearOp.Gemm(tape, recipe, (xq, xs), Fp8LinearOp.QuantizeBlocks(tape, wg.AsSpan<float>(), inter, d, recipe, Weight), g.AsSpan<float>(), rows, inter, d);
            Fp8LinearOp.Gemm(tape, recipe, (xq, xs), Fp8LinearOp.QuantizeBlocks(tape, wu.AsSpan<float>(), inter, d, recipe, Weight), u.AsSpan<float>(), rows, inter, d);
            Fp8LinearOp.QuantizeInto(g.AsSpan<float>(), rows, inter, recipe, codes.Slice(0), scales.Slice(0), Hidden);
            Fp8LinearOp.QuantizeInto(u.AsSpan<float>(), rows, inter, recipe, codes.Slice(1), scales.Slice(1), Hidden);
            SwiGlu.Forward<float>(g.AsSpan<float>(), u.AsSpan<float>(), g.AsSpan<float>());         // a = silu(g) ⊙ u, in place
            var a = Fp8LinearOp.Quantize(tape, g.AsSpan<float>(), rows, inter, recipe, Input);
            Fp8LinearOp.Gemm(tape, recipe, a, Fp8LinearOp.QuantizeBlocks(tape, wd.AsSpan<float>(), d, inter, recipe, Weight), y.AsSpan<float>(), rows, d, inter);
        }
        var node = new Node(OpKind.Fp8SwiGlu, default, x, gate, up, down) { Saved0 = xq, Saved1 = xs, Saved2 = codes, Saved3 = scales, I0 = rows, I1 = inter, I2 = d, L0 = recipe.Pack() };
        var record = tape.GradEnabled && (tape.RequiresGrad(x) || tape.RequiresGrad(gate) || tape.RequiresGrad(up) || tape.RequiresGrad(down));
        return Expect.Record(tape, y, node, record);
    }

    internal static void Backward(Tape tape, in Node node)
    {
        var (rows, inter, d, recipe) = (node.I0, node.I1, node.I2, Fp8Recipe.Unpack(node.L0));
        var dy = tape.Grad(node.Out).AsSpan<float>();                                              // (rows, D)
        var (dx, dg, du, dd) = (tape.GradOrDefault(node.A), tape.GradOrDefault(node.B), tape.GradOrDefault(node.C), tape.GradOrDefault(node.D));
        var (codes, scales) = (node.Saved2, node.Saved3);
        using var scratch = tape.Arena.Scope();
        var g = Fp8LinearOp.Dequantized(tape, codes.Slice(0), scales.Slice(0), rows, inter);       // the cached SwiGLU inputs
        var u = Fp8LinearOp.Dequantized(tape, codes.Slice(1), scales.Slice(1), rows, inter);
        var a = tape.Arena.AllocateUninitialized(DType.F32, new Shape(rows, inter));
        SwiGlu.Forward<float>(g.AsSpan<float>(), u.AsSpan<float>(), a.AsSpan<float>());            // recomputed
        var aq = Fp8LinearOp.Quantize(tape, a.AsSpan<float>(), rows, inter, recipe, Input);
        var da = tape.Arena.Allocate(DType.F32, new Shape(rows, inter));                           // zeroed: the Dgrad accumulates
        Fp8LinearOp.Backward(tape, recipe, aq, tape.Value(node.D), dy, da, dd, rows, d, inter);
        var dGate = tape.Arena.AllocateUninitialized(DType.F32, new Shape(rows, inter));
        var dUp = tape.Arena.AllocateUninitialized(DType.F32, new Shape(rows, inter));
        SwiGlu.Backward<float>(da.AsSpan<float>(), g.AsSpan<float>(), u.AsSpan<float>(), dGate.AsSpan<float>(), dUp.AsSpan<float>());
        var inner = recipe with { PowerOfTwoGradient = false };                                     // only the down projection's dY may have crossed in FP8
        Fp8LinearOp.Backward(tape, inner, (node.Saved0, node.Saved1), tape.Value(node.B), dGate.AsSpan<float>(), dx, dg, rows, inter, d);
        Fp8LinearOp.Backward(tape, inner, (node.Saved0, node.Saved1), tape.Value(node.C), dUp.AsSpan<float>(), dx, du, rows, inter, d);
    }
}
