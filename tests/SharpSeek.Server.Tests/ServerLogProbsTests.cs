// ServerLogProbsTests.cs: log-probs on the wire. Raw JSON: chat's choices[i].logprobs = {content: [{token, logprob,
// bytes, top_logprobs: [{token, logprob, bytes}]}], refusal: null} non-streamed and streamed (each chunk with its
// tokens' entries, a token whose text is held back included), covering every generated token (reasoning and the
// </think> tag too), "\xNN" for the bytes of a split character with bytes the raw ones; completions' {tokens,
// token_logprobs, top_logprobs ({token: logprob}, the sampled token included), text_offset} streamed and not; bad
// logprobs/top_logprobs a 400 naming the field. Through the official OpenAI SDK: ChatTokenLogProbabilityDetails with
// IncludeLogProbabilities and TopLogProbabilityCount = 3, streaming and not, on the scripted engine and on the real one
// (equal to the engine's own numbers).
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;
using SharpSeek.Inference.Chat;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Runtime;
using SharpSeek.Inference.Tests.Chat;
using SharpSeek.Inference.Text;
using SdkCompletion = OpenAI.Chat.ChatCompletion;

namespace SharpSeek.Server.Tests;

public sealed class ServerLogProbsTests
{
    // R1Reply of the user turn "5€": "€" is three byte tokens in the test tokenizer, so a character is split.
    private const string Reply = "Let me think about 5€.</think>The answer to 5€ is 42.";
    private const string Chat = """{"messages":[{"role":"user","content":"5€"}],"logprobs":true,"top_logprobs":2""";

    private static int[] ReplyIds => ChatTestData.Tokenizer.Encode(Reply);

    private static double LogProb(int id) => ScriptedEngine.ScriptedLogProbs(id, 0, ChatTestData.Tokenizer.VocabSize).LogProb;

    private static byte[] Bytes(int id)
    {
        var bytes = new List<byte>();
        ChatTestData.Tokenizer.AppendTokenBytes(id, bytes);
        return [.. bytes];
    }

    // The reference text: each whole character as itself (the shortest run of 1..4 bytes a strict decoder takes), each
    // other byte (part of a character split across tokens) as \xNN.
    private static string TokenText(int id)
    {
        var (bytes, strict, text) = (Bytes(id), new UTF8Encoding(false, throwOnInvalidBytes: true), new StringBuilder());
        for (var at = 0; at < bytes.Length;)
        {
            var n = Enumerable.Range(1, Math.Min(4, bytes.Length - at)).FirstOrDefault(k => Decodes(bytes.AsSpan(at, k)));
            if (n > 0)
            {
                text.Append(strict.GetString(bytes, at, n));
                at += n;
            }
            else
            {
                text.Append($"\\x{bytes[at++]:x2}");
            }
        }
        return text.ToString();

        bool Decodes(ReadOnlySpan<byte> run)
        {
            try
            {
                return strict.GetCharCount(run) > 0;
            }
            catch (DecoderFallbackException)
            {
                return false;
            }
        }
    }

    private static void AssertEntry(JsonElement entry, int id, int top)
    {
        Assert.Equal(TokenText(id), entry.GetProperty("token").GetString());
        Assert.Equal(LogProb(id), entry.GetProperty("logprob").GetDouble());
        Assert.Equal(Bytes(id), entry.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()));
        var alternatives = entry.GetProperty("top_logprobs");
        Assert.Equal(top, alternatives.GetArrayLength());
        for (var k = 0; k < top; k++)
        {
            var alt = (id + k) % ChatTestData.Tokenizer.VocabSize;
            Assert.Equal(TokenText(alt), alternatives[k].GetProperty("token").GetString());
            Assert.Equal(LogProb(id) - k, alternatives[k].GetProperty("logprob").GetDouble());
            Assert.Equal(Bytes(alt), alternatives[k].GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()));
        }
    }

    [Fact]
    public async Task ChatNonStream_LogprobsContent_EveryTokenInOrder()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var root = JsonDocument.Parse(await (await live.PostAsync("/v1/chat/completions", Chat + "}")).Content.ReadAsStringAsync()).RootElement;
        var choice = root.GetProperty("choices")[0];
        Assert.Equal("The answer to 5€ is 42.", choice.GetProperty("message").GetProperty("content").GetString());
        var logprobs = choice.GetProperty("logprobs");
        Assert.Equal(JsonValueKind.Null, logprobs.GetProperty("refusal").ValueKind);
        var content = logprobs.GetProperty("content");
        var ids = ReplyIds;
        Assert.Equal(ids.Length, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(ids.Length, content.GetArrayLength());
        for (var i = 0; i < ids.Length; i++) { AssertEntry(content[i], ids[i], top: 2); }
        Assert.Contains(content.EnumerateArray(), e => e.GetProperty("token").GetString() == "\\xe2");          // "€" split into bytes
        var joined = content.EnumerateArray().SelectMany(e => e.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32())).ToArray();
        Assert.Equal(Reply, Encoding.UTF8.GetString(joined));                                     // reasoning and the tag included
        var request = Assert.Single(engine.Received);
        Assert.Equal((true, 2), (request.LogProbs, request.TopLogProbs));

        var plain = JsonDocument.Parse(await (await live.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}]}""")).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(JsonValueKind.Null, plain.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
        Assert.False(engine.Received.Last().LogProbs);
    }

    [Fact]
    public async Task ChatStream_EachChunkCarriesItsTokens_SameAsNonStream()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var events = await ServerRawTests.EventsAsync(await live.PostAsync("/v1/chat/completions", Chat + ""","stream":true}"""));
        var choices = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0]).ToList();
        Assert.Equal(JsonValueKind.Null, choices[0].GetProperty("logprobs").ValueKind);              // the role opener
        Assert.Equal(JsonValueKind.Null, choices[^1].GetProperty("logprobs").ValueKind);             // the finish chunk
        var middle = choices.Skip(1).SkipLast(1).ToList();
        // The scripted engine sends one token per update, and each update becomes one chunk, even one whose text is
        // held back (the first bytes of "€"): its delta is empty, its entry is there.
        Assert.All(middle, c => Assert.Equal(1, c.GetProperty("logprobs").GetProperty("content").GetArrayLength()));
        Assert.Contains(middle, c => c.GetProperty("delta").GetRawText() == "{}");
        var ids = ReplyIds;
        Assert.Equal(ids.Length, middle.Count);
        for (var i = 0; i < ids.Length; i++) { AssertEntry(middle[i].GetProperty("logprobs").GetProperty("content")[0], ids[i], top: 2); }
        Assert.Equal("The answer to 5€ is 42.", string.Concat(middle.Select(c => c.GetProperty("delta").TryGetProperty("content", out var v) ? v.GetString() : "")));
    }

    [Fact]
    public async Task Completions_LegacyShape_StreamAndNot()
    {
        const string Text = "Paid 5€ today";
        using var engine = new ScriptedEngine(ChatTestData.Tokenizer, _ => Text);
        await using var live = await LiveServer.StartAsync(engine);
        var ids = ChatTestData.Tokenizer.Encode(Text);
        var root = JsonDocument.Parse(await (await live.PostAsync("/v1/completions", """{"prompt":"x","logprobs":2}""")).Content.ReadAsStringAsync()).RootElement;
        var logprobs = root.GetProperty("choices")[0].GetProperty("logprobs");
        var tokens = logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
        Assert.Equal(ids.Select(TokenText), tokens);
        Assert.Equal(ids.Select(LogProb), logprobs.GetProperty("token_logprobs").EnumerateArray().Select(t => t.GetDouble()));
        var offsets = logprobs.GetProperty("text_offset").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        Assert.Equal(tokens.Select((_, i) => tokens[..i].Sum(t => t.Length)), offsets);
        var tops = logprobs.GetProperty("top_logprobs").EnumerateArray().ToArray();
        for (var i = 0; i < ids.Length; i++)
        {
            // The top 2 are the token itself and the next id: the sampled token is among them, so two keys.
            var expected = new[] { ids[i], (ids[i] + 1) % ChatTestData.Tokenizer.VocabSize }.Select(id => (TokenText(id), LogProb(ids[i]) - (id == ids[i] ? 0 : 1)));
            Assert.Equal(expected, tops[i].EnumerateObject().Select(p => (p.Name, p.Value.GetDouble())));
        }

        var events = await ServerRawTests.EventsAsync(await live.PostAsync("/v1/completions", """{"prompt":"x","logprobs":2,"stream":true}"""));
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0].GetProperty("logprobs"))
            .Where(l => l.ValueKind != JsonValueKind.Null).ToList();
        Assert.Equal(tokens, chunks.SelectMany(l => l.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!)));
        Assert.Equal(offsets, chunks.SelectMany(l => l.GetProperty("text_offset").EnumerateArray().Select(t => t.GetInt32())));  // running on

        // logprobs 0: the sampled token alone in each top_logprobs map.
        var zero = JsonDocument.Parse(await (await live.PostAsync("/v1/completions", """{"prompt":"x","logprobs":0}""")).Content.ReadAsStringAsync()).RootElement;
        var zeroTops = zero.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("top_logprobs").EnumerateArray().ToArray();
        Assert.Equal(ids.Select(id => TokenText(id)), zeroTops.Select(t => Assert.Single(t.EnumerateObject()).Name));
        Assert.Equal([(true, 2), (true, 2), (true, 0)], engine.Received.Select(r => (r.LogProbs, r.TopLogProbs)));
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":21}""", "top_logprobs", "[0, 20]")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":-1}""", "top_logprobs", "[0, 20]")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"top_logprobs":3}""", "top_logprobs", "needs 'logprobs': true")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"logprobs":false,"top_logprobs":3,"stream":true}""", "top_logprobs", "needs 'logprobs': true")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"logprobs":2}""", "logprobs", "true or false")]
    [InlineData("/v1/completions", """{"prompt":"x","logprobs":21}""", "logprobs", "[0, 20]")]
    [InlineData("/v1/completions", """{"prompt":"x","logprobs":true}""", "logprobs", "integer")]
    public async Task BadLogprobs_400_NamesTheField(string path, string body, string param, string inMessage)
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var error = await ServerRawTests.ErrorAsync(await live.PostAsync(path, body), HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(inMessage, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(engine.Received);
    }

    [Fact]
    public async Task OpenAiSdk_TokenLogProbabilities_NonStreamAndStream()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var options = new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };
        SdkCompletion reply = await live.OpenAi().CompleteChatAsync([new UserChatMessage("5€")], options);
        var details = reply.ContentTokenLogProbabilities;
        var ids = ReplyIds;
        Assert.Equal(ids.Length, reply.Usage.OutputTokenCount);
        Assert.Equal(ids.Length, details.Count);
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.Equal(TokenText(ids[i]), details[i].Token);
            Assert.Equal((float)LogProb(ids[i]), details[i].LogProbability);
            Assert.Equal(Bytes(ids[i]), details[i].Utf8Bytes!.Value.ToArray());
            Assert.Equal(3, details[i].TopLogProbabilities.Count);
            Assert.Equal(details[i].Token, details[i].TopLogProbabilities[0].Token);
            Assert.Equal([0f, -1f, -2f], details[i].TopLogProbabilities.Select(t => t.LogProbability - details[i].LogProbability));
        }
        Assert.Equal(Reply, Encoding.UTF8.GetString([.. details.SelectMany(d => d.Utf8Bytes!.Value.ToArray())]));

        var streamed = new List<ChatTokenLogProbabilityDetails>();
        await foreach (var u in live.OpenAi().CompleteChatStreamingAsync([new UserChatMessage("5€")], options)) { streamed.AddRange(u.ContentTokenLogProbabilities); }
        Assert.Equal(details.Select(d => (d.Token, d.LogProbability, d.TopLogProbabilities.Count)), streamed.Select(d => (d.Token, d.LogProbability, d.TopLogProbabilities.Count)));
    }

    // The real engine behind the server: the SDK reads the numbers the engine gives for the same prompt.
    [Fact]
    public async Task RealEngine_SdkLogProbabilities_EqualTheEnginesOwn()
    {
        var (config, weights) = ServerEngineTests.TinyModel();
        using var cache = new KvCache(config, 2, 128);
        using var runner = new ModelRunner(weights, cache);
        using var engine = new BatchEngine(runner, ChatTestData.Tokenizer);
        await using var live = await LiveServer.StartAsync(engine);
        var prompt = ChatPrompt.Build(ChatTemplate.BuiltIn, ChatTestData.Tokenizer, [new ChatTurn("user", "why")]);
        var own = new List<TokenLogProbs>();
        await foreach (var u in engine.GenerateAsync(new GenerationRequest { Prompt = prompt.Ids, MaxNewTokens = 8, Sampling = SamplingParameters.Greedy, LogProbs = true, TopLogProbs = 3 }))
        {
            own.AddRange(u.LogProbs!);
        }
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 8, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };
        SdkCompletion reply = await live.OpenAi().CompleteChatAsync([new UserChatMessage("why")], options);
        var wire = new LogProbsWire(ChatTestData.Tokenizer);
        Assert.Equal(own.Select(e => (wire.Token(e.Token).Text, (float)e.LogProb)), reply.ContentTokenLogProbabilities.Select(d => (d.Token, d.LogProbability)));
        Assert.Equal(own.SelectMany(e => e.Top.ToArray()).Select(t => (wire.Token(t.Token).Text, (float)t.LogProb)),
            reply.ContentTokenLogProbabilities.SelectMany(d => d.TopLogProbabilities).Select(t => (t.Token, t.LogProbability)));
    }
}
