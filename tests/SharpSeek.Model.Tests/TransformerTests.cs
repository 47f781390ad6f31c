// TransformerTests.cs: the tiny model's forward (shapes, finite logits, both q paths, YaRN on, the routing it returns),
// replaying an earlier forward's routing, causality of the logits and MTP logits, and the whole float64 model's gradient
// against central finite differences with MoE routing held fixed.
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Tests;

public sealed class TransformerTests
{
    private const int B = 2, T = 7;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Forward_GivesFiniteLogitsOfTheRightShapes(bool qLora)
    {
        var c = TinyModel.Config(qLora);
        Assert.True(c.UsesYarn);
        using var weights = new ModelWeights(c);
        weights.InitializeRandom(seed: 1);
        using var model = new Transformer(weights);
        using var arena = new Arena("step");
        var tape = new Tape(arena) { GradEnabled = false };
        var result = model.Forward(tape, Tokens(arena, seed: 2), new ForwardResult());
        var (logits, mtp) = (result.Logits, result.MtpLogits[0]);
        Assert.Equal(new Shape(B, T, c.VocabSize), tape.Value(logits).Shape);
        Assert.Equal(new Shape(B, T - 1, c.VocabSize), tape.Value(mtp).Shape);
        Assert.All(tape.Value(logits).AsSpan<float>().ToArray(), v => Assert.True(float.IsFinite(v)));
        Assert.All(tape.Value(mtp).AsSpan<float>().ToArray(), v => Assert.True(float.IsFinite(v)));
        Assert.Contains(tape.Value(logits).AsSpan<float>().ToArray(), v => v != 0);
        var loads = result.Routing.ToArray();
        Assert.Equal([1, 2, 3], loads.Select(l => l.Layer)); // two MoE layers and the MTP block
        Assert.Equal(B * (T - 1) * c.ExpertsPerToken, loads[2].Load.AsSpan<int>().ToArray().Sum());

        // Without the MTP depths: the same main logits, no MTP logits, no routing of the MTP block.
        var main = tape.Value(logits).AsSpan<float>().ToArray();
        var headOnly = model.Forward(tape, Tokens(arena, seed: 2), new ForwardResult(), mtp: false);
        Assert.Equal(main, tape.Value(headOnly.Logits).AsSpan<float>().ToArray());
        Assert.Equal(0, headOnly.MtpLogits.Length);
        Assert.Equal([1, 2], headOnly.Routing.ToArray().Select(l => l.Layer));
    }

    [Fact]
    public void Replay_SendsEachTokenToTheExpertsItWasSentToBefore()
    {
        var c = TinyModel.Config();
        using var weights = new ModelWeights(c);
        weights.InitializeRandom(seed: 1);
        using var model = new Transformer(weights);
        using var first = new Arena("first");
        using var second = new Arena("second");
        var tokens = TinyModel.Tokens(B * T, c.VocabSize, seed: 2);
        var before = model.Forward(new Tape(first) { GradEnabled = false }, first.FromSpan<int>(tokens, B, T), new ForwardResult());
        weights.Layers[1].Moe!.Gate.CorrectionBias!.Value.AsSpan<float>()[5] = 10f; // steers the choice, not the weights

        int[] Experts(ForwardResult r) => r.RoutingOf(1).Experts.AsSpan<int>().ToArray();
        var tape = new Tape(second) { GradEnabled = false };
        var replayed = model.Forward(tape, second.FromSpan<int>(tokens, B, T), new ForwardResult(), replay: before);
        Assert.Equal(Experts(before), Experts(replayed));
        Assert.Equal(before.Tape.Value(before.Logits).AsSpan<float>().ToArray(), tape.Value(replayed.Logits).AsSpan<float>().ToArray());
        var chosen = model.Forward(tape, second.FromSpan<int>(tokens, B, T), new ForwardResult());
        Assert.NotEqual(Experts(before), Experts(chosen));
        Assert.All(Experts(chosen).Where((_, i) => i % c.ExpertsPerToken == 0), e => Assert.Equal(5, e));
    }

    [Fact]
    public void Logits_AtPositionT_DoNotDependOnLaterTokens()
    {
        // float64, so that a different expert row count (another GEMM blocking) cannot hide a leak behind rounding
        var c = TinyModel.Config();
        using var weights = new ModelWeights(c, DType.F64);
        weights.InitializeRandom(seed: 4, std: 0.3);
        using var model = new Transformer(weights);
        using var arena = new Arena("step");
        var tape = new Tape(arena) { GradEnabled = false };
        var ids = TinyModel.Tokens(B * T, c.VocabSize, seed: 6);
        const int Cut = 3;
        var (l1, m1) = Run(model, tape, arena, ids);
        for (var b = 0; b < B; b++)
        {
            for (var t = Cut + 1; t < T; t++) { ids[b * T + t] = (ids[b * T + t] + 17) % c.VocabSize; }
        }
        var (l2, m2) = Run(model, tape, arena, ids);
        int v = c.VocabSize;
        for (var b = 0; b < B; b++)
        {
            for (var t = 0; t < T; t++)
            {
                var diff = Enumerable.Range(0, v).Max(j => Math.Abs(l1[(b * T + t) * v + j] - l2[(b * T + t) * v + j]));
                if (t <= Cut) { Assert.True(diff <= 1e-12, $"batch {b} position {t} changed by {diff}"); } else { Assert.True(diff > 1e-3, $"position {t} ignored its own token"); }
            }
            for (var i = 0; i < T - 1; i++)
            {
                // MTP row i sees tokens up to i + 1
                var diff = Enumerable.Range(0, v).Max(j => Math.Abs(m1[(b * (T - 1) + i) * v + j] - m2[(b * (T - 1) + i) * v + j]));
                if (i + 1 <= Cut) { Assert.True(diff <= 1e-12, $"MTP batch {b} row {i} changed by {diff}"); } else { Assert.True(diff > 1e-3, $"MTP row {i} ignored token {i + 1}"); }
            }
        }
    }

    [Fact]
    public void Gradient_MatchesFiniteDifferences_RoutingFixed()
    {
        var c = TinyModel.Config();
        using var weights = new ModelWeights(c, DType.F64, withGradients: true);
        weights.InitializeRandom(seed: 8, std: 0.3);
        using var model = new Transformer(weights);
        using var arena = new Arena("step");
        var ids = TinyModel.Tokens(B * T, c.VocabSize, seed: 9);
        var targets = TinyModel.Tokens(B * T, c.VocabSize, seed: 10);
        var mtpTargets = TinyModel.Tokens(B * (T - 1), c.VocabSize, seed: 11);

        var tape = new Tape(arena);
        weights.ZeroGradients();
        var routing = new ForwardResult(); // the routing every probe replays; its arena is not reset by the probes
        tape.Backward(Loss(model, tape, arena, ids, targets, mtpTargets, routing));
        using var probes = new Arena("probe");

        var l0 = weights.Layers[0];
        var l2 = weights.Layers[2];
        var mtp = weights.Mtp[0];
        var used = routing.RoutingOf(2).Load.AsSpan<int>().ToArray().Select((n, e) => (n, e)).First(p => p.n > 0).e;
        Parameter[] probed =
        [
            weights.Embedding, l0.Mla().WqA!.Weight, l0.Mla().WkvA.Weight, l0.Mla().WkvB.Weight, l0.Mla().QNorm!.Weight, l0.Mlp!.Down.Weight,
            weights.Layers[1].Moe!.Gate.Weight, weights.Layers[1].Moe!.Shared!.Gate.Weight, l2.Moe!.Experts[used].Up.Weight, l2.Mla().KvNorm.Weight,
            weights.FinalNorm.Weight, weights.Head.Weight, mtp.EhProj.Weight, mtp.HeadNorm.Weight, mtp.Block.Mla().Wo.Weight, mtp.EmbeddingNorm.Weight,
        ];
        var rng = new Random(12);
        const double H = 1e-5;
        foreach (var p in probed)
        {
            var value = p.Value.AsSpan<double>();
            var grad = p.Grad.AsSpan<double>().ToArray();
            Assert.Contains(grad, g => g != 0); // every probed path carries a gradient
            for (var probe = 0; probe < 4; probe++)
            {
                var j = probe == 0 ? Array.IndexOf(grad, grad.MaxBy(Math.Abs)) : rng.Next(value.Length);
                var saved = value[j];
                value[j] = saved + H;
                var plus = Evaluate(model, probes, ids, targets, mtpTargets, routing);
                value[j] = saved - H;
                var minus = Evaluate(model, probes, ids, targets, mtpTargets, routing);
                value[j] = saved;
                var numeric = (plus - minus) / (2 * H);
                var abs = Math.Abs(numeric - grad[j]);
                var rel = abs == 0 ? 0 : abs / Math.Max(Math.Abs(numeric), Math.Abs(grad[j]));
                Assert.True(Math.Min(abs, rel) <= 1e-6, $"{p.Name}[{j}]: analytic {grad[j]}, numeric {numeric}");
            }
        }
    }

    private static Tensor Tokens(Arena arena, int seed) => arena.FromSpan<int>(TinyModel.Tokens(B * T, 256, seed), B, T);

    private static (double[] Logits, double[] Mtp) Run(Transformer model, Tape tape, Arena arena, int[] ids)
    {
        tape.Reset();
        var (logits, mtp) = model.Forward(tape, arena.FromSpan<int>(ids, B, T));
        return (tape.Value(logits).AsSpan<double>().ToArray(), tape.Value(mtp!.Value).AsSpan<double>().ToArray());
    }

    // L = CE(logits, targets) + 0.3·CE(mtpLogits, mtpTargets), the forward written into `result`, replaying `replay`'s routing when given
    private static Var Loss(Transformer model, Tape tape, Arena arena, int[] ids, int[] targets, int[] mtpTargets, ForwardResult result, ForwardResult? replay = null)
    {
        model.Forward(tape, arena.FromSpan<int>(ids, B, T), result, replay: replay);
        var main = CrossEntropyOp.Apply(tape, result.Logits, arena.FromSpan<int>(targets, targets.Length));
        var extra = CrossEntropyOp.Apply(tape, result.MtpLogits[0], arena.FromSpan<int>(mtpTargets, mtpTargets.Length));
        return AddOp.Apply(tape, main, ScaleOp.Apply(tape, extra, 0.3));
    }

    private static double Evaluate(Transformer model, Arena arena, int[] ids, int[] targets, int[] mtpTargets, ForwardResult routing)
    {
        var tape = new Tape(arena) { GradEnabled = false };
        tape.Reset();
        return tape.Value(Loss(model, tape, arena, ids, targets, mtpTargets, new ForwardResult(), routing)).AsSpan<double>()[0];
    }
}
