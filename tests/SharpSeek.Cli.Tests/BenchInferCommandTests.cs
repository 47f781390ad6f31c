// BenchInferCommandTests.cs: `sharpseek bench infer` end to end on the tiny preset without PyTorch (tiny sizes, no
// warm-up): every (format, batch) row and the per-format speculation figures in the JSON, the table's lines, bad input;
// and the roofline's bytes per decode step and the speculation steps' bytes and bound against counts done by hand from
// configs/tiny.json. A dense model (the qwen2 reference checkpoint) at two thread counts: load, memory and speeds per row,
// llama.cpp n/a without llama-bench, and a stand-in llama-bench's JSON read into rows beside ours; its decode bytes by hand.
using System.Text.Json;
using SharpSeek.Bench;
using SharpSeek.Inference.Runtime;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;

namespace SharpSeek.Cli.Tests;

public sealed class BenchInferCommandTests
{
    private static readonly string[] Tiny = ["bench", "infer", "--config", "tiny", "--batches", "1", "2", "--prompt", "8", "--decode", "4", "--no-reference", "--warmup-seconds", "0"];

    [Fact]
    public void Json_HasEveryFormatBatchAndTheSpeculationFigures()
    {
        var (code, output) = CliTests.Run([.. Tiny, "--speculative", "--json"]);
        Assert.True(code == 0, output);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal(8, root.GetProperty("prompt").GetInt32());
        Assert.True(root.GetProperty("copy_gbps").GetDouble() > 0);
        Assert.Equal("--no-reference", root.GetProperty("pytorch").GetString());
        var rows = root.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(["f32/1", "f32/2", "bf16/1", "bf16/2", "fp8/1", "fp8/2"], rows.Select(r => $"{r.GetProperty("format").GetString()}/{r.GetProperty("batch").GetInt32()}"));
        foreach (var r in rows)
        {
            foreach (var name in new[] { "prefill_tokens_per_s", "decode_tokens_per_s", "roofline_tokens_per_s", "roofline_fraction" })
            {
                Assert.True(r.GetProperty(name).GetDouble() > 0, $"{name} of {r}");
            }
            Assert.Equal(JsonValueKind.Null, r.GetProperty("pytorch_decode_tokens_per_s").ValueKind);
            Assert.Equal(JsonValueKind.Null, r.GetProperty("decode_ratio").ValueKind);
            Assert.Equal(2400L * r.GetProperty("batch").GetInt32(), r.GetProperty("cache_bytes_per_step").GetInt64()); // 3 · (16 + 4) · 4 B × 10 positions per sequence
        }
        var specs = root.GetProperty("speculative").EnumerateArray().ToList();
        Assert.Equal(["f32", "bf16", "fp8"], specs.Select(s => s.GetProperty("format").GetString()));
        var spec = specs[0];
        Assert.Equal(4, spec.GetProperty("prompts").GetInt32());
        Assert.True(spec.GetProperty("drafted").GetInt32() > 0);
        Assert.InRange(spec.GetProperty("acceptance").GetDouble(), 0, 1);
        Assert.InRange(spec.GetProperty("tokens_per_main_step").GetDouble(), 1, 2);
        Assert.True(spec.GetProperty("speedup").GetDouble() > 0);
        Assert.True(spec.GetProperty("decode_speedup").GetDouble() > 0);
        Assert.True(spec.GetProperty("bound_speedup").GetDouble() > 0);
        Assert.True(spec.GetProperty("bytes").GetProperty("verify_step").GetInt64() > spec.GetProperty("bytes").GetProperty("plain_step").GetInt64());
        Assert.All(specs, s => Assert.True(s.GetProperty("same_output").GetBoolean()));
        Assert.Equal("random token ids", spec.GetProperty("prompt_source").GetString());
    }

    [Fact]
    public void Table_PrintsAHeaderAndOneLinePerFormatAndBatch()
    {
        var (code, output) = CliTests.Run([.. Tiny, "--formats", "f32", "fp8"]);
        Assert.True(code == 0, output);
        var lines = output.Trim().Split('\n');
        Assert.StartsWith("infer tiny (random weights) threads=2 prompt=8 decode=4: copy ", lines[0], StringComparison.Ordinal);
        Assert.Contains("decode tok/s", lines[1], StringComparison.Ordinal);
        Assert.Equal(["f32", "f32", "fp8", "fp8"], lines[2..].Select(l => l.Split(' ')[0]));
    }

    [Fact]
    public void Table_WithSpeculation_PrintsTheBoundBesideTheSpeedupPerFormat()
    {
        var (code, output) = CliTests.Run([.. Tiny, "--formats", "f32", "bf16", "--batches", "1", "--speculative"]);
        Assert.True(code == 0, output);
        var lines = output.Trim().Split('\n');
        Assert.Equal(2, lines.Count(l => l.StartsWith("mtp speculation ", StringComparison.Ordinal) && l.Contains("decode speedup ", StringComparison.Ordinal) && l.Contains("byte bound ", StringComparison.Ordinal)));
        Assert.StartsWith("mtp speculation bf16 ", lines.Last(l => l.StartsWith("mtp speculation ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal(2, lines.Count(l => l.StartsWith("  weight MiB per step: plain ", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("--formats", "int4", "--formats must be f32, bf16 or fp8; got 'int4'")]
    [InlineData("--threads", "0", "threads ≥ 1")]
    public void BadInput_FailsWithAClearMessage(string option, string value, string expected)
    {
        var (code, output) = CliTests.Run([.. Tiny, option, value]);
        Assert.Equal(1, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    // tiny: D 32, L 3 (layer 0 dense, 1–2 MoE), q_lora 16, H 4, d_n 8, d_r 4, d_v 8, c 16, dense inter 64, E 8, K 2,
    // 1 shared expert, moe inter 16, V 256. In floats:
    //   attention per layer: q_a 16·32 + q_b 48·16 + kv_a 20·32 + kv_b (f32, absorbed) 64·16 + o 32·32 = 512 + 768 + 640 + 1024 + 1024
    //   dense MLP: 3 · 64·32 = 6144;  expert (and the shared one): 3 · 16·32 = 1536;  router 8·32 + bias 8 = 264
    //   head 256·32 = 8192
    private const long Attention = 512 + 768 + 640 + 1024 + 1024;
    private const long Expert = 3 * 16 * 32;

    [Theory]
    [InlineData(1, 2)]  // B·K = 2 < 8: two routed experts per MoE layer
    [InlineData(8, 8)]  // B·K = 16 ≥ E = 8: all eight
    public void DecodeStepBytes_F32_MatchesAHandCount(int batch, int experts)
    {
        using var weights = TinyWeights(WeightFormat.F32, out var inference);
        var floats = (3 * Attention) + 6144 + (2 * (264 + Expert + (experts * Expert))) + 8192;
        var (w, cache) = InferBench.DecodeStepBytes(inference, batch, 10);
        Assert.Equal(4 * floats, w);
        Assert.Equal(batch * 3 * 10 * (16 + 4) * 4L, cache);
    }

    [Fact]
    public void DecodeStepBytes_Fp8_CountsOneByteAWeightPlusBlockScales()
    {
        using var weights = TinyWeights(WeightFormat.Fp8, out var inference);
        // 34 projections of one 128×128 block each (the head, 256 rows, has two): one 4-byte scale per block;
        // kv_b stays f32 for the absorbed attention and the router is f32.
        long codes = (3 * (Attention - 1024)) + 6144 + (2 * 3 * Expert) + 8192;
        long scales = 4 * (12 + 3 + (2 * 9) + 2);
        long f32 = 4 * ((3 * 1024) + (2 * 264));
        Assert.Equal(codes + scales + f32, InferBench.DecodeStepBytes(inference, 1, 0).Weights);
    }

    // The speculation bound from the same hand count. eh_proj (D, 2D) = 32·64; the MTP block's layer (index 3) is an MoE
    // layer like 1 and 2; the head is shared with the main model.
    [Fact]
    public void SpeculationStepBytes_F32_MatchesAHandCount_AndTheBoundFollows()
    {
        using var weights = TinyWeights(WeightFormat.F32, out var inference);
        const long Dense = (3 * Attention) + 6144 + (2 * (264 + Expert)) + 8192;
        var b = InferBench.SpeculationStepBytes(inference);
        Assert.Equal(4 * Dense, b.DensePath);
        Assert.Equal(4 * 2 * 2 * Expert, b.RoutedPerToken);                      // 2 MoE layers × K = 2
        Assert.Equal(b.DensePath + b.RoutedPerToken, b.Plain);
        Assert.Equal(InferBench.DecodeStepBytes(inference, 1, 0).Weights, b.Plain);
        Assert.Equal(4 * (Dense + (2 * 4 * Expert)), b.Verify);                  // 2 rows: up to 2K = 4 experts per MoE layer
        const long Draft = 2048 + Attention + 264 + Expert + 8192;               // eh_proj, attention, router, shared, head
        Assert.Equal(4 * (Draft + (2 * Expert)), b.Draft1);
        Assert.Equal(4 * (Draft + (4 * Expert)), b.Draft2);
        // Every draft accepted, 2 tokens a main step; none accepted, 1.
        Assert.Equal(2.0 * b.Plain / (b.Verify + b.Draft2), InferBench.SpeculationBound(b, 1, 2), 12);
        Assert.Equal(1.0 * b.Plain / (b.Verify + b.Draft1), InferBench.SpeculationBound(b, 0, 1), 12);
        Assert.Equal(1.5 * b.Plain / (b.Verify + ((b.Draft1 + b.Draft2) / 2.0)), InferBench.SpeculationBound(b, 0.5, 1.5), 12);
        Assert.True(InferBench.SpeculationBound(b, 0, 1) < 1);                    // nothing accepted: speculation can only lose
    }

    private static string Qwen2 => Path.Combine(LayeringTests.RepoRoot(), "tests", "data", "reference", "qwen2_f32");

    private static readonly string[] Dense = ["bench", "infer", "--model", Qwen2, "--formats", "f32", "--prompt", "8", "--decode", "4", "--threads", "1", "2", "--warmup-seconds", "0"];

    [Fact]
    public void Dense_Json_HasLoadMemoryAndSpeedsPerThreadCount_AndLlamaCppNaWithoutLlamaBench()
    {
        var (code, output) = CliTests.RunWith(new Dictionary<string, string> { ["LLAMA_BENCH"] = "/nonexistent/llama-bench" }, [.. Dense, "--json"]);
        Assert.True(code == 0, output);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal("qwen2", root.GetProperty("model_type").GetString());
        Assert.Equal("n/a: LLAMA_BENCH=/nonexistent/llama-bench does not exist", root.GetProperty("llama_bench").GetString());
        var rows = root.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(["sharpseek f32 1", "sharpseek f32 2"], rows.Select(r => $"{r.GetProperty("side").GetString()} {r.GetProperty("format").GetString()} {r.GetProperty("threads").GetInt32()}"));
        foreach (var r in rows)
        {
            foreach (var name in new[] { "load_s", "resident_mib", "prefill_tokens_per_s", "decode_tokens_per_s", "roofline_tokens_per_s", "roofline_fraction", "copy_gbps" })
            {
                Assert.True(r.GetProperty(name).GetDouble() > 0, $"{name} of {r}");
            }
            Assert.Equal(1, r.GetProperty("batch").GetInt32());
            Assert.Equal(86528, r.GetProperty("weight_bytes_per_step").GetInt64());
            Assert.Equal(2560, r.GetProperty("cache_bytes_per_step").GetInt64());     // 2 layers · 10 positions · 2 · 16 values · 4 B
        }
    }

    // A stand-in for llama-bench that prints what `llama-bench -o json` prints (two tests: pp then tg) and records its
    // arguments: its figures land in llama.cpp rows after ours at each thread count, one per GGUF file.
    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // the stand-in is a shell script
    public void Dense_Table_PutsLlamaBenchsFiguresBesideOurs()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-llama-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var fake = Path.Combine(dir, "llama-bench");
            File.WriteAllText(fake, "#!/bin/sh\necho \"$@\" >> \"$0.args\"\n" +
                "echo '[{\"model_type\": \"qwen2 1B BF16\", \"model_size\": 200000, \"model_n_params\": 100000, \"n_prompt\": 8, \"n_gen\": 0, \"avg_ts\": 123.5},'\n" +
                "echo ' {\"model_type\": \"qwen2 1B BF16\", \"model_size\": 200000, \"model_n_params\": 100000, \"n_prompt\": 0, \"n_gen\": 4, \"avg_ts\": 45.25}]'\n");
            File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var gguf = Path.Combine(dir, "model-bf16.gguf");
            File.WriteAllText(gguf, "");
            var (code, output) = CliTests.RunWith(new Dictionary<string, string> { ["LLAMA_BENCH"] = fake }, [.. Dense, "--gguf", gguf]);
            Assert.True(code == 0, output);
            var lines = output.Trim().Split('\n');
            Assert.EndsWith($"llama.cpp {fake}", lines[0], StringComparison.Ordinal);
            Assert.Equal(["sharpseek f32 1", "llama.cpp bf16 1", "sharpseek f32 2", "llama.cpp bf16 2"],
                lines[2..].Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..3])));
            var theirs = lines[3].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(["123.5", "45.25"], theirs[8..10]);
            Assert.EndsWith(gguf, lines[3], StringComparison.Ordinal);
            Assert.Equal([$"-m {gguf} -p 8 -n 4 -t 1 -r 3 -o json", $"-m {gguf} -p 8 -n 4 -t 2 -r 3 -o json"], File.ReadAllLines(fake + ".args"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // qwen2_f32: D 32, H 4 × d 8, H_kv 2 (16 wide), inter 64, L 2, V 96, tied. Per layer q 32·32 + k, v 16·32 each + o 32·32
    // + gate, up, down 64·32 each = 9216 weights and 64 bias floats; the head (the tied embedding) 96·32 = 3072.
    [Theory]
    [InlineData(WeightFormat.F32, (4 * ((2 * 9216) + 3072)) + 512)]
    [InlineData(WeightFormat.BF16, (2 * ((2 * 9216) + 3072)) + 512)]
    [InlineData(WeightFormat.Fp8, (2 * 9216) + 3072 + (4 * 15) + 512)]                      // one 128×128 block per matrix: 15 scales
    public void DenseDecodeStepBytes_MatchAHandCount(WeightFormat format, long expected)
    {
        var config = ModelConfig.Load(Path.Combine(Qwen2, "config.json"));
        Assert.Equal((expected, 4L * 3 * 2 * 7 * 2 * 16), DenseInferBench.DecodeStepBytes(config, format, 3, 7));
    }

    // The roofline's count is what the runtime holds: every Linear's view in the loaded format (the tied head's included)
    // plus the q/k/v biases the step reads at 4 bytes; from a BF16 file, the views read in place from the mapped file.
    [Theory]
    [InlineData(WeightFormat.F32, false)]
    [InlineData(WeightFormat.BF16, false)]
    [InlineData(WeightFormat.BF16, true)]
    [InlineData(WeightFormat.Fp8, false)]
    public void DenseDecodeStepBytes_AreTheLoadedViewsBytes(WeightFormat format, bool bf16File)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-bf16-{Guid.NewGuid():N}");
        if (bf16File) { RandomCheckpoint.Write(dir, ModelConfig.Load(Path.Combine(Qwen2, "config.json")), CheckpointFormat.BF16, seed: 1); }
        try
        {
            using var weights = InferenceWeights.Load(bf16File ? dir : Qwen2, format);
            Assert.Equal(bf16File, weights.Model.IsInferenceOnly);
            Assert.Equal(bf16File || format == WeightFormat.F32, weights.Model.Head.View.InPlace);
            Assert.Equal(ViewBytes(weights.Model, format), DenseInferBench.DecodeStepBytes(weights.Config, format, 1, 0).Weights);
        }
        finally
        {
            if (bf16File) { Directory.Delete(dir, recursive: true); }
        }
    }

    private static long ViewBytes(ModelWeights model, WeightFormat format)
    {
        long bytes = model.Head.View.Bytes;
        foreach (var block in model.Layers)
        {
            var (gqa, mlp) = ((Gqa)block.Attention, block.Mlp!);
            foreach (var linear in new[] { gqa.Q, gqa.K, gqa.V, gqa.O, mlp.Gate, mlp.Up, mlp.Down })
            {
                Assert.Equal(format, linear.View.Format);
                bytes += linear.View.Bytes + (4 * (linear.Bias?.Value.ElementCount ?? 0));
            }
        }
        return bytes;
    }

    private static ModelWeights TinyWeights(WeightFormat format, out InferenceWeights inference)
    {
        var weights = new ModelWeights(ModelConfig.LoadPreset("tiny"));
        weights.InitializeRandom(3);
        inference = InferenceWeights.From(weights, format);
        return weights;
    }
}
