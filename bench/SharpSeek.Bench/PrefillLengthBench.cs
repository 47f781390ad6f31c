// PrefillLengthBench.cs: `sharpseek bench infer --prompt-lens T…`: one prompt of each length prefilled in a single step
// of the inference runtime (random weights of a preset, its positions raised to the longest length): prefill tokens/s,
// the step's scratch high-water mark per token and the latent KV cache per token. Attention over the whole prompt runs
// in fused tiles, so the scratch per token stays flat as T grows, where materialized scores would grow it with T
// (B·H·T² floats). Not here: the command line (BenchInferCommand), the batched prefill/decode table (InferBench).
// Never run in CI.
using System.Diagnostics;
using System.Globalization;
using SharpSeek.Inference.Runtime;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Bench;

/// <summary>One prompt length: tokens/s of its prefill, the runner's scratch peak and the KV cache, in bytes.</summary>
public sealed record PrefillLengthResult(int Tokens, double TokensPerSecond, long ScratchBytes, long CacheBytes);

public static class PrefillLengthBench
{
    /// <summary>Measures each of <paramref name="lengths"/> (ascending) on <paramref name="preset"/>'s random weights.</summary>
    public static IReadOnlyList<PrefillLengthResult> Measure(string preset, IReadOnlyList<int> lengths, int threads)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        if (lengths.Count == 0 || lengths.Any(t => t < 1)) { throw new ArgumentException($"--prompt-lens needs lengths ≥ 1; got {string.Join(" ", lengths)}"); }
        WorkerPool.UseThreads(threads);
        var config = ModelConfig.LoadPreset(preset);
        config = config with { MaxPositionEmbeddings = Math.Max(config.MaxPositionEmbeddings, lengths.Max() + 1) };
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-bench-prefill-{Environment.ProcessId}");
        try
        {
            RandomCheckpoint.Write(dir, config, CheckpointFormat.F32, seed: 1);
            using var weights = InferenceWeights.Load(dir, WeightFormat.F32);
            var random = new Random(7);
            using (var cache = new KvCache(config, 1, 257))                              // untimed: the JIT's first calls
            using (var runner = new ModelRunner(weights, cache))
            {
                runner.Step([new SequenceChunk(cache.Acquire(), Enumerable.Range(0, 256).Select(_ => random.Next(config.VocabSize)).ToArray())], LogitRows.Last);
            }
            var results = new List<PrefillLengthResult>();
            foreach (var t in lengths.Order())
            {
                using var cache = new KvCache(config, 1, t + 1);
                using var runner = new ModelRunner(weights, cache);
                var prompt = Enumerable.Range(0, t).Select(_ => random.Next(config.VocabSize)).ToArray();
                var slot = cache.Acquire();
                var start = Stopwatch.GetTimestamp();
                runner.Step([new SequenceChunk(slot, prompt)], LogitRows.Last);
                var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                results.Add(new PrefillLengthResult(t, t / seconds, runner.ScratchBytes, t * cache.BytesPerToken));
            }
            return results;
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>A line per length, then the scratch per token from the shortest to the longest.</summary>
    public static string Table(string preset, IReadOnlyList<PrefillLengthResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var lines = results.Select(r => string.Create(CultureInfo.InvariantCulture,
            $"prefill {preset} 1×{r.Tokens}: {r.TokensPerSecond:F0} tok/s, step scratch {r.ScratchBytes / 1048576.0:F1} MiB ({r.ScratchBytes / 1024.0 / r.Tokens:F1} KiB per token), KV cache {r.CacheBytes / 1048576.0:F1} MiB ({r.CacheBytes / 1024.0 / r.Tokens:F2} KiB per token)")).ToList();
        var (first, last) = (results[0], results[^1]);
        lines.Add(string.Create(CultureInfo.InvariantCulture,
            $"step scratch per token, {first.Tokens} → {last.Tokens} tokens ({(double)last.Tokens / first.Tokens:G3}× longer): {first.ScratchBytes / 1024.0 / first.Tokens:F1} → {last.ScratchBytes / 1024.0 / last.Tokens:F1} KiB (×{(double)last.ScratchBytes / last.Tokens / (first.ScratchBytes / (double)first.Tokens):F2}; 1 is linear in T)"));
        return string.Join(Environment.NewLine, lines);
    }
}
