// ReferenceGradientTests.cs: the objective on the reference's tiny checkpoint (qlora_f32, float64) against the PyTorch
// reference's loss and autograd gradients (tests/data/reference/grads_tiny): every trainable tensor within 1e-4 relative.
using System.Runtime.InteropServices;
using System.Text.Json;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using Xunit.Abstractions;

namespace SharpSeek.Training.Tests;

public sealed class ReferenceGradientTests(ITestOutputHelper output)
{
    // The reference's loss: CE + 0.3·CE_MTP, no balance loss.
    internal static readonly ObjectiveOptions ReferenceLoss = new() { MtpWeight = 0.3, Balance = BalanceMode.None };

    [Fact]
    public void LossAndGradients_MatchTheReference()
    {
        var dir = Repo.Reference("grads_tiny");
        var tokens = JsonSerializer.Deserialize<int[][]>(File.ReadAllText(Path.Combine(dir, "tokens.json")))!;
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "loss.json")));
        using var weights = Repo.ReferenceWeights();
        using var model = new Transformer(weights, maxPositions: tokens[0].Length);
        using var arena = new Arena("grads");
        var tape = new Tape(arena);
        var (inputs, targets) = Repo.NextTokenBatch(arena, tokens);

        weights.ZeroGradients();
        var (loss, parts) = Objective.Compute(tape, model, inputs, targets, ReferenceLoss);
        tape.Backward(loss);

        // 1e-8: the float64 model takes RoPE angles in double where the reference rounds them to float32 first, which
        // moves the logits by 3.6e-8 and the loss by 1.6e-10 relative; a wrong mean or weight moves it by > 1e-2.
        var root = expected.RootElement;
        AssertClose(root.GetProperty("loss").GetDouble(), parts.Total, 1e-8, "loss");
        AssertClose(root.GetProperty("main_loss").GetDouble(), parts.Main, 1e-8, "main loss");
        AssertClose(root.GetProperty("mtp_loss")[0].GetDouble(), parts.Mtp, 1e-8, "MTP loss");
        Assert.Equal(0, parts.Balance);

        using var grads = SafeTensorsFile.Open(Path.Combine(dir, "grads.safetensors"));
        var trainable = weights.Unique.Where(AdamW.IsTrainable).Select(p => p.Name).ToHashSet();
        Assert.Equal(trainable.Order(StringComparer.Ordinal), grads.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        var (worst, worstName) = AssertGradients(grads, weights, 1e-4);
        output.WriteLine($"{grads.Tensors.Count} gradients; worst relative error {worst:g3} ({worstName})");
    }

    // Every stored F64 gradient against the parameter's: ‖g − g_ref‖/‖g_ref‖ ≤ rel (an all-zero reference — an expert
    // no token chose — needs an all-zero gradient). Returns the worst relative error and its tensor.
    internal static (double Worst, string Name) AssertGradients(SafeTensorsFile grads, ModelWeights weights, double rel)
    {
        var (worst, worstName) = (0.0, "");
        foreach (var info in grads.Tensors)
        {
            Assert.Equal(DType.F64, info.DType);
            var want = MemoryMarshal.Cast<byte, double>(grads.Bytes(info.Name));
            var got = weights.Get(info.Name).Grad.AsSpan<double>();
            Assert.Equal(want.Length, got.Length);
            double diff = 0, norm = 0;
            for (var i = 0; i < want.Length; i++)
            {
                diff += (got[i] - want[i]) * (got[i] - want[i]);
                norm += want[i] * want[i];
            }
            var e = norm == 0 ? Math.Sqrt(diff) : Math.Sqrt(diff / norm);
            if (e > worst) { (worst, worstName) = (e, info.Name); }
            Assert.True(e <= rel, $"{info.Name}: ‖g − g_ref‖/‖g_ref‖ = {e:g3} (> {rel:g1})");
        }
        return (worst, worstName);
    }

    internal static void AssertClose(double want, double got, double rel, string what) =>
        Assert.True(Math.Abs(got - want) <= rel * Math.Abs(want), $"{what}: got {got:R}, reference {want:R} (relative {Math.Abs(got - want) / Math.Abs(want):g3} > {rel:g1})");
}
