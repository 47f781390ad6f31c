// SftData.cs: where fine-tuning examples come from: a JSONL file ({"prompt", "completion"} lines, or chat lines
// {"messages": […]} whose last assistant turn is the completion), or built-in task names, whose worked solutions from
// the train split become readable chains of thought (the cold start of R1's pipeline). Every prompt goes through a
// prompt format (r1zero, plain or the model's chat template). Not here: tokenizing and packing (SftPacking.cs).
// Tested by SftTests.
using System.Text.Json;
using SharpSeek.Rl.Prompts;
using SharpSeek.Rl.Tasks;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Sft;

/// <summary>Reads or generates <see cref="SftExample"/>s.</summary>
public static class SftData
{
    /// <summary>The examples <paramref name="source"/> names: a .jsonl path (every line; <paramref name="count"/> is
    /// ignored) or task names as <see cref="TaskMix.Parse"/> takes them (<paramref name="count"/> train-split problems
    /// drawn with <paramref name="seed"/>). Throws as <see cref="ProblemFile"/> does for a bad file, naming the line.</summary>
    public static IReadOnlyList<SftExample> Load(string source, IPromptFormat format, int count, int seed)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        ArgumentNullException.ThrowIfNull(format);
        if (source.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)) { return Read(source, format); }
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var tasks = TaskCatalog.Resolve(source, seed);
        return [.. Enumerable.Range(0, count).Select(i => Worked(tasks.Get(ProblemSplit.Train, i), format))];
    }

    /// <summary>A generated problem with its worked solution as the completion, in the corpus's R1 format:
    /// "&lt;think&gt;\n{solution}\n&lt;/think&gt;\n&lt;answer&gt;{answer}&lt;/answer&gt;" (without the opening tag when
    /// the prompt already opened it).</summary>
    public static SftExample Worked(Problem problem, IPromptFormat format)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(format);
        var solution = problem.Solution ?? throw new ArgumentException($"problem {problem.Id} has no worked solution (only generated problems do)", nameof(problem));
        var prompt = format.Render(problem);
        var body = $"{solution}\n</think>\n<answer>{problem.Answer}</answer>";
        return new(prompt.Text, Continue(prompt, "<think>\n" + body), prompt.Templated);
    }

    /// <summary>Every line of <paramref name="path"/> as an example. A prompt line renders its prompt as the user's
    /// question; a chat line renders the turns before its last (assistant) turn, which is the completion.</summary>
    public static IReadOnlyList<SftExample> Read(string path, IPromptFormat format)
    {
        ArgumentNullException.ThrowIfNull(format);
        return ProblemFile.ReadObjects(path, "examples", (root, number, where) => Parse(root, number, where, format));
    }

    private static SftExample Parse(JsonElement root, int number, string where, IPromptFormat format)
    {
        var hasPrompt = root.TryGetProperty("prompt", out var prompt);
        var hasMessages = root.TryGetProperty("messages", out var messages);
        if (hasPrompt == hasMessages)
        {
            throw new InvalidDataException($"{where}: {(hasPrompt ? "both" : "neither")} \"prompt\" {(hasPrompt ? "and" : "nor")} \"messages\"; give exactly one");
        }
        if (hasPrompt)
        {
            if (prompt.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(prompt.GetString())) { throw new InvalidDataException($"{where}: \"prompt\" must be a non-empty string"); }
            if (!root.TryGetProperty("completion", out var completion) || completion.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(completion.GetString()))
            {
                throw new InvalidDataException($"{where}: a \"prompt\" line needs a non-empty string \"completion\"");
            }
            var rendered = format.Render(new Problem($"line {number}", "sft", 0, prompt.GetString()!, ""));
            return new(rendered.Text, Continue(rendered, completion.GetString()!), rendered.Templated);
        }
        var turns = ProblemFile.Turns(messages, where, lastRole: "assistant");
        if (turns.Count < 2 || turns[^2].Role != "user") { throw new InvalidDataException($"{where}: the assistant's last turn must answer a user turn"); }
        var context = turns[..^1];
        var text = format.Render(new Problem($"line {number}", "sft", 0, context[^1].Content, "") { Messages = context });
        return new(text.Text, Continue(text, turns[^1].Content), text.Templated);
    }

    // The completion as it continues the prompt: after a prompt that opened the think block (DeepSeek-R1's chat
    // template), a completion's own "<think>\n" is dropped; after "Assistant:" (r1zero, plain) the reply follows a
    // space, as the corpus writes it.
    private static string Continue(RenderedPrompt prompt, string completion)
    {
        if (prompt.StartsInThink && completion.StartsWith("<think>", StringComparison.Ordinal))
        {
            completion = completion["<think>".Length..];
            if (completion.StartsWith('\n')) { completion = completion[1..]; }
            return completion;
        }
        return prompt.Text.EndsWith(':') && completion.Length > 0 && !char.IsWhiteSpace(completion[0]) ? " " + completion : completion;
    }
}
