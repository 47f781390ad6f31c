// IPromptFormat.cs: the seam between a problem and the text the policy continues: R1-Zero's template (R1ZeroPrompt),
// the plain "User: …\nAssistant:" form the built-in corpus pretrains on (PlainPrompt), and a chat-template form to come.
// Not here: tokenizing. Tested by PromptFormatTests.
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Prompts;

/// <summary>Renders a problem into a prompt. Rendering keeps no state.</summary>
public interface IPromptFormat
{
    RenderedPrompt Render(Problem problem);
}
