// ChatPrompt.cs: a problem rendered with a model's chat template (tokenizer_config.json's chat_template, or DeepSeek's
// built-in one), as the server renders a conversation, ending with the generation prompt. Not here: the template engine
// (Inference ChatTemplate). Tested by PromptFormatTests.
using SharpSeek.Inference.Text;
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Prompts;

/// <summary>The conversation (or one user turn with the question) through <paramref name="template"/> with the
/// generation prompt; it starts in the think block when the template opens one (DeepSeek-R1's ends with "&lt;think&gt;\n").</summary>
public sealed class ChatPrompt(ChatTemplate template) : IPromptFormat
{
    public RenderedPrompt Render(Problem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var text = template.Render(problem.Messages ?? [new ChatTurn("user", problem.Question)], addGenerationPrompt: true);
        return new(text, template.PromptStartsInReasoning(text), Templated: true);
    }
}
