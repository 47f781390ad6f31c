// ChatGenerationTests.cs: the reasoning split over a token stream, prompt building, and the collected reply; log-probs
// pass through per delta and join in order.
using SharpSeek.Inference.Chat;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;

namespace SharpSeek.Inference.Tests.Chat;

public sealed class ChatGenerationTests
{
    private static readonly ChatTurn[] Question = [new("user", "cats")];

    [Fact]
    public void Build_R1Prompt_StartsInReasoningAndEncodesSpecialTokens()
    {
        var tok = ChatTestData.Tokenizer;
        var prompt = ChatPrompt.Build(ChatTemplate.BuiltIn, tok, Question);
        Assert.True(prompt.StartsInReasoning);
        Assert.Equal(tok.Encode(prompt.Text), prompt.Ids);
        Assert.Contains(tok.TokenToId("<think>")!.Value, prompt.Ids);
        Assert.Equal(prompt.Text, tok.Decode(prompt.Ids));
    }

    [Fact]
    public async Task Stream_R1Reply_SplitsReasoningFromContentAcrossTokens()
    {
        var tok = ChatTestData.Tokenizer;
        var engine = new ScriptedEngine(tok, ChatTestData.R1Reply);
        var prompt = ChatPrompt.Build(ChatTemplate.BuiltIn, tok, Question);
        var deltas = new List<ChatDelta>();
        await foreach (var d in ChatGeneration.StreamAsync(engine, new GenerationRequest { Prompt = prompt.Ids }, prompt.StartsInReasoning)) { deltas.Add(d); }

        Assert.True(deltas.Count > 5, $"expected a token-by-token stream, got {deltas.Count} deltas");
        Assert.Equal("Let me think about cats.", string.Concat(deltas.Select(d => d.Reasoning)));
        Assert.Equal("The answer to cats is 42.", string.Concat(deltas.Select(d => d.Content)));
        Assert.All(deltas.SkipLast(1), d => Assert.Null(d.Finish));
        var last = deltas[^1];
        Assert.Equal(FinishReason.Stop, last.Finish);
        var replyTokens = tok.Encode(ChatTestData.R1Reply(prompt.Text)).Length;
        Assert.Equal(replyTokens, last.CompletionTokens);
        Assert.Equal(prompt.Ids.Length, last.PromptTokens);
        // reasoning tokens: those of "Let me think about cats." (the tag's own tokens yield no text)
        Assert.Equal(tok.Encode("Let me think about cats.").Length, last.ReasoningTokens);
    }

    [Fact]
    public async Task LogProbs_PassThroughEachDelta_AndJoinInOrder()
    {
        var tok = ChatTestData.Tokenizer;
        var engine = new ScriptedEngine(tok, ChatTestData.R1Reply);
        var prompt = ChatPrompt.Build(ChatTemplate.BuiltIn, tok, Question);
        var request = new GenerationRequest { Prompt = prompt.Ids, LogProbs = true, TopLogProbs = 2 };
        var deltas = new List<ChatDelta>();
        await foreach (var d in ChatGeneration.StreamAsync(engine, request, prompt.StartsInReasoning)) { deltas.Add(d); }
        var reply = tok.Encode(ChatTestData.R1Reply(prompt.Text));
        Assert.Equal(reply, deltas.SelectMany(d => d.LogProbs!).Select(e => e.Token));              // reasoning and the tag included
        var whole = await ChatGeneration.CompleteAsync(engine, request, prompt.StartsInReasoning);
        Assert.Equal(reply.Select(t => ScriptedEngine.ScriptedLogProbs(t, 2, tok.VocabSize).LogProb), whole.LogProbs!.Select(e => e.LogProb));
        Assert.All(whole.LogProbs!, e => Assert.Equal(2, e.Top.Length));
        Assert.Null((await ChatGeneration.CompleteAsync(engine, request with { LogProbs = false, TopLogProbs = 0 }, prompt.StartsInReasoning)).LogProbs);
    }

    [Fact]
    public async Task Complete_NotInReasoning_AllTextIsContent()
    {
        var engine = new ScriptedEngine(ChatTestData.Tokenizer, _ => "plain words, no tags");
        var reply = await ChatGeneration.CompleteAsync(engine, new GenerationRequest { Prompt = [1, 2, 3] }, startsInReasoning: false);
        Assert.Equal("", reply.Reasoning);
        Assert.Equal("plain words, no tags", reply.Content);
        Assert.Equal(0, reply.ReasoningTokens);
    }

    [Fact]
    public async Task Complete_MaxTokens_FinishesWithLength()
    {
        var engine = new ScriptedEngine(ChatTestData.Tokenizer, _ => "one two three four five six seven");
        var reply = await ChatGeneration.CompleteAsync(engine, new GenerationRequest { Prompt = [1, 2], MaxNewTokens = 3 }, startsInReasoning: false);
        Assert.Equal(FinishReason.Length, reply.Finish);
        Assert.Equal(3, reply.CompletionTokens);
        Assert.Equal(ChatTestData.Tokenizer.Decode(ChatTestData.Tokenizer.Encode("one two three four five six seven").AsSpan(0, 3)), reply.Content);
    }
}
