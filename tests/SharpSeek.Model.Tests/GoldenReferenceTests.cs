// GoldenReferenceTests.cs: the C# model against the PyTorch reference (tools/reference) on the committed golden
// checkpoints: logits and MTP logits within 1e-4 for the q-lora and q_proj paths, YaRN, the V2-style grouped softmax
// router, a correction bias that changes the expert choice, and an FP8 checkpoint with block scales.
using System.Text.Json;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Model.Tests;

public sealed class GoldenReferenceTests
{
    private const double Tolerance = 1e-4;

    internal static string VariantDir(string variant) => Path.Combine(Repo.Root, "tests", "data", "reference", variant);

    private sealed record Run(float[][] Logits, float[][] Mtp, Transformer Model, ForwardResult Result);

    private static Run Forward(string variant, ModelWeights weights, Arena arena)
    {
        var dir = VariantDir(variant);
        var ids = JsonSerializer.Deserialize<int[]>(File.ReadAllText(Path.Combine(dir, "tokens.json")))!;
        var model = new Transformer(weights, maxPositions: ids.Length);
        var tape = new Tape(arena) { GradEnabled = false };
        var result = model.Forward(tape, arena.FromSpan<int>(ids, 1, ids.Length), new ForwardResult());
        return new Run(Rows(tape.Value(result.Logits)), result.MtpLogits.Length > 0 ? Rows(tape.Value(result.MtpLogits[0])) : [], model, result);
    }

    private static float[][] Rows(Tensor t)
    {
        var v = t.AsSpan<float>().ToArray();
        var vocab = (int)t.Shape.Last;
        return [.. Enumerable.Range(0, v.Length / vocab).Select(r => v[(r * vocab)..((r + 1) * vocab)])];
    }

    private static double MaxAbsDiff(float[][] got, JsonElement want)
    {
        Assert.Equal(want.GetArrayLength(), got.Length);
        double max = 0;
        for (var r = 0; r < got.Length; r++)
        {
            var row = want[r];
            Assert.Equal(row.GetArrayLength(), got[r].Length);
            for (var j = 0; j < got[r].Length; j++) { max = Math.Max(max, Math.Abs(got[r][j] - row[j].GetDouble())); }
        }
        return max;
    }

    [Theory]
    [InlineData("qlora_f32")]
    [InlineData("qproj_f32")]
    [InlineData("yarn_f32")]
    [InlineData("grouped_softmax_f32")]
    [InlineData("bias_f32")]
    [InlineData("fp8")]
    public void Logits_MatchTheReference(string variant)
    {
        var dir = VariantDir(variant);
        using var checkpoint = CheckpointDirectory.Open(dir);
        using var weights = new ModelWeights(checkpoint.Config);
        weights.Load(checkpoint);
        using var arena = new Arena("golden");
        var run = Forward(variant, weights, arena);
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
        var logitsDiff = MaxAbsDiff(run.Logits, expected.RootElement.GetProperty("logits"));
        var mtpDiff = MaxAbsDiff(run.Mtp, expected.RootElement.GetProperty("mtp_logits"));
        Assert.True(logitsDiff <= Tolerance, $"{variant}: logits differ by {logitsDiff:g3} (> {Tolerance})");
        Assert.True(mtpDiff <= Tolerance, $"{variant}: MTP logits differ by {mtpDiff:g3} (> {Tolerance})");
        Assert.NotEmpty(run.Mtp);
        run.Model.Dispose();
    }

    [Fact]
    public void CorrectionBias_ChangesTheExpertChoice_AsInTheReference()
    {
        var dir = VariantDir("bias_f32");
        using var checkpoint = CheckpointDirectory.Open(dir);
        using var weights = new ModelWeights(checkpoint.Config);
        weights.Load(checkpoint);
        using var routing = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "routing.json")));
        var layers = routing.RootElement.GetProperty("layers");
        var gates = weights.Layers.Concat(weights.Mtp.Select(m => m.Block)).Where(b => b.Moe is not null).ToDictionary(b => b.Index, b => b.Moe!.Gate);

        // With the checkpoint's bias: the same experts as the reference, as sets per token.
        using (var arena = new Arena("with-bias"))
        {
            var run = Forward("bias_f32", weights, arena);
            foreach (var layer in layers.EnumerateObject())
            {
                var chosen = run.Result.RoutingOf(int.Parse(layer.Name, System.Globalization.CultureInfo.InvariantCulture)).Experts.AsSpan<int>().ToArray();
                var want = layer.Value.GetProperty("with_bias");
                var k = want[0].GetArrayLength();
                for (var t = 0; t < want.GetArrayLength(); t++)
                {
                    var expect = want[t].EnumerateArray().Select(e => e.GetInt32()).Order();
                    Assert.Equal(expect, chosen.Skip(t * k).Take(k).Order());
                }
            }
            run.Model.Dispose();
        }

        // The bias matters: zero it and the choices become the reference's "without_bias" ones, which differ. The
        // reference applies the unbiased gate to the biased run's layer input, so only the first MoE layer (whose input
        // no routing has touched yet) is comparable once every bias is zeroed.
        foreach (var gate in gates.Values) { gate.CorrectionBias!.Value.AsSpan<float>().Clear(); }
        var firstMoe = gates.Keys.Min();
        using (var arena = new Arena("without-bias"))
        {
            var run = Forward("bias_f32", weights, arena);
            var changed = 0;
            foreach (var layer in layers.EnumerateObject().Where(l => l.Name == firstMoe.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            {
                var chosen = run.Result.RoutingOf(int.Parse(layer.Name, System.Globalization.CultureInfo.InvariantCulture)).Experts.AsSpan<int>().ToArray();
                var without = layer.Value.GetProperty("without_bias");
                var with = layer.Value.GetProperty("with_bias");
                var k = without[0].GetArrayLength();
                for (var t = 0; t < without.GetArrayLength(); t++)
                {
                    var expect = without[t].EnumerateArray().Select(e => e.GetInt32()).Order().ToArray();
                    Assert.Equal(expect, chosen.Skip(t * k).Take(k).Order());
                    if (!expect.SequenceEqual(with[t].EnumerateArray().Select(e => e.GetInt32()).Order())) { changed++; }
                }
            }
            Assert.True(changed > 0, "the reference's bias changes no expert choice, so this test would prove nothing");
            run.Model.Dispose();
        }
    }
}
