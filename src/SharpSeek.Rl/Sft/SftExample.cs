// SftExample.cs: one supervised fine-tuning example as text: the rendered prompt (no loss) and the completion the model
// learns to write after it (loss on every completion token and on the EOS that ends it). Not here: reading examples
// (SftData.cs), packing them (SftPacking.cs). Tested by SftTests.
namespace SharpSeek.Rl.Sft;

/// <summary>A prompt and its target completion, both as the model sees them (the prompt already rendered with its
/// template); <paramref name="Templated"/> as in <see cref="Prompts.RenderedPrompt"/>: the prompt carries its own start
/// tokens.</summary>
public sealed record SftExample(string Prompt, string Completion, bool Templated = false);
