// RolloutSampler.cs: GRPO's sampling: G completions for each prompt of a step, all queued at once on the batched engine
// (continuous batching over the KV cache), each with its own seed derived from (run seed, step, prompt, sample) so a
// resumed run draws the same tokens (karpathy/nanochat: scripts/chat_rl.py seeds per sample the same way). Every token
// comes back with the policy's log-probability at the sampling temperature: the old log-probs of the update.
// Not here: rewards, the update. Tested by GrpoRunTests (rollout log-probs against the trainer's, exact resume) and EvalCommandTests.
using SharpSeek.Inference.Engine;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Rl.Rewards;
using SharpSeek.Training.Data;

namespace SharpSeek.Rl.Rollouts;

/// <summary>One sampled completion: the tokens (end-of-sequence included when sampled), their log-probs, and whether it
/// ran out of new tokens.</summary>
public sealed record Rollout(int Group, int Sample, int[] Prompt, int[] Completion, double[] LogProbs, bool Truncated)
{
    /// <summary>Per completion token, the <see cref="RolloutOptions.TopLogProbs"/> most likely tokens at its position
    /// (most likely first); null when none were asked for.</summary>
    public TokenLogProb[][]? Top { get; init; }

    /// <summary>The completion as the rewards read it: its text with a final end-of-sequence token left out, its token
    /// count (that token included), whether it was cut off, and whether its prompt opened the think block.</summary>
    public Completion ToCompletion(ByteLevelBpe tokenizer, bool startsInThink)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var ids = Completion.AsSpan();
        if (ids.Length > 0 && ids[^1] == tokenizer.EosId) { ids = ids[..^1]; }
        return new Completion(tokenizer.Decode(ids), Completion.Length, Truncated, startsInThink);
    }
}

/// <summary>Samples groups of completions on an <see cref="IGenerationEngine"/>.</summary>
public static class RolloutSampler
{
    /// <summary>The seed of sample <paramref name="sample"/> of prompt <paramref name="prompt"/> at <paramref name="step"/>.</summary>
    public static long SeedOf(ulong runSeed, long step, int prompt, int sample) =>
        (long)SplitMix64.Mix(SplitMix64.Mix(SplitMix64.Mix(runSeed, (ulong)step), (ulong)prompt), (ulong)sample);

    /// <summary>
    /// Samples <paramref name="generations"/> completions of every prompt (ids, already templated), returned group by
    /// group: prompt i's sample j at i·G + j.
    /// </summary>
    /// <remarks><paramref name="firstPrompt"/>: the index of prompts[0] among the step's prompts (its seeds are those of
    /// that index).</remarks>
    public static async Task<Rollout[]> SampleAsync(BatchEngine engine, IReadOnlyList<int[]> prompts, int generations, RolloutOptions options,
        ulong runSeed, long step, int firstPrompt = 0, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (generations < 1) { throw new ArgumentOutOfRangeException(nameof(generations), generations, "at least one sample per prompt"); }
        var requests = new List<GenerationRequest>(prompts.Count * generations);
        for (var i = 0; i < prompts.Count; i++)
        {
            if (prompts[i].Length + 1 > engine.MaxContext)
            {
                throw new ArgumentException($"prompt {i} has {prompts[i].Length} tokens; the context holds {engine.MaxContext}, so nothing could be sampled");
            }
            for (var j = 0; j < generations; j++)
            {
                requests.Add(new GenerationRequest
                {
                    Prompt = prompts[i],
                    Sampling = new SamplingParameters { Temperature = options.Temperature, TopP = options.TopP, Seed = SeedOf(runSeed, step, firstPrompt + i, j) },
                    MaxNewTokens = options.MaxNewTokens,
                    StopStrings = options.StopStrings,
                    LogProbs = true,
                    TopLogProbs = options.TopLogProbs,
                });
            }
        }
        // All at once: the engine batches them identically on every run, so a resumed run samples the same rollouts.
        var streams = engine.GenerateAll(requests, cancel);
        var tasks = new Task<Rollout>[requests.Count];
        for (var k = 0; k < tasks.Length; k++) { tasks[k] = Collect(streams[k], requests[k], k / generations, k % generations); }
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private static async Task<Rollout> Collect(IAsyncEnumerable<GenerationUpdate> updates, GenerationRequest request, int group, int sample)
    {
        var tokens = new List<int>();
        var logProbs = new List<double>();
        var top = request.TopLogProbs > 0 ? new List<TokenLogProb[]>() : null;
        FinishReason? finish = null;
        await foreach (var update in updates.ConfigureAwait(false))
        {
            tokens.AddRange(update.Tokens);
            foreach (var lp in update.LogProbs ?? throw new InvalidOperationException("the engine returned no log-probs for a request that asked for them"))
            {
                logProbs.Add(lp.LogProb);
                top?.Add(lp.Top.ToArray());
            }
            finish = update.Finish ?? finish;
        }
        return new Rollout(group, sample, [.. request.Prompt], [.. tokens], [.. logProbs], finish == FinishReason.Length) { Top = top?.ToArray() };
    }
}
