// ConsoleChat.cs: the interactive chat loop behind `sharpseek chat`, over any TextReader/TextWriter so it is testable:
// a history of turns, /reset and /exit, replies streamed as they decode with the reasoning shown apart from the answer
// (dimmed with ANSI codes on a terminal, bracketed otherwise). Not here: argument parsing and model loading (the CLI
// command). Tested by ConsoleChatTests.
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Inference.Chat;

/// <summary>Settings of a <see cref="ConsoleChat"/>.</summary>
public sealed record ConsoleChatOptions
{
    public SamplingParameters Sampling { get; init; } = new() { Temperature = 0.6, TopP = 0.95 };

    public int? MaxNewTokens { get; init; }

    /// <summary>Dim the reasoning with ANSI escape codes (a terminal); otherwise mark it with [thinking] … [/thinking].</summary>
    public bool Ansi { get; init; }
}

/// <summary>An interactive chat: each input line is a user turn, the reply streams back and joins the history.</summary>
public sealed class ConsoleChat(IGenerationEngine engine, ByteLevelBpe tokenizer, ChatTemplate template, ConsoleChatOptions? options = null)
{
    private const string Dim = "\u001b[2m";
    private const string Reset = "\u001b[0m";
    private readonly ConsoleChatOptions _options = options ?? new ConsoleChatOptions();
    private readonly List<ChatTurn> _history = [];

    /// <summary>The turns so far (user and assistant, reasoning kept apart).</summary>
    public IReadOnlyList<ChatTurn> History => _history;

    /// <summary>Reads lines until /exit or the end of input. An engine refusal (queue full, prompt too long) is printed
    /// and the turn dropped; cancelling <paramref name="cancellationToken"/> stops the reply in progress and the loop.</summary>
    public async Task RunAsync(TextReader input, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        await output.WriteLineAsync("Type a message; /reset clears the history, /exit quits.");
        while (!cancellationToken.IsCancellationRequested)
        {
            await output.WriteAsync("> ");
            await output.FlushAsync(cancellationToken);
            var line = await input.ReadLineAsync(cancellationToken);
            if (line is null || line.Trim() == "/exit") { break; }
            line = line.Trim();
            if (line.Length == 0) { continue; }
            if (line == "/reset")
            {
                _history.Clear();
                await output.WriteLineAsync("(history cleared)");
                continue;
            }
            if (line.StartsWith('/'))
            {
                await output.WriteLineAsync($"unknown command '{line}'; the commands are /reset and /exit");
                continue;
            }
            await ReplyAsync(line, output, cancellationToken);
        }
    }

    private async Task ReplyAsync(string user, TextWriter output, CancellationToken cancellationToken)
    {
        _history.Add(new ChatTurn("user", user));
        var reasoning = new System.Text.StringBuilder();
        var content = new System.Text.StringBuilder();
        var inReasoning = false;
        FinishReason? finish = null;
        try
        {
            var prompt = ChatPrompt.Build(template, tokenizer, _history);
            var request = new GenerationRequest { Prompt = prompt.Ids, Sampling = _options.Sampling, MaxNewTokens = _options.MaxNewTokens };
            await foreach (var delta in ChatGeneration.StreamAsync(engine, request, prompt.StartsInReasoning, cancellationToken))
            {
                if (delta.Reasoning.Length > 0)
                {
                    if (!inReasoning) { await output.WriteAsync(_options.Ansi ? Dim : "[thinking] "); }
                    inReasoning = true;
                    reasoning.Append(delta.Reasoning);
                    await output.WriteAsync(delta.Reasoning);
                }
                if (delta.Content.Length > 0)
                {
                    if (inReasoning) { await output.WriteAsync(_options.Ansi ? Reset + "\n" : " [/thinking]\n"); }
                    inReasoning = false;
                    content.Append(delta.Content);
                    await output.WriteAsync(delta.Content);
                }
                await output.FlushAsync(cancellationToken);
                finish = delta.Finish ?? finish;
            }
            if (inReasoning) { await output.WriteAsync(_options.Ansi ? Reset : " [/thinking]"); }
            await output.WriteLineAsync(finish == FinishReason.Length ? " [stopped: token limit]" : "");
            _history.Add(new ChatTurn("assistant", content.ToString(), reasoning.Length > 0 ? reasoning.ToString() : null));
        }
        catch (Exception e) when (e is QueueFullException or PromptTooLongException or ArgumentException or ChatTemplateException)
        {
            _history.RemoveAt(_history.Count - 1);
            await output.WriteLineAsync($"{(inReasoning && _options.Ansi ? Reset : "")}error: {e.Message}");
        }
    }
}
