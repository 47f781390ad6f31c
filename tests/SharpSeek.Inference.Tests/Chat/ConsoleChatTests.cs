// ConsoleChatTests.cs: the interactive chat loop: streamed answer with reasoning apart, history across turns, /reset,
// /exit, unknown commands, and an engine refusal that leaves the history as it was.
using SharpSeek.Inference.Chat;
using SharpSeek.Inference.Text;

namespace SharpSeek.Inference.Tests.Chat;

public sealed class ConsoleChatTests
{
    private static async Task<(string Output, ConsoleChat Chat, ScriptedEngine Engine)> RunAsync(string input, bool ansi, int maxContext = 512)
    {
        var engine = new ScriptedEngine(ChatTestData.Tokenizer, ChatTestData.R1Reply, maxContext);
        var chat = new ConsoleChat(engine, ChatTestData.Tokenizer, ChatTemplate.BuiltIn, new ConsoleChatOptions { Ansi = ansi });
        using var output = new StringWriter();
        await chat.RunAsync(new StringReader(input), output);
        return (output.ToString(), chat, engine);
    }

    [Fact]
    public async Task Ansi_ReasoningDimmedThenAnswer()
    {
        var (output, chat, _) = await RunAsync("cats\n/exit\nnever read\n", ansi: true);
        Assert.Contains("> \u001b[2mLet me think about cats.\u001b[0m\nThe answer to cats is 42.\n> ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("never read", output, StringComparison.Ordinal);
        Assert.Equal([new ChatTurn("user", "cats"), new ChatTurn("assistant", "The answer to cats is 42.", "Let me think about cats.")], chat.History);
    }

    [Fact]
    public async Task History_CarriesOver_ResetClearsIt()
    {
        var (output, chat, engine) = await RunAsync("one\ntwo\n/reset\nthree\n/what\n", ansi: false);
        Assert.Contains("[thinking] Let me think about two. [/thinking]\nThe answer to two is 42.", output, StringComparison.Ordinal);
        Assert.Contains("(history cleared)", output, StringComparison.Ordinal);
        Assert.Contains("unknown command '/what'", output, StringComparison.Ordinal);
        var prompts = engine.Received.Select(r => ChatTestData.Tokenizer.Decode([.. r.Prompt])).ToList();
        Assert.Equal(3, prompts.Count);
        Assert.Contains("The answer to one is 42.", prompts[1], StringComparison.Ordinal);
        Assert.DoesNotContain("one", prompts[2], StringComparison.Ordinal);
        Assert.Equal(2, chat.History.Count);
    }

    [Fact]
    public async Task PromptTooLong_PrintsErrorAndDropsTheTurn()
    {
        var (output, chat, _) = await RunAsync(string.Concat(Enumerable.Repeat("long words ", 40)) + "\nok\n", ansi: false, maxContext: 40);
        Assert.Matches("error: the prompt has [0-9]+ tokens but the context holds 40", output);
        Assert.Equal("ok", chat.History[0].Content);
    }

    [Fact]
    public async Task TokenLimit_SaidAfterTheReply()
    {
        var engine = new ScriptedEngine(ChatTestData.Tokenizer, ChatTestData.R1Reply);
        var chat = new ConsoleChat(engine, ChatTestData.Tokenizer, ChatTemplate.BuiltIn, new ConsoleChatOptions { MaxNewTokens = 3 });
        using var output = new StringWriter();
        await chat.RunAsync(new StringReader("cats\n"), output);
        var reasoning = ChatTestData.Tokenizer.Decode(ChatTestData.Tokenizer.Encode("Let me think about cats.").AsSpan(0, 3));
        Assert.Contains($"> [thinking] {reasoning} [/thinking] [stopped: token limit]\n> ", output.ToString(), StringComparison.Ordinal);
    }
}
