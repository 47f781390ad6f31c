// R1ZeroPrompt.cs: DeepSeek-R1-Zero's training template, verbatim from DeepSeek-R1 (arXiv 2501.12948) Table 1, with the
// question in place of "prompt". Not here: the plain form (PlainPrompt.cs). Tested by PromptFormatTests.
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Prompts;

/// <summary>"A conversation between User and Assistant. … User: {question}. Assistant:". The template's period after
/// the question is left out when the question already ends a sentence (".", "?" or "!"), so "What is 2 + 2?" is not
/// followed by "?.". With <paramref name="openThink"/> the text goes on with " &lt;think&gt;\n" (as TinyZero's and
/// Dr. GRPO's variants do) and the completion starts inside the think block. A conversation is rendered by its last
/// user turn: the template has room for one question.</summary>
public sealed class R1ZeroPrompt(bool openThink = false) : IPromptFormat
{
    /// <summary>The template's text before the question, verbatim.</summary>
    public const string Preamble = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
        + "The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
        + "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, "
        + "i.e., <think> reasoning process here </think> <answer> answer here </answer>.";

    public RenderedPrompt Render(Problem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var question = problem.Question.Trim();
        var stop = question.EndsWith('.') || question.EndsWith('?') || question.EndsWith('!') ? "" : ".";
        var text = $"{Preamble} User: {question}{stop} Assistant:";
        return openThink ? new(text + " <think>\n", true) : new(text, false);
    }
}
