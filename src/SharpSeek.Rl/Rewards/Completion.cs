// Completion.cs: one sampled completion as a reward sees it: the text with the end-of-sequence token already stripped,
// its length in tokens, whether generation stopped at the length limit, and whether its prompt had opened the think
// block. Not here: generation. Tested by RewardSetTests.
namespace SharpSeek.Rl.Rewards;

/// <summary>A completion to score. <paramref name="Text"/> excludes the EOS token (the caller strips it);
/// <paramref name="Tokens"/> counts the generated tokens; <paramref name="Truncated"/> is true when generation hit the
/// length limit instead of stopping; <paramref name="StartsInThink"/> comes from
/// <see cref="Prompts.RenderedPrompt.StartsInThink"/>.</summary>
public readonly record struct Completion(string Text, int Tokens, bool Truncated = false, bool StartsInThink = false);
