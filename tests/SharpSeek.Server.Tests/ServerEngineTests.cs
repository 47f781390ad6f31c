// ServerEngineTests.cs: end to end with the real engine: BatchEngine over a tiny random-weight model behind the server,
// spoken to with the OpenAI SDK and MEAI's IChatClient. Greedy replies must equal a lone SpeculativeDecoder run of the
// same prompt (16 concurrent MEAI streams on 4 slots, then one SDK call), split into reasoning and content as the
// template says.
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using SharpSeek.Inference.Chat;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Runtime;
using SharpSeek.Inference.Tests.Chat;
using SharpSeek.Inference.Tests.Runtime;
using SharpSeek.Inference.Text;
using SharpSeek.Model;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using SdkCompletion = OpenAI.Chat.ChatCompletion;

namespace SharpSeek.Server.Tests;

public sealed class ServerEngineTests
{
    private const int Context = 128;
    private const int NewTokens = 10;

    internal static (ModelConfig Config, InferenceWeights Weights) TinyModel()
    {
        var config = RuntimeFixture.Config() with { VocabSize = ChatTestData.Tokenizer.VocabSize };
        var model = RuntimeFixture.Weights(config, seed: 5); // not disposed: the runtime reads these weights in place
        return (config, InferenceWeights.From(model, WeightFormat.F32));
    }

    // The reference: the prompt alone through the runtime's greedy decoder, decoded and split like the server does.
    private static (string Reasoning, string Content) Lone(ModelConfig config, InferenceWeights weights, string user)
    {
        var prompt = ChatPrompt.Build(ChatTemplate.BuiltIn, ChatTestData.Tokenizer, [new ChatTurn("user", user)]);
        using var cache = new KvCache(config, 1, Context);
        using var runner = new ModelRunner(weights, cache);
        var ids = new SpeculativeDecoder(runner).Generate(prompt.Ids, NewTokens, speculative: false);
        Assert.Equal(NewTokens, ids.Length);
        var detokenizer = new StreamingDetokenizer(ChatTestData.Tokenizer, skipSpecialTokens: true);
        var text = string.Concat(ids.Select(detokenizer.Push)) + detokenizer.Flush();
        var splitter = new ReasoningSplitter(prompt.StartsInReasoning);
        var (r1, c1) = splitter.Push(text);
        var (r2, c2) = splitter.Flush();
        return (r1 + r2, c1 + c2);
    }

    [Fact]
    public async Task RealEngine_GreedyRepliesEqualLoneRuns_SdkStreamsAndMeai()
    {
        var (config, weights) = TinyModel();
        using var cache = new KvCache(config, 4, Context);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, ChatTestData.Tokenizer, queueCapacity: 32, prefillChunk: 16);
        await using var live = await LiveServer.StartAsync(engine);
        var chat = live.Meai();
        var streamed = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            var (reasoning, content) = (new System.Text.StringBuilder(), new System.Text.StringBuilder());
            Microsoft.Extensions.AI.ChatFinishReason? finish = null;
            await foreach (var u in chat.GetStreamingResponseAsync([new AiChatMessage(ChatRole.User, $"question {i}")], new ChatOptions { Temperature = 0, MaxOutputTokens = NewTokens }))
            {
                foreach (var r in u.Contents.OfType<TextReasoningContent>()) { reasoning.Append(r.Text); }
                content.Append(u.Text);
                finish ??= u.FinishReason;
            }
            return (Reasoning: reasoning.ToString(), Content: content.ToString(), Finish: finish);
        }));
        for (var i = 0; i < 16; i++)
        {
            var expected = Lone(config, weights, $"question {i}");
            Assert.True(expected.Reasoning.Length + expected.Content.Length > 0, "the reference reply is empty");
            Assert.Equal(expected, (streamed[i].Reasoning, streamed[i].Content));
            Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Length, streamed[i].Finish);
        }

        SdkCompletion reply = await live.OpenAi().CompleteChatAsync([new UserChatMessage("why")], new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = NewTokens });
        Assert.Equal(Lone(config, weights, "why").Content, reply.Content.Count == 0 ? "" : reply.Content[0].Text);
        Assert.Equal(NewTokens, reply.Usage.OutputTokenCount);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Length, reply.FinishReason);
        Assert.Equal(17, engine.Metrics.Requests);
        Assert.Equal(17L * NewTokens, engine.Metrics.GeneratedTokens);
    }

    // --speculative on the server: greedy requests draft with the MTP module, and the replies do not change.
    [Fact]
    public async Task RealEngine_SpeculativeServer_SameGreedyReplies_CountsDrafts()
    {
        var (config, weights) = TinyModel();
        using var cache = new KvCache(config, 4, Context);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, ChatTestData.Tokenizer, queueCapacity: 32, prefillChunk: 16);
        await using var live = await LiveServer.StartAsync(engine, speculative: true);
        var replies = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            live.OpenAi().CompleteChatAsync([new UserChatMessage($"question {i}")], new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = NewTokens })));
        for (var i = 0; i < 4; i++)
        {
            SdkCompletion reply = replies[i];
            Assert.Equal(Lone(config, weights, $"question {i}").Content, reply.Content.Count == 0 ? "" : reply.Content[0].Text);
            Assert.Equal(NewTokens, reply.Usage.OutputTokenCount);
        }
        Assert.True(engine.Metrics.DraftedTokens > 0, "the speculative server drafted nothing");
        Assert.InRange(engine.Metrics.AcceptedDraftTokens, 0, engine.Metrics.DraftedTokens);

        // The engine reports its cache: MLA bytes per token and how many times larger an MHA cache would be.
        var kv = KvCacheSize.For(config);
        Assert.Equal(kv.MlaBytesPerToken(sizeof(float)), engine.Metrics.KvCacheBytesPerToken);
        Assert.Equal(kv.Ratio, engine.Metrics.KvCacheMhaRatio);
        Assert.InRange(engine.Metrics.KvCacheMhaRatio, 1.01, 1000);
        Assert.True(engine.Metrics.KvCacheCapacityBytes >= 4L * Context * engine.Metrics.KvCacheBytesPerToken);
        var metrics = await live.Http.GetStringAsync("/metrics");
        Assert.Contains($"sharpseek_kv_cache_bytes_per_token {engine.Metrics.KvCacheBytesPerToken}\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"sharpseek_spec_drafted_tokens_total {engine.Metrics.DraftedTokens}\n", metrics, StringComparison.Ordinal);
    }
}
