// ServerSdkTests.cs: the server through real clients over loopback: the official OpenAI .NET SDK and
// Microsoft.Extensions.AI's OpenAI IChatClient: replies, streaming, reasoning split, usage, stop sequences, every error
// status (429 with Retry-After), tools and JSON mode refused with a message the clients surface, 16 concurrent
// streams, and a client that leaves mid-stream freeing its engine slot.
using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using SharpSeek.Inference.Tests.Chat;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AiFinishReason = Microsoft.Extensions.AI.ChatFinishReason;
using SdkCompletion = OpenAI.Chat.ChatCompletion;

namespace SharpSeek.Server.Tests;

public sealed class ServerSdkTests
{
    private static int Tokens(string text) => ChatTestData.Tokenizer.Encode(text).Length;

    [Fact]
    public async Task OpenAiSdk_NonStream_AnswerFinishAndUsage()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        SdkCompletion reply = await live.OpenAi().CompleteChatAsync([new UserChatMessage("cats")]);
        Assert.Equal("The answer to cats is 42.", Assert.Single(reply.Content).Text);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, reply.FinishReason);
        Assert.Equal(LiveServer.Model, reply.Model);
        var sent = Assert.Single(engine.Received);
        Assert.Equal(sent.Prompt.Count, reply.Usage.InputTokenCount);
        Assert.Equal(Tokens("Let me think about cats.</think>The answer to cats is 42."), reply.Usage.OutputTokenCount);
        Assert.Equal(reply.Usage.InputTokenCount + reply.Usage.OutputTokenCount, reply.Usage.TotalTokenCount);
        Assert.Equal(Tokens("Let me think about cats."), reply.Usage.OutputTokenDetails.ReasoningTokenCount);
    }

    [Fact]
    public async Task OpenAiSdk_Stream_TextInOrderAndUsage()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var text = new System.Text.StringBuilder();
        var updates = new List<StreamingChatCompletionUpdate>();
        await foreach (var u in live.OpenAi().CompleteChatStreamingAsync([new UserChatMessage("dogs")]))
        {
            updates.Add(u);
            foreach (var part in u.ContentUpdate) { text.Append(part.Text); }
        }
        Assert.Equal("The answer to dogs is 42.", text.ToString());
        Assert.Equal(ChatMessageRole.Assistant, updates[0].Role);
        Assert.Contains(updates, u => u.FinishReason == OpenAI.Chat.ChatFinishReason.Stop);
        var usage = Assert.Single(updates, u => u.Usage is not null).Usage;
        Assert.Equal(Tokens("Let me think about dogs.</think>The answer to dogs is 42."), usage.OutputTokenCount);
    }

    [Fact]
    public async Task Meai_NonStream_ReasoningIsTextReasoningContent()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var response = await live.Meai().GetResponseAsync([new AiChatMessage(ChatRole.User, "owls")]);
        Assert.Equal("The answer to owls is 42.", response.Text);
        var reasoning = response.Messages.SelectMany(m => m.Contents).OfType<TextReasoningContent>();
        Assert.Equal("Let me think about owls.", string.Concat(reasoning.Select(r => r.Text)));
        Assert.Equal(AiFinishReason.Stop, response.FinishReason);
        Assert.Equal(Tokens("Let me think about owls.</think>The answer to owls is 42."), response.Usage!.OutputTokenCount);
        Assert.Equal(Tokens("Let me think about owls."), response.Usage.ReasoningTokenCount);
    }

    [Fact]
    public async Task Meai_Stream_ReasoningUpdatesAnswerAndUsage()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in live.Meai().GetStreamingResponseAsync([new AiChatMessage(ChatRole.User, "bees")])) { updates.Add(u); }
        Assert.Equal("Let me think about bees.", string.Concat(updates.SelectMany(u => u.Contents.OfType<TextReasoningContent>()).Select(r => r.Text)));
        Assert.Equal("The answer to bees is 42.", string.Concat(updates.Select(u => u.Text)));
        Assert.Contains(updates, u => u.FinishReason == AiFinishReason.Stop);
        var usage = Assert.Single(updates.SelectMany(u => u.Contents.OfType<UsageContent>()));
        Assert.Equal(Tokens("Let me think about bees.</think>The answer to bees is 42."), usage.Details.OutputTokenCount);
    }

    [Fact]
    public async Task StopSequences_BothClients_CutBeforeTheStopText()
    {
        using var engine = new ScriptedEngine(ChatTestData.Tokenizer, _ => "</think>red green END blue");
        await using var live = await LiveServer.StartAsync(engine);
        var options = new ChatCompletionOptions();
        options.StopSequences.Add("END");
        SdkCompletion sdk = await live.OpenAi().CompleteChatAsync([new UserChatMessage("x")], options);
        Assert.Equal("red green ", sdk.Content[0].Text);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, sdk.FinishReason);
        var streamed = new System.Text.StringBuilder();
        await foreach (var u in live.Meai().GetStreamingResponseAsync([new AiChatMessage(ChatRole.User, "x")], new ChatOptions { StopSequences = ["n E"] }))
        {
            streamed.Append(u.Text);
        }
        Assert.Equal("red gree", streamed.ToString());
        Assert.All(engine.Received, r => Assert.Single(r.StopStrings));
    }

    [Fact]
    public async Task MaxTokens_Sdk_FinishesWithLength()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        SdkCompletion reply = await live.OpenAi().CompleteChatAsync([new UserChatMessage("cats")], new ChatCompletionOptions { MaxOutputTokenCount = 4 });
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Length, reply.FinishReason);
        Assert.Equal(4, reply.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Errors_Sdk_StatusAndMessage()
    {
        using var engine = LiveServer.R1Engine(maxContext: 40, slots: 1, queue: 0);
        await using var live = await LiveServer.StartAsync(engine, apiKey: "sekret");
        UserChatMessage[] hi = [new("hi")];

        var e401 = await Assert.ThrowsAsync<ClientResultException>(() => live.OpenAi(key: "wrong").CompleteChatAsync(hi));
        Assert.Equal(401, e401.Status);
        Assert.Contains("invalid API key", e401.Message, StringComparison.Ordinal);

        var e404 = await Assert.ThrowsAsync<ClientResultException>(() => live.OpenAi(model: "gpt-9").CompleteChatAsync(hi));
        Assert.Equal(404, e404.Status);
        Assert.Contains("gpt-9", e404.Message, StringComparison.Ordinal);

        var e400 = await Assert.ThrowsAsync<ClientResultException>(() => live.OpenAi().CompleteChatAsync(hi, new ChatCompletionOptions { Temperature = 7f }));
        Assert.Equal(400, e400.Status);
        Assert.Contains("temperature", e400.Message, StringComparison.Ordinal);

        var tooLong = await Assert.ThrowsAsync<ClientResultException>(() => live.OpenAi().CompleteChatAsync([new UserChatMessage(string.Concat(Enumerable.Repeat("many words here ", 20)))]));
        Assert.Equal(400, tooLong.Status);
        Assert.Matches("the prompt has [0-9]+ tokens but the context holds 40", tooLong.Message);

        engine.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = live.OpenAi().CompleteChatAsync(hi);
        await WaitForAsync(() => engine.Running == 1);
        var e429 = await Assert.ThrowsAsync<ClientResultException>(() => live.Meai().GetResponseAsync([new AiChatMessage(ChatRole.User, "hi")]));
        Assert.Equal(429, e429.Status);
        Assert.True(e429.GetRawResponse()!.Headers.TryGetValue("Retry-After", out var retryAfter));
        Assert.Equal("1", retryAfter);
        engine.Gate.SetResult();
        Assert.Equal("The answer to hi is 42.", (await holding).Value.Content[0].Text);
    }

    [Fact]
    public async Task UnsupportedFeatures_BothClients_400NamesTheFeature_OffValuesPass()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        UserChatMessage[] hi = [new("hi")];
        var tools = await Assert.ThrowsAsync<ClientResultException>(() => live.OpenAi().CompleteChatAsync(hi, new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("lookup", "finds things") } }));
        Assert.Equal(400, tools.Status);
        Assert.Contains("'tools' is not supported yet", tools.Message, StringComparison.Ordinal);
        var json = await Assert.ThrowsAsync<ClientResultException>(() => live.OpenAi().CompleteChatAsync(hi, new ChatCompletionOptions { ResponseFormat = OpenAI.Chat.ChatResponseFormat.CreateJsonObjectFormat() }));
        Assert.Equal(400, json.Status);
        Assert.Contains("'response_format' of type \"json_object\" is not supported yet", json.Message, StringComparison.Ordinal);
        var meaiTools = await Assert.ThrowsAsync<ClientResultException>(() => live.Meai().GetResponseAsync("hi", new ChatOptions { Tools = [AIFunctionFactory.Create(() => 42, "answer")] }));
        Assert.Contains("'tools' is not supported yet", meaiTools.Message, StringComparison.Ordinal);
        var meaiJson = await Assert.ThrowsAsync<ClientResultException>(() => live.Meai().GetResponseAsync("hi", new ChatOptions { ResponseFormat = Microsoft.Extensions.AI.ChatResponseFormat.Json }));
        Assert.Contains("'response_format'", meaiJson.Message, StringComparison.Ordinal);
        Assert.Empty(engine.Received);

        SdkCompletion text = await live.OpenAi().CompleteChatAsync(hi, new ChatCompletionOptions { ResponseFormat = OpenAI.Chat.ChatResponseFormat.CreateTextFormat() });
        Assert.Equal("The answer to hi is 42.", text.Content[0].Text);
        var meaiText = await live.Meai().GetResponseAsync("hi", new ChatOptions { ResponseFormat = Microsoft.Extensions.AI.ChatResponseFormat.Text, ToolMode = ChatToolMode.None });
        Assert.Equal("The answer to hi is 42.", meaiText.Text);
    }

    [Fact]
    public async Task SixteenConcurrentStreams_AllCompleteWithTheirOwnText()
    {
        using var engine = LiveServer.R1Engine();
        engine.TokenDelay = TimeSpan.FromMilliseconds(2);
        await using var live = await LiveServer.StartAsync(engine);
        var client = live.OpenAi();
        var texts = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            var sb = new System.Text.StringBuilder();
            await foreach (var u in client.CompleteChatStreamingAsync([new UserChatMessage($"question {i}")]))
            {
                foreach (var part in u.ContentUpdate) { sb.Append(part.Text); }
            }
            return sb.ToString();
        }));
        for (var i = 0; i < 16; i++) { Assert.Equal($"The answer to question {i} is 42.", texts[i]); }
        Assert.Equal(16, engine.Metrics.Requests);
        Assert.Equal(0, engine.Running);
    }

    [Fact]
    public async Task ClientDisconnect_MidStream_CancelsGenerationAndFreesSlot()
    {
        // a reply of ~1000 tokens at 20 ms each: far longer than HttpClient's 2 s response drain, so only a cancellation
        // can end it early
        using var engine = new ScriptedEngine(ChatTestData.Tokenizer, p => p.EndsWith("<think>\n", StringComparison.Ordinal) && p.Contains("long", StringComparison.Ordinal)
            ? "</think>" + string.Concat(Enumerable.Repeat("word ", 1000)) : ChatTestData.R1Reply(p), maxContext: 4096, slots: 1, queue: 0);
        engine.TokenDelay = TimeSpan.FromMilliseconds(20);
        var started = DateTime.UtcNow;
        await using var live = await LiveServer.StartAsync(engine);
        using (var cts = new CancellationTokenSource())
        {
            await foreach (var _ in live.OpenAi().CompleteChatStreamingAsync([new UserChatMessage("long")], cancellationToken: cts.Token).WithCancellation(cts.Token))
            {
                await cts.CancelAsync();
                break;
            }
        }
        await WaitForAsync(() => engine.Running == 0 && engine.Cancelled == 1);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(12), "the generation ran on after the client left");
        Assert.True(engine.Metrics.GeneratedTokens < 600, $"generated {engine.Metrics.GeneratedTokens} tokens after the client left");
        engine.TokenDelay = TimeSpan.Zero;
        SdkCompletion next = await live.OpenAi().CompleteChatAsync([new UserChatMessage("next")]);
        Assert.Equal("The answer to next is 42.", next.Content[0].Text);
    }

    internal static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 20 s");
            await Task.Delay(10);
        }
    }
}
