// LinearPrecisionTests.cs: ModelWeights.UsePrecision on the tiny DeepSeek model: it sets attention, MLP, expert and MTP
// projections and leaves the head in F32; a training step's loss and gradients in BF16 and FP8 stay close to F32's (the
// same routing replayed), FP8 further than BF16, and neither equals F32 (the rounding happened); the fp8-dispatch recipe
// marks the routed experts' Linears and moves the step by FP8's measure.
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Tests;

public sealed class LinearPrecisionTests
{
    private const int B = 2, T = 16;

    private static (double Loss, double[] Grads) Step(ModelWeights weights, Transformer model, Arena arena, int[] ids, int[] targets, ForwardResult routing, bool record)
    {
        var tape = new Tape(arena);
        weights.ZeroGradients();
        var result = model.Forward(tape, arena.FromSpan<int>(ids, B, T), record ? routing : new ForwardResult(), replay: record ? null : routing, mtp: false);
        var loss = CrossEntropyOp.Apply(tape, result.Logits, arena.FromSpan<int>(targets, targets.Length));
        tape.Backward(loss);
        var grads = weights.Unique.Where(p => p.Grad.IsValid).SelectMany(p => p.Grad.AsSpan<float>().ToArray()).Select(v => (double)v).ToArray();
        return (tape.Value(loss).AsSpan<float>()[0], grads);
    }

    private static double Cosine(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum() / Math.Sqrt(a.Sum(x => x * x) * b.Sum(y => y * y));

    [Fact]
    public void LowPrecisionSteps_StayCloseToF32_AndTheHeadStaysF32()
    {
        var c = TinyModel.Config();
        using var weights = new ModelWeights(c, DType.F32, withGradients: true);
        weights.InitializeRandom(seed: 21, std: 0.05);
        using var model = new Transformer(weights);
        using var arena = new Arena("step");                                                  // holds the recorded routing
        using var replayArena = new Arena("replay");
        var ids = TinyModel.Tokens(B * T, c.VocabSize, seed: 22);
        var targets = TinyModel.Tokens(B * T, c.VocabSize, seed: 23);
        var routing = new ForwardResult();
        var f32 = Step(weights, model, arena, ids, targets, routing, record: true);

        weights.UsePrecision(LinearPrecision.Bf16);
        var bf16 = Step(weights, model, replayArena, ids, targets, routing, record: false);
        replayArena.Reset();
        weights.UsePrecision(LinearPrecision.Fp8);
        Assert.Equal(LinearPrecision.Fp8, weights.Layers[0].Mla().WqA!.Precision);
        Assert.Equal(LinearPrecision.Fp8, weights.Layers[2].Moe!.Experts[0].Down.Precision);
        Assert.Equal(LinearPrecision.Fp8, weights.Mtp[0].EhProj.Precision);
        Assert.Equal(LinearPrecision.Fp32, weights.Head.Precision);
        Assert.All(weights.Layers.Concat(weights.Mtp.Select(m => m.Block)), b => Assert.True(b.Recompute && (b.Moe?.Recompute ?? true))); // FP8's recomputed regions
        var fp8 = Step(weights, model, replayArena, ids, targets, routing, record: false);

        var (bf16Loss, fp8Loss) = (Math.Abs(bf16.Loss / f32.Loss - 1), Math.Abs(fp8.Loss / f32.Loss - 1));
        var (bf16Cos, fp8Cos) = (Cosine(bf16.Grads, f32.Grads), Cosine(fp8.Grads, f32.Grads));
        // Measured: loss 4.7e-5 (BF16) and 7.6e-4 (FP8) from F32's, gradient cosine 0.99998 and 0.9969. The paper's FP8
        // loss stays within 0.25% of BF16's over a whole run.
        Assert.InRange(bf16Loss, 1e-9, 2.5e-4);
        Assert.InRange(fp8Loss, bf16Loss, 2.5e-3);
        Assert.InRange(1 - bf16Cos, 1e-9, 1e-4);
        Assert.InRange(1 - fp8Cos, 1 - bf16Cos, 1e-2);

        replayArena.Reset();
        weights.UsePrecision(LinearPrecision.Fp8, new Tensors.Ops.Fp8Recipe(KeepActivations: true));
        Assert.All(weights.Layers, b => Assert.False(b.Recompute || (b.Moe?.Recompute ?? false)));
        var kept = Step(weights, model, replayArena, ids, targets, routing, record: false);
        Assert.Equal(fp8.Loss, kept.Loss);                                                        // recomputing changes nothing computed
        Assert.Equal(fp8.Grads, kept.Grads);
        foreach (var recipe in new[] { "fp8-dispatch", "fp8-dispatch,swiglu-cache" })
        {
            // The routed rows and the down projections' dY cross in FP8: the routed experts' gate/up quantize their
            // input, and their down its dY, on power-of-two grids; the shared experts do not; the step moves a little.
            replayArena.Reset();
            weights.UsePrecision(LinearPrecision.Fp8, Tensors.Ops.Fp8Recipe.Parse(recipe));
            var moe = weights.Layers[2].Moe!;
            Assert.True(moe.Fp8Dispatch && moe.Experts.All(x => x.Gate.Fp8Recipe.PowerOfTwoInput && x.Up.Fp8Recipe.PowerOfTwoInput && x.Down.Fp8Recipe.PowerOfTwoGradient));
            Assert.False(moe.Shared!.Gate.Fp8Recipe.PowerOfTwoInput || moe.Experts[0].Down.Fp8Recipe.PowerOfTwoInput || moe.Experts[0].Gate.Fp8Recipe.PowerOfTwoGradient);
            var dispatched = Step(weights, model, replayArena, ids, targets, routing, record: false);
            Assert.NotEqual(fp8.Loss, dispatched.Loss);
            Assert.InRange(Math.Abs(dispatched.Loss / f32.Loss - 1), 1e-9, 2.5e-3);
            Assert.InRange(1 - Cosine(dispatched.Grads, f32.Grads), 1e-9, 1e-2);
        }
        weights.UsePrecision(LinearPrecision.Fp8, Tensors.Ops.Fp8Recipe.Parse("o-proj-e5m6"));
        Assert.All(weights.Layers, b => Assert.True(b.Mla().Wo.CacheE5M6 && !b.Mla().WqA!.CacheE5M6));
        weights.UsePrecision(LinearPrecision.Fp32);
        Assert.All(weights.Layers, b => Assert.False(b.Recompute || (b.Moe?.Recompute ?? false) || (b.Moe?.Fp8Dispatch ?? false) || b.Mla().Wo.CacheE5M6));
    }
}
