// SharpSeekChatClientTests.cs: the in-process IChatClient: reasoning as TextReasoningContent, the final update's finish
// reason and usage, ChatOptions mapped onto the engine request, metadata, and concurrent use.
using Microsoft.Extensions.AI;
using SharpSeek.Inference.Chat;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;

namespace SharpSeek.Inference.Tests.Chat;

public sealed class SharpSeekChatClientTests
{
    private static (SharpSeekChatClient Client, ScriptedEngine Engine) Create(Func<string, string>? script = null)
    {
        var engine = new ScriptedEngine(ChatTestData.Tokenizer, script ?? ChatTestData.R1Reply);
        return (new SharpSeekChatClient(engine, ChatTestData.Tokenizer, ChatTemplate.BuiltIn, "tiny-r1"), engine);
    }

    [Fact]
    public async Task GetResponse_R1Reply_ReasoningContentTextAndUsage()
    {
        var (client, _) = Create();
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "dogs")]);
        Assert.Equal("The answer to dogs is 42.", response.Text);
        var message = Assert.Single(response.Messages);
        Assert.Equal(ChatRole.Assistant, message.Role);
        Assert.Equal("Let me think about dogs.", Assert.Single(message.Contents.OfType<TextReasoningContent>()).Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("tiny-r1", response.ModelId);
        var expectedOut = ChatTestData.Tokenizer.Encode(ChatTestData.R1Reply("<｜User｜>dogs<｜Assistant｜>")).Length;
        Assert.Equal(expectedOut, response.Usage!.OutputTokenCount);
        Assert.True(response.Usage.InputTokenCount > 0);
        Assert.Equal(response.Usage.InputTokenCount + expectedOut, response.Usage.TotalTokenCount);
        Assert.Equal(ChatTestData.Tokenizer.Encode("Let me think about dogs.").Length, response.Usage.ReasoningTokenCount);
    }

    [Fact]
    public async Task GetStreamingResponse_R1Reply_ReasoningUpdatesThenTextThenUsage()
    {
        var (client, _) = Create();
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "owls")])) { updates.Add(u); }
        Assert.True(updates.Count > 3);
        Assert.Equal("Let me think about owls.", string.Concat(updates.SelectMany(u => u.Contents.OfType<TextReasoningContent>()).Select(c => c.Text)));
        Assert.Equal("The answer to owls is 42.", string.Concat(updates.Select(u => u.Text)));
        Assert.All(updates, u => Assert.Equal(ChatRole.Assistant, u.Role));
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
        Assert.All(updates.SkipLast(1), u => Assert.Null(u.FinishReason));
        var usage = Assert.Single(updates.SelectMany(u => u.Contents.OfType<UsageContent>()));
        Assert.Same(updates[^1], updates.Single(u => u.Contents.Contains(usage)));
        Assert.True(usage.Details.OutputTokenCount > 5);
        var folded = await client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "owls")]).ToChatResponseAsync();
        Assert.Equal("The answer to owls is 42.", folded.Text);
    }

    [Fact]
    public async Task Options_MapOntoEngineRequest()
    {
        var (client, engine) = Create(_ => "</think>alpha beta STOP gamma");
        var options = new ChatOptions
        {
            Temperature = 0.25f,
            TopP = 0.5f,
            TopK = 7,
            MaxOutputTokens = 50,
            Seed = 1234,
            FrequencyPenalty = 0.5f,
            PresencePenalty = -0.5f,
            StopSequences = ["STOP"],
            Instructions = "be brief",
            AdditionalProperties = new() { [SharpSeekChatClient.MinPKey] = 0.05, [SharpSeekChatClient.RepetitionPenaltyKey] = 1.1 },
        };
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "x")], options);
        Assert.Equal("alpha beta ", response.Text);
        var r = Assert.Single(engine.Received);
        Assert.Equal(0.25, r.Sampling.Temperature, 6);
        Assert.Equal(0.5, r.Sampling.TopP, 6);
        Assert.Equal(7, r.Sampling.TopK);
        Assert.Equal(0.05, r.Sampling.MinP, 6);
        Assert.Equal(1.1, r.Sampling.RepetitionPenalty, 6);
        Assert.Equal(0.5, r.Sampling.FrequencyPenalty, 6);
        Assert.Equal(-0.5, r.Sampling.PresencePenalty, 6);
        Assert.Equal(1234L, r.Sampling.Seed);
        Assert.Equal(50, r.MaxNewTokens);
        Assert.Equal(["STOP"], r.StopStrings);
        Assert.StartsWith("<｜begin▁of▁sentence｜>be brief", ChatTestData.Tokenizer.Decode([.. r.Prompt]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task History_AssistantReasoning_IsDroppedFromPrompt()
    {
        var (client, engine) = Create();
        ChatMessage[] history =
        [
            new(ChatRole.User, "first"),
            new(ChatRole.Assistant, [new TextReasoningContent("secret chain"), new TextContent("first answer")]),
            new(ChatRole.User, "second"),
        ];
        var response = await client.GetResponseAsync(history);
        Assert.Equal("The answer to second is 42.", response.Text);
        var prompt = ChatTestData.Tokenizer.Decode([.. Assert.Single(engine.Received).Prompt]);
        Assert.Contains("first answer", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("secret chain", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetService_Metadata_AndConcurrentCalls()
    {
        var (client, engine) = Create();
        var meta = Assert.IsType<ChatClientMetadata>(client.GetService(typeof(ChatClientMetadata)));
        Assert.Equal("tiny-r1", meta.DefaultModelId);
        Assert.Same(engine, client.GetService(typeof(IGenerationEngine)));
        Assert.Null(client.GetService(typeof(ChatClientMetadata), "key"));
        engine.TokenDelay = TimeSpan.FromMilliseconds(1);
        var replies = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => client.GetResponseAsync([new ChatMessage(ChatRole.User, $"q{i}")])));
        for (var i = 0; i < 16; i++) { Assert.Equal($"The answer to q{i} is 42.", replies[i].Text); }
    }

    [Fact]
    public async Task Cancel_MidStream_FreesTheEngineSlot()
    {
        var (client, engine) = Create();
        engine.TokenDelay = TimeSpan.FromMilliseconds(20);
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "long")], cancellationToken: cts.Token)) { await cts.CancelAsync(); }
        });
        Assert.Equal(0, engine.Running);
        Assert.Equal(1, engine.Cancelled);
    }
}
