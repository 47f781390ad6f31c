// PlainPrompt.cs: the "User: …\nAssistant:" form the built-in corpus pretrains on (its documents continue with
// " <think>\n…"), so a model pretrained on it is prompted in its own format. Not here: R1-Zero's template
// (R1ZeroPrompt.cs). Tested by PromptFormatTests.
using System.Text;
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Prompts;

/// <summary>"User: {question}\nAssistant:". A conversation is rendered turn by turn ("System: …", "User: …",
/// "Assistant: …", one a line) before the final "Assistant:". With <paramref name="openThink"/> the text goes on with
/// " &lt;think&gt;\n", exactly as the corpus writes it, and the completion starts inside the think block.</summary>
public sealed class PlainPrompt(bool openThink = false) : IPromptFormat
{
    public RenderedPrompt Render(Problem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var text = new StringBuilder();
        if (problem.Messages is { } turns)
        {
            foreach (var turn in turns)
            {
                var role = turn.Role switch { "system" => "System", "assistant" => "Assistant", _ => "User" };
                text.Append(role).Append(": ").Append(turn.Content).Append('\n');
            }
        }
        else
        {
            text.Append("User: ").Append(problem.Question).Append('\n');
        }
        text.Append("Assistant:");
        return openThink ? new(text.Append(" <think>\n").ToString(), true) : new(text.ToString(), false);
    }
}
