// ServerRawTests.cs: the wire format byte by byte with a plain HttpClient: SSE framing (role first, [DONE] last,
// usage chunk with choices: []), n choices, completions, models, health, metrics, malformed bodies and bad parameters
// (400 naming the field), unknown routes, auth, unexpected and mid-stream engine failures, and a raw disconnect.
using System.Net;
using System.Text.Json;
using SharpSeek.Inference.Tests.Chat;

namespace SharpSeek.Server.Tests;

public sealed class ServerRawTests
{
    internal static async Task<List<string>> EventsAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("\n\n", body, StringComparison.Ordinal);
        var events = body[..^2].Split("\n\n");
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        Assert.All(events, e => Assert.DoesNotContain("\n", e, StringComparison.Ordinal));
        return [.. events.Select(e => e["data: ".Length..])];
    }

    internal static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out _));
        Assert.True(error.TryGetProperty("code", out _));
        return error.Clone();
    }

    [Fact]
    public async Task ChatStream_SseFraming_RoleFirstDeltasFinishUsageDone()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var events = await EventsAsync(await live.PostAsync("/v1/chat/completions",
            """{"model":"tiny-r1","messages":[{"role":"user","content":"cats"}],"stream":true,"stream_options":{"include_usage":true},"some_future_field":[1,2]}"""));
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        var first = chunks[0].GetProperty("choices")[0];
        Assert.Equal("assistant", first.GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("", first.GetProperty("delta").GetProperty("content").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("finish_reason").ValueKind);

        var usageChunk = chunks[^1];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        var usage = usageChunk.GetProperty("usage");
        Assert.Equal(engine.Received.Single().Prompt.Count, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());

        var finish = chunks[^2].GetProperty("choices")[0];
        Assert.Equal("stop", finish.GetProperty("finish_reason").GetString());
        Assert.Equal("{}", finish.GetProperty("delta").GetRawText());
        var middle = chunks.Skip(1).SkipLast(2).ToList();
        Assert.All(middle, c => Assert.Equal(JsonValueKind.Null, c.GetProperty("usage").ValueKind));
        string Field(string name) => string.Concat(middle.Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Select(d => d.TryGetProperty(name, out var v) ? v.GetString() : ""));
        Assert.Equal("Let me think about cats.", Field("reasoning_content"));
        Assert.Equal("The answer to cats is 42.", Field("content"));
    }

    [Fact]
    public async Task ChatStream_WithoutIncludeUsage_NoUsageChunk()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var events = await EventsAsync(await live.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"stream":true}"""));
        Assert.All(events.SkipLast(1), e => Assert.Equal(1, JsonDocument.Parse(e).RootElement.GetProperty("choices").GetArrayLength()));
    }

    [Fact]
    public async Task ChatNonStream_ReasoningContentAndHistoryReasoningAccepted()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var response = await live.PostAsync("/v1/chat/completions", """
            {"messages":[{"role":"system","content":"sys"},{"role":"user","content":"a"},
             {"role":"assistant","content":"old answer","reasoning_content":"old chain"},
             {"role":"user","content":[{"type":"text","text":"b"},{"type":"text","text":"c"}]}],"max_completion_tokens":100,"max_tokens":3}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        var message = root.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal("The answer to bc is 42.", message.GetProperty("content").GetString());
        Assert.Equal("Let me think about bc.", message.GetProperty("reasoning_content").GetString());
        Assert.True(root.GetProperty("usage").GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32() > 0);
        var prompt = ChatTestData.Tokenizer.Decode([.. engine.Received.Single().Prompt]);
        Assert.Contains("old answer", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("old chain", prompt, StringComparison.Ordinal);
        Assert.Equal(100, engine.Received.Single().MaxNewTokens); // max_completion_tokens wins over max_tokens
    }

    [Fact]
    public async Task Chat_NChoices_EachRunsWithItsOwnSeed_UsageSums()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var root = JsonDocument.Parse(await (await live.PostAsync("/v1/chat/completions",
            """{"messages":[{"role":"user","content":"q"}],"n":3,"seed":10,"temperature":0.7,"top_p":0.9,"top_k":5,"min_p":0.1,"repetition_penalty":1.2,"frequency_penalty":0.3,"presence_penalty":0.4}""")).Content.ReadAsStringAsync()).RootElement;
        var choices = root.GetProperty("choices");
        Assert.Equal(3, choices.GetArrayLength());
        for (var i = 0; i < 3; i++) { Assert.Equal(i, choices[i].GetProperty("index").GetInt32()); }
        Assert.Equal([10L, 11L, 12L], engine.Received.Select(r => r.Sampling.Seed!.Value).Order());
        var s = engine.Received.First().Sampling;
        Assert.Equal((0.7, 0.9, 5, 0.1, 1.2, 0.3, 0.4), (s.Temperature, s.TopP, s.TopK, s.MinP, s.RepetitionPenalty, s.FrequencyPenalty, s.PresencePenalty));
        var usage = root.GetProperty("usage");
        Assert.Equal(engine.Received.First().Prompt.Count, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(3 * ChatTestData.Tokenizer.Encode(ChatTestData.R1Reply("<｜User｜>q")).Length, usage.GetProperty("completion_tokens").GetInt32());

        var events = await EventsAsync(await live.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"q"}],"n":2,"stream":true}"""));
        var byIndex = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0]).GroupBy(c => c.GetProperty("index").GetInt32()).ToList();
        Assert.Equal(2, byIndex.Count);
        Assert.All(byIndex, g => Assert.Equal("The answer to q is 42.", string.Concat(g.Select(c => c.GetProperty("delta").TryGetProperty("content", out var v) ? v.GetString() : ""))));
        Assert.All(byIndex, g => Assert.Single(g, c => c.GetProperty("finish_reason").ValueKind == JsonValueKind.String));
    }

    [Fact]
    public async Task Completions_StringAndTokenPrompts_StreamAndNot()
    {
        using var engine = new ScriptedEngine(ChatTestData.Tokenizer, p => $"[{p}] continued");
        await using var live = await LiveServer.StartAsync(engine);
        var root = JsonDocument.Parse(await (await live.PostAsync("/v1/completions", """{"prompt":"Once upon","max_tokens":50}""")).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("text_completion", root.GetProperty("object").GetString());
        Assert.Equal("[Once upon] continued", root.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal(ChatTestData.Tokenizer.Encode("Once upon").Length, root.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        var ids = ChatTestData.Tokenizer.Encode("tokens in");
        var events = await EventsAsync(await live.PostAsync("/v1/completions", $$"""{"prompt":[{{string.Join(',', ids)}}],"stream":true}"""));
        Assert.Equal("[DONE]", events[^1]);
        var choices = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0]).ToList();
        Assert.Equal("[tokens in] continued", string.Concat(choices.Select(c => c.GetProperty("text").GetString())));
        Assert.Equal("stop", choices[^1].GetProperty("finish_reason").GetString());

        var bad = await ErrorAsync(await live.PostAsync("/v1/completions", """{"prompt":[1, 99999]}"""), HttpStatusCode.BadRequest);
        Assert.Equal("prompt", bad.GetProperty("param").GetString());
        Assert.Contains("99999", bad.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelsHealthMetrics()
    {
        using var engine = LiveServer.R1Engine(maxContext: 300);
        await using var live = await LiveServer.StartAsync(engine);
        var models = JsonDocument.Parse(await live.Http.GetStringAsync("/v1/models")).RootElement;
        Assert.Equal("list", models.GetProperty("object").GetString());
        var model = Assert.Single(models.GetProperty("data").EnumerateArray());
        Assert.Equal("tiny-r1", model.GetProperty("id").GetString());
        Assert.Equal(300, model.GetProperty("max_model_len").GetInt32());
        Assert.Equal("""{"status":"ok"}""", await live.Http.GetStringAsync("/health"));

        await live.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"m"}]}""");
        await live.PostAsync("/v1/chat/completions", "{not json");
        var metrics = await live.Http.GetAsync("/metrics");
        Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        var text = await metrics.Content.ReadAsStringAsync();
        var generated = engine.Metrics.GeneratedTokens;
        Assert.Contains($"sharpseek_generated_tokens_total {generated}\n", text, StringComparison.Ordinal);
        Assert.Contains("sharpseek_requests_total 1\n", text, StringComparison.Ordinal);
        Assert.Contains("sharpseek_requests_queued 0\n", text, StringComparison.Ordinal);
        Assert.Contains($"sharpseek_generated_tokens_per_second {(generated / 2.0).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}\n", text, StringComparison.Ordinal);
        Assert.Contains("sharpseek_spec_acceptance_rate 0.8\n", text, StringComparison.Ordinal);
        Assert.Contains("sharpseek_http_responses_total{code=\"400\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE sharpseek_prompt_tokens_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE sharpseek_prompt_tokens_shared_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains($"sharpseek_http_completion_tokens_total {generated}\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json", null, "not valid JSON")]
    [InlineData("[1,2]", null, "JSON object")]
    [InlineData("{}", "messages", "messages")]
    [InlineData("""{"messages":[]}""", "messages", "non-empty")]
    [InlineData("""{"messages":[{"role":"wizard","content":"x"}]}""", "messages[0].role", "wizard")]
    [InlineData("""{"messages":[{"role":"user","content":5}]}""", "messages[0].content", "string")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"temperature":"hot"}""", "temperature", "hot")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"top_p":0}""", "top_p", "(0, 1]")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"max_tokens":0}""", "max_tokens", "at least 1")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"n":17}""", "n", "[1, 16]")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"stop":7}""", "stop", "string")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"stream":"yes"}""", "stream", "true or false")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"seed":1.5}""", "seed", "integer")]
    [InlineData("""{"messages":[{"role":"user","content":[{"type":1,"text":"x"}]}]}""", "messages[0].content", "parts must be")]
    public async Task BadRequest_400_NamesTheField(string body, string? param, string inMessage)
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var error = await ErrorAsync(await live.PostAsync("/v1/chat/completions", body), HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(inMessage, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(engine.Received);
    }

    [Fact]
    public async Task PromptTooLong_400_NamesBothCounts_StreamingToo()
    {
        using var engine = LiveServer.R1Engine(maxContext: 64);
        await using var live = await LiveServer.StartAsync(engine, contextLength: 30);
        var prompt = string.Concat(Enumerable.Repeat("lots of words ", 10));
        var count = ChatTestData.Tokenizer.Encode($"<｜begin▁of▁sentence｜><｜User｜>{prompt}<｜Assistant｜><think>\n").Length;
        foreach (var stream in new[] { "false", "true" })
        {
            var error = await ErrorAsync(await live.PostAsync("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"{{prompt}}"}],"stream":{{stream}}}"""), HttpStatusCode.BadRequest);
            Assert.Equal($"the prompt has {count} tokens but the context holds 30 (prompt plus output); shorten the prompt", error.GetProperty("message").GetString());
            Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        }
        // the engine's own refusal maps the same way (server limit above the engine's)
        await using var wide = await LiveServer.StartAsync(LiveServer.R1Engine(maxContext: 20));
        var engineError = await ErrorAsync(await wide.PostAsync("/v1/completions", """{"prompt":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21]}"""), HttpStatusCode.BadRequest);
        Assert.Contains("21 tokens", engineError.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auth_401WithoutOrWrongKey_HealthStaysOpen()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine, apiKey: "k1");
        using var anonymous = new HttpClient { BaseAddress = live.Server.Url };
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health")).StatusCode);
        var missing = await ErrorAsync(await anonymous.GetAsync("/v1/models"), HttpStatusCode.Unauthorized);
        Assert.Equal("authentication_error", missing.GetProperty("type").GetString());
        Assert.Contains("missing API key", missing.GetProperty("message").GetString(), StringComparison.Ordinal);
        anonymous.DefaultRequestHeaders.Authorization = new("Bearer", "k2");
        await ErrorAsync(await anonymous.PostAsync("/v1/chat/completions", new StringContent("{}")), HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, (await live.Http.GetAsync("/v1/models")).StatusCode);
        using var challenged = await anonymous.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, challenged.StatusCode);
        Assert.Equal("Bearer", challenged.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public void TemplateRefusal_Is400_NotA500()
    {
        var error = SharpSeekServer.ToApiException(new SharpSeek.Inference.Text.ChatTemplateException("unknown role \"tool\""));
        Assert.Equal(400, error.Status);
        Assert.Equal("messages", error.Param);
        Assert.Contains("unknown role", error.Message, StringComparison.Ordinal);
        var unexpected = SharpSeekServer.ToApiException(new InvalidOperationException("boom"));
        Assert.Equal(500, unexpected.Status);
        Assert.Equal("internal error: boom", unexpected.Message);     // what failed, not which .NET type
    }

    [Fact]
    public async Task UnknownRouteAndModel_404()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var route = await ErrorAsync(await live.Http.GetAsync("/v1/engines"), HttpStatusCode.NotFound);
        Assert.Contains("/v1/engines", route.GetProperty("message").GetString(), StringComparison.Ordinal);
        var model = await ErrorAsync(await live.PostAsync("/v1/chat/completions", """{"model":"other","messages":[{"role":"user","content":"x"}],"stream":true}"""), HttpStatusCode.NotFound);
        Assert.Equal("model_not_found", model.GetProperty("code").GetString());
        Assert.Equal("model", model.GetProperty("param").GetString());
    }

    [Fact]
    public async Task QueueFull_429_ForStreamingAndNot_OthersUnaffected()
    {
        using var engine = LiveServer.R1Engine(slots: 1, queue: 1);
        engine.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var live = await LiveServer.StartAsync(engine);
        var running = live.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"one"}]}""");
        var queued = live.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"two"}],"stream":true}""");
        await ServerSdkTests.WaitForAsync(() => engine.Metrics.Queued == 1 && engine.Running == 1);
        foreach (var stream in new[] { "false", "true" })
        {
            var full = await ErrorAsync(await live.PostAsync("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"three"}],"stream":{{stream}}}"""), (HttpStatusCode)429);
            Assert.Equal("queue_full", full.GetProperty("code").GetString());
        }
        engine.Gate.SetResult();
        Assert.Contains("The answer to one is 42.", await (await running).Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("[DONE]", (await EventsAsync(await queued))[^1]);
    }

    [Fact]
    public async Task EngineFailure_BeforeFirstToken_500_ThenServerStillServes()
    {
        using var engine = LiveServer.R1Engine();
        engine.FailAfterTokens = 0;
        await using var live = await LiveServer.StartAsync(engine);
        foreach (var stream in new[] { "false", "true" })
        {
            var error = await ErrorAsync(await live.PostAsync("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"x"}],"stream":{{stream}}}"""), HttpStatusCode.InternalServerError);
            Assert.Equal("server_error", error.GetProperty("type").GetString());
            Assert.Contains("scripted failure", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        engine.FailAfterTokens = null;
        Assert.Contains("The answer to y is 42.", await (await live.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"y"}]}""")).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EngineFailure_MidStream_FinalErrorEventWithoutDone()
    {
        using var engine = LiveServer.R1Engine();
        engine.FailAfterTokens = 4;
        await using var live = await LiveServer.StartAsync(engine);
        var events = await EventsAsync(await live.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"stream":true}"""));
        Assert.DoesNotContain("[DONE]", events);
        var error = JsonDocument.Parse(events[^1]).RootElement.GetProperty("error");
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Contains("after 4 tokens", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(4, events.Count - 2); // the role opener, 4 token deltas, the error
    }

    [Fact]
    public async Task RawDisconnect_CancelsGeneration()
    {
        using var engine = new ScriptedEngine(ChatTestData.Tokenizer, _ => string.Concat(Enumerable.Repeat("word ", 1000)), maxContext: 4096);
        engine.TokenDelay = TimeSpan.FromMilliseconds(20);
        await using var live = await LiveServer.StartAsync(engine);
        using (var handler = new SocketsHttpHandler { MaxResponseDrainSize = 0 })
        using (var client = new HttpClient(handler) { BaseAddress = live.Server.Url })
        {
            var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
            {
                Content = new StringContent("""{"prompt":"go","stream":true}"""),
            }, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await reader.ReadLineAsync(), StringComparison.Ordinal);
            response.Dispose();
        }
        await ServerSdkTests.WaitForAsync(() => engine.Running == 0 && engine.Cancelled == 1);
        Assert.True(engine.Metrics.GeneratedTokens < 500);
    }
}
