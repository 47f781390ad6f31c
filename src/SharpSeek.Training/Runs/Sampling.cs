// Sampling.cs: a first look at what a run learned: autoregressive generation by recomputing the whole context with
// Transformer.Forward in no-grad mode for every new token (no KV cache), and the token pick itself (greedy,
// temperature, top-k). When the context outgrows the RoPE table, the oldest tokens are dropped. Not here: the KV-cache
// engine, chat templates (SharpSeek.Inference). Tested by SamplingTests.
using SharpSeek.Model;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Training.Runs;

/// <summary>Token sampling and cache-free generation.</summary>
public static class Sampling
{
    /// <summary>The prompt's continuation: up to <see cref="SamplingOptions.MaxNewTokens"/> new ids (the prompt not
    /// included). Deterministic for a seed.</summary>
    public static int[] Generate(Transformer model, ReadOnlySpan<int> prompt, SamplingOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (prompt.IsEmpty) { throw new ArgumentException("the prompt is empty; give at least one token", nameof(prompt)); }
        if (model.Weights.DType != DType.F32) { throw new ArgumentException($"generation runs F32 weights; got {model.Weights.DType}", nameof(model)); }
        if (options.MaxNewTokens < 0) { throw new ArgumentOutOfRangeException(nameof(options), options.MaxNewTokens, "MaxNewTokens must be ≥ 0"); }
        var window = model.Rope.MaxPositions;
        var vocab = model.Config.VocabSize;
        var context = new List<int>(prompt.Length + options.MaxNewTokens);
        context.AddRange(prompt);
        var generated = new List<int>(options.MaxNewTokens);
        var rng = new Random(options.Seed);
        using var arena = new Arena("generate");
        var tape = new Tape(arena) { GradEnabled = false };
        while (generated.Count < options.MaxNewTokens)
        {
            tape.Reset();
            var start = Math.Max(0, context.Count - window);
            var t = context.Count - start;
            var tokens = arena.FromSpan<int>(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(context)[start..], 1, t); // (1, T)
            var (logits, _) = model.Forward(tape, tokens);                                                                    // (1, T, V)
            var last = tape.Value(logits).AsSpan<float>().Slice((t - 1) * vocab, vocab);
            var next = Pick(last, options.Temperature, options.TopK, rng);
            generated.Add(next);
            context.Add(next);
            if (next == options.StopId) { break; }
        }
        return [.. generated];
    }

    /// <summary>
    /// One token from a row of logits. Temperature 0: argmax (ties to the lower id). Otherwise p ∝ exp(logit / T) over the
    /// <paramref name="topK"/> largest logits (all when 0), drawn with one <see cref="Random.NextDouble"/>.
    /// </summary>
    public static int Pick(ReadOnlySpan<float> logits, double temperature, int topK, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (logits.IsEmpty) { throw new ArgumentException("no logits to sample from", nameof(logits)); }
        if (temperature < 0 || double.IsNaN(temperature)) { throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be ≥ 0"); }
        if (topK < 0) { throw new ArgumentOutOfRangeException(nameof(topK), topK, "top-k must be ≥ 0 (0 keeps every token)"); }
        if (temperature == 0) { return ArgMax(logits); }

        // Candidates in descending logit order, ties to the lower id; keep the first k.
        var order = new int[logits.Length];
        for (var i = 0; i < order.Length; i++) { order[i] = i; }
        var copy = logits.ToArray();
        Array.Sort(order, (a, b) => copy[a] != copy[b] ? copy[b].CompareTo(copy[a]) : a.CompareTo(b));
        var k = topK == 0 ? order.Length : Math.Min(topK, order.Length);

        // p_i = exp((l_i − l_max) / T) / Σ, the max subtracted for stability.
        var max = (double)copy[order[0]];
        var weights = new double[k];
        var sum = 0.0;
        for (var i = 0; i < k; i++) { sum += weights[i] = Math.Exp((copy[order[i]] - max) / temperature); }
        var u = rng.NextDouble() * sum;
        for (var i = 0; i < k; i++)
        {
            u -= weights[i];
            if (u < 0) { return order[i]; }
        }
        return order[k - 1];
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best]) { best = i; }
        }
        return best;
    }
}
