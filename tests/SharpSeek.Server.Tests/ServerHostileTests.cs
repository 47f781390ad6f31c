// ServerHostileTests.cs: what a hostile or careless client sends, over loopback with a plain HttpClient (and a raw
// socket where HttpClient would tidy the request line): strings that are not Unicode (invalid UTF-8 bytes, unpaired
// surrogate escapes), file-like and traversal paths, a wrong method on a known route (405 with Allow), 429's
// Retry-After, prompts too large to tokenize, and features the server lacks (tools, functions, response_format).
// Every refusal is the usual error envelope, names no .NET type, and leaves the server serving.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using SharpSeek.Inference.Tests.Chat;

namespace SharpSeek.Server.Tests;

public sealed class ServerHostileTests
{
    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        return Envelope(await response.Content.ReadAsStringAsync());
    }

    private static JsonElement Envelope(string body)
    {
        using var doc = JsonDocument.Parse(body);
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out _));
        Assert.True(error.TryGetProperty("code", out _));
        var message = error.GetProperty("message").GetString()!;
        Assert.DoesNotContain("Exception", message, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", message, StringComparison.Ordinal);
        return error.Clone();
    }

    private static Task<HttpResponseMessage> PostBytesAsync(LiveServer live, string path, byte[] body) =>
        live.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } } });

    private static async Task ServesAsync(LiveServer live) =>
        Assert.Contains("The answer to still is 42.", await (await live.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"still"}]}""")).Content.ReadAsStringAsync(), StringComparison.Ordinal);

    // One request as written, over a fresh socket; HTTP/1.0 so the reply is not chunked and ends when the server closes.
    private static async Task<(int Status, string Head, string Body)> RawAsync(LiveServer live, string method, string target, long contentLength = 0)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(live.Server.Url.Host, live.Server.Url.Port);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{method} {target} HTTP/1.0\r\nHost: {live.Server.Url.Authority}\r\nContent-Length: {contentLength}\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var reply = await reader.ReadToEndAsync();
        var split = reply.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(split > 0, $"no HTTP reply head in '{reply}'");
        var head = reply[..split];
        return (int.Parse(head.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), head, reply[(split + 4)..]);
    }

    private static byte[] Bytes(string before, byte[] bad, string after) => [.. Encoding.UTF8.GetBytes(before), .. bad, .. Encoding.UTF8.GetBytes(after)];

    public static TheoryData<string, byte[], string?> NotUtf8 => new()
    {
        { "/v1/chat/completions", Bytes("""{"messages":[{"role":"user","content":"a""", [0xFF], "\"}]}"), "messages[0].content" },
        { "/v1/chat/completions", Bytes("""{"messages":[{"role":"user","content":"a""", [0xE2, 0x82], "\"}]}"), "messages[0].content" },         // truncated sequence
        { "/v1/chat/completions", Bytes("""{"messages":[{"role":"user","content":"a""", [0xED, 0xA0, 0x80], "\"}]}"), "messages[0].content" },   // a surrogate in UTF-8
        { "/v1/chat/completions", Bytes("""{"messages":[{"role":"user","content":"a""", [0xC0, 0xAF], "\"}]}"), "messages[0].content" },         // overlong '/'
        { "/v1/chat/completions", Bytes("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"", [0x80], "\"}]}]}"), "messages[0].content[0].text" },
        { "/v1/chat/completions", Bytes("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"", [0xFE], "\"}"), "temperature" },
        { "/v1/chat/completions", Bytes("""{"messages":[{"role":"user","content":"x"}],"mo""", [0xFF], "del\":1}"), null },                    // a field name
        { "/v1/completions", Bytes("""{"prompt":"once""", [0xF8, 0x88, 0x80, 0x80, 0x80], "\"}"), "prompt" },
    };

    [Theory]
    [MemberData(nameof(NotUtf8))]
    public async Task InvalidUtf8_400_NamesTheField(string path, byte[] body, string? param)
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var error = await ErrorAsync(await PostBytesAsync(live, path, body), HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("invalid_text", error.GetProperty("code").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(param is null ? "not Unicode text" : "not valid UTF-8", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(engine.Received);
        await ServesAsync(live);
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"\ud800"}]}""", "messages[0].content")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"x\uDC00y"}]}""", "messages[0].content")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"\ud800\ud800"}]}""", "messages[0].content")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"ok"},{"role":"assistant","content":"a","reasoning_content":"\ud83d"}]}""", "messages[1].reasoning_content")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"\ud800","content":"x"}]}""", "messages[0].role")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"stop":["ok","\udfff"]}""", "stop[1]")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"model":"\ud800"}""", "model")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"\ud800":1}""", null)]
    [InlineData("/v1/completions", """{"prompt":"\ud800","stream":true}""", "prompt")]
    public async Task UnpairedSurrogateEscape_400_NamesTheField(string path, string body, string? param)
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var error = await ErrorAsync(await live.PostAsync(path, body), HttpStatusCode.BadRequest);
        Assert.Equal("invalid_text", error.GetProperty("code").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(param is null ? "unpaired surrogate escape such as \\ud800" : "unpaired UTF-16 surrogate escape (a \\uD800-\\uDFFF escape", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(engine.Received);
        await ServesAsync(live);
    }

    [Fact]
    public async Task PairedSurrogatesAndRawUtf8_AreText()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var escaped = await live.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"smile \ud83d\ude00"}]}""");
        Assert.Equal(HttpStatusCode.OK, escaped.StatusCode);
        var raw = await PostBytesAsync(live, "/v1/chat/completions", Encoding.UTF8.GetBytes("""{"messages":[{"role":"user","content":"café 😀"}]}"""));
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        var prompts = engine.Received.Select(r => ChatTestData.Tokenizer.Decode([.. r.Prompt])).ToList();
        Assert.Contains(prompts, p => p.Contains("smile 😀", StringComparison.Ordinal));
        Assert.Contains(prompts, p => p.Contains("café 😀", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("GET", "/config.json")]
    [InlineData("GET", "/tokenizer.json")]
    [InlineData("GET", "/model.safetensors")]
    [InlineData("GET", "/v1/models/config.json")]
    [InlineData("GET", "/.env")]
    [InlineData("POST", "/config.json")]
    [InlineData("GET", "/v1/models/../../config.json")]
    [InlineData("GET", "/v1/models/%2e%2e/%2e%2e/config.json")]
    [InlineData("GET", "/..%2f..%2fconfig.json")]
    [InlineData("GET", "/v1/nothing/here")]
    [InlineData("GET", "/")]
    public async Task FileLikeAndUnknownPaths_404WithEnvelope_NothingServed(string method, string target)
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var (status, head, body) = await RawAsync(live, method, target);
        Assert.Equal(404, status);
        Assert.Contains("Content-Type: application/json", head, StringComparison.OrdinalIgnoreCase);
        var error = Envelope(body);
        Assert.Equal("not_found_error", error.GetProperty("type").GetString());
        Assert.StartsWith($"no route {method} /", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("architectures", body, StringComparison.Ordinal);     // no file content came back
    }

    [Theory]
    [InlineData("GET", "/v1/chat/completions", "POST")]
    [InlineData("PUT", "/v1/chat/completions", "POST")]
    [InlineData("DELETE", "/v1/chat/completions", "POST")]
    [InlineData("PATCH", "/v1/completions", "POST")]
    [InlineData("GET", "/v1/completions/", "POST")]
    [InlineData("GET", "/V1/Chat/Completions", "POST")]
    [InlineData("POST", "/v1/models", "GET")]
    [InlineData("DELETE", "/v1/models", "GET")]
    [InlineData("POST", "/health", "GET")]
    [InlineData("PUT", "/metrics", "GET")]
    public async Task WrongMethodOnKnownRoute_405WithAllow(string method, string path, string allow)
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        using var response = await live.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        var error = await ErrorAsync(response, HttpStatusCode.MethodNotAllowed);
        Assert.Equal([allow], response.Content.Headers.Allow);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("method_not_allowed", error.GetProperty("code").GetString());
        Assert.Contains($"does not take {method}; use {allow}", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(engine.Received);
    }

    [Fact]
    public async Task WrongMethod_StillNeedsTheKey()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine, apiKey: "k1");
        using var anonymous = new HttpClient { BaseAddress = live.Server.Url };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/chat/completions")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await live.Http.GetAsync("/v1/chat/completions")).StatusCode);
    }

    [Fact]
    public async Task QueueFull_429_CarriesRetryAfter()
    {
        using var engine = LiveServer.R1Engine(slots: 1, queue: 1);
        engine.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var live = await LiveServer.StartAsync(engine);
        var running = live.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"one"}]}""");
        var queued = live.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"two"}],"stream":true}""");
        await ServerSdkTests.WaitForAsync(() => engine.Metrics.Queued == 1 && engine.Running == 1);
        foreach (var (path, body) in new[]
        {
            ("/v1/chat/completions", """{"messages":[{"role":"user","content":"three"}]}"""),
            ("/v1/chat/completions", """{"messages":[{"role":"user","content":"three"}],"stream":true}"""),
            ("/v1/completions", """{"prompt":"three","stream":true}"""),
        })
        {
            using var full = await live.PostAsync(path, body);
            var error = await ErrorAsync(full, (HttpStatusCode)429);
            Assert.Equal("queue_full", error.GetProperty("code").GetString());
            Assert.Equal(["1"], full.Headers.GetValues("Retry-After"));
            Assert.Equal(TimeSpan.FromSeconds(SharpSeekServer.RetryAfterSeconds), full.Headers.RetryAfter!.Delta);
        }
        engine.Gate.SetResult();
        Assert.Equal(HttpStatusCode.OK, (await running).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await queued).StatusCode);
    }

    [Theory]
    [InlineData("/v1/chat/completions", "messages")]
    [InlineData("/v1/completions", "prompt")]
    public async Task HugePrompt_RefusedByItsBytesBeforeTokenizing(string path, string param)
    {
        using var engine = LiveServer.R1Engine(maxContext: 4096);
        await using var live = await LiveServer.StartAsync(engine);
        var text = string.Concat(Enumerable.Repeat("lorem ipsum dolor sit amet ", 20 * 1024 * 1024 / 27));     // 20 MB
        var json = param == "messages"
            ? JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = text } } })
            : JsonSerializer.Serialize(new { prompt = text });
        var clock = Stopwatch.StartNew();
        var error = await ErrorAsync(await live.PostAsync(path, json), HttpStatusCode.BadRequest);
        clock.Stop();
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        var perToken = Endpoints.BytesPerToken(ChatTestData.Tokenizer);
        Assert.Matches($@"^the prompt is \d{{8}} bytes of UTF-8, so at least \d+ tokens \(one token stands for at most {perToken} of them\), but the context holds 4096 \(prompt plus output\); shorten the prompt$",
            error.GetProperty("message").GetString()!);
        Assert.Empty(engine.Received);
        // tokenizing 20 MB takes this tokenizer about 30 s (1.4 s per MB on a quiet 2-core machine); reading, rendering and
        // counting the bytes take about 1 s, so 10 s leaves room for a busy machine and still tells the two apart
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        await ServesAsync(live);
    }

    [Fact]
    public void BytesPerToken_BoundsEveryEncoding()
    {
        var tokenizer = ChatTestData.Tokenizer;
        var perToken = Endpoints.BytesPerToken(tokenizer);
        Assert.InRange(perToken, 2, 64);
        foreach (var text in new[] { "the the the the", "<｜User｜><｜Assistant｜><think>\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "café 😀 日本語 \u212A", string.Concat(Enumerable.Repeat("function ", 50)) })
        {
            Assert.True((long)tokenizer.Encode(text).Length * perToken >= Encoding.UTF8.GetByteCount(text), text);
        }
    }

    [Fact]
    public async Task BodyOverKestrelsLimit_413WithEnvelope()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        // the head alone: Kestrel refuses on the declared length, and a client still sending 30 MB would see a broken pipe
        var (status, _, body) = await RawAsync(live, "POST", "/v1/chat/completions", contentLength: 30_000_001);
        Assert.Equal(413, status);
        var error = Envelope(body);
        Assert.Contains("30000000", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(engine.Received);
        await ServesAsync(live);
    }

    [Theory]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"f","parameters":{}}}]}""", "tools")]
    [InlineData("""{"tools":"f"}""", "tools")]
    [InlineData("""{"tool_choice":"required"}""", "tool_choice")]
    [InlineData("""{"tool_choice":{"type":"function","function":{"name":"f"}}}""", "tool_choice")]
    [InlineData("""{"functions":[{"name":"f","parameters":{}}]}""", "functions")]
    [InlineData("""{"function_call":{"name":"f"}}""", "function_call")]
    [InlineData("""{"response_format":{"type":"json_object"}}""", "response_format")]
    [InlineData("""{"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"}}}}""", "response_format")]
    public async Task UnsupportedFeature_400_NamesIt(string extra, string param)
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var fields = extra[1..^1];
        foreach (var (path, body) in new[]
        {
            ("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"x"}],{{fields}}}"""),
            ("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"x"}],"stream":true,{{fields}}}"""),
            ("/v1/completions", $$"""{"prompt":"x",{{fields}}}"""),
        })
        {
            var error = await ErrorAsync(await live.PostAsync(path, body), HttpStatusCode.BadRequest);
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
            Assert.Equal("unsupported_parameter", error.GetProperty("code").GetString());
            Assert.Equal(param, error.GetProperty("param").GetString());
            Assert.StartsWith($"'{param}'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Contains("is not supported yet", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.Empty(engine.Received);
    }

    [Theory]
    [InlineData("""{"response_format":"json"}""")]
    [InlineData("""{"response_format":{"schema":{}}}""")]
    public async Task MalformedResponseFormat_400(string extra)
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var error = await ErrorAsync(await live.PostAsync("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"x"}],{{extra[1..^1]}}}"""), HttpStatusCode.BadRequest);
        Assert.Equal("response_format", error.GetProperty("param").GetString());
        Assert.Contains("must be an object with a string 'type'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HarmlessOffValues_Accepted()
    {
        using var engine = LiveServer.R1Engine();
        await using var live = await LiveServer.StartAsync(engine);
        var response = await live.PostAsync("/v1/chat/completions", """
            {"messages":[{"role":"user","content":"x"}],"tools":[],"tool_choice":"none","functions":[],"function_call":"auto",
             "response_format":{"type":"text"},"parallel_tool_calls":false,"logprobs":false}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await live.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}],"tools":null,"tool_choice":"auto"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await live.PostAsync("/v1/completions", """{"prompt":"<｜User｜>x","response_format":{"type":"text"}}""")).StatusCode);
        Assert.Equal(3, engine.Received.Count);
    }
}
