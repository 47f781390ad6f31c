// R1ZeroTemplate.cs: DeepSeek-R1-Zero's training template, verbatim from DeepSeek-R1 (arXiv 2501.12948) Table 1, with
// the question in place of "prompt": the built-in corpus writes some documents in it, so that a model pretrained on the
// corpus answers under it, and the RL project prompts with it. Not here: the prompt formats (the RL project's
// Prompts/). Tested by PromptFormatTests and ReasoningCorpusTests.
namespace SharpSeek.Training.Tasks;

/// <summary>"A conversation between User and Assistant. … User: {question}. Assistant:".</summary>
public static class R1ZeroTemplate
{
    /// <summary>The template's text before the question, verbatim.</summary>
    public const string Preamble = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
        + "The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
        + "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, "
        + "i.e., <think> reasoning process here </think> <answer> answer here </answer>.";

    /// <summary>The template around <paramref name="question"/>, up to and including "Assistant:". The template's period
    /// after the question is left out when the question already ends a sentence (".", "?" or "!"), so "What is 2 + 2?"
    /// is not followed by "?.".</summary>
    public static string Prompt(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        question = question.Trim();
        var stop = question.EndsWith('.') || question.EndsWith('?') || question.EndsWith('!') ? "" : ".";
        return $"{Preamble} User: {question}{stop} Assistant:";
    }
}
