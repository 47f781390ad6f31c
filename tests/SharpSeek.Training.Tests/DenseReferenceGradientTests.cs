// DenseReferenceGradientTests.cs: the objective on the dense reference checkpoints (qwen2_f32: tied embeddings, q/k/v
// bias, GQA 4/2; llama_f32: untied, MQA, head_dim ≠ D/H, Llama-3 RoPE), float64, against the PyTorch reference's loss
// and autograd gradients (tests/data/reference/grads_qwen2, grads_llama): every tensor within 1e-6 relative.
using System.Text.Json;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using Xunit.Abstractions;

namespace SharpSeek.Training.Tests;

public sealed class DenseReferenceGradientTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("grads_qwen2", "qwen2_f32")]
    [InlineData("grads_llama", "llama_f32")]
    public void LossAndGradients_MatchTheReference(string variant, string checkpointVariant)
    {
        var dir = Repo.Reference(variant);
        var tokens = JsonSerializer.Deserialize<int[][]>(File.ReadAllText(Path.Combine(dir, "tokens.json")))!;
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "loss.json")));
        using var weights = Repo.ReferenceWeights(checkpointVariant);
        using var model = new Transformer(weights, maxPositions: tokens[0].Length);
        using var arena = new Arena("grads");
        var tape = new Tape(arena);
        var (inputs, targets) = Repo.NextTokenBatch(arena, tokens);

        weights.ZeroGradients();
        var (loss, parts) = Objective.Compute(tape, model, inputs, targets, new ObjectiveOptions { MtpWeight = 0.3, Balance = BalanceMode.None });
        tape.Backward(loss);

        // float64 throughout; the only difference from the reference is the RoPE angle rounding (float32 there).
        var root = expected.RootElement;
        ReferenceGradientTests.AssertClose(root.GetProperty("loss").GetDouble(), parts.Total, 1e-8, "loss");
        Assert.Equal(0, parts.Mtp);

        using var grads = SafeTensorsFile.Open(Path.Combine(dir, "grads.safetensors"));
        Assert.Equal(weights.Unique.Select(p => p.Name).Order(StringComparer.Ordinal), grads.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        var (worst, worstName) = ReferenceGradientTests.AssertGradients(grads, weights, 1e-6);
        output.WriteLine($"{variant}: {grads.Tensors.Count} gradients; worst relative error {worst:g3} ({worstName})");
    }
}
