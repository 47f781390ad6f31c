// R1ZeroPrompt.cs: DeepSeek-R1-Zero's training template (arXiv 2501.12948 Table 1) as a prompt format; the template's
// text is R1ZeroTemplate (Training), which the built-in corpus also writes. Not here: the plain form (PlainPrompt.cs).
// Tested by PromptFormatTests.
using SharpSeek.Rl.Tasks;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Prompts;

/// <summary>"A conversation between User and Assistant. … User: {question}. Assistant:" (<see cref="R1ZeroTemplate"/>).
/// With <paramref name="openThink"/> the text goes on with " &lt;think&gt;\n" (as TinyZero's and Dr. GRPO's variants
/// do) and the completion starts inside the think block. A conversation is rendered by its last user turn: the template
/// has room for one question.</summary>
public sealed class R1ZeroPrompt(bool openThink = false) : IPromptFormat
{
    public RenderedPrompt Render(Problem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var text = R1ZeroTemplate.Prompt(problem.Question);
        return openThink ? new(text + " <think>\n", true) : new(text, false);
    }
}
