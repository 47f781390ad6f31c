// LiveServer.cs: a SharpSeekServer on 127.0.0.1 with a free port over any IGenerationEngine (the scripted one for
// protocol tests, the real engine for end-to-end runs), plus the three clients the tests speak through: raw HttpClient,
// the official OpenAI SDK, and Microsoft.Extensions.AI's OpenAI IChatClient.
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Tests.Chat;
using SharpSeek.Inference.Text;

namespace SharpSeek.Server.Tests;

internal sealed class LiveServer : IAsyncDisposable
{
    public const string Model = "tiny-r1";

    private LiveServer(SharpSeekServer server, string? apiKey)
    {
        Server = server;
        ApiKey = apiKey;
        Http = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null) { Http.DefaultRequestHeaders.Authorization = new("Bearer", apiKey); }
    }

    public SharpSeekServer Server { get; }

    public string? ApiKey { get; }

    public HttpClient Http { get; }

    public static async Task<LiveServer> StartAsync(IGenerationEngine engine, string? apiKey = null, int? contextLength = null, bool speculative = false)
    {
        var server = new SharpSeekServer(engine, ChatTestData.Tokenizer, ChatTemplate.BuiltIn, Model,
            new ServerOptions { Host = "127.0.0.1", Port = 0, ApiKey = apiKey, ContextLength = contextLength, Speculative = speculative });
        await server.StartAsync();
        return new LiveServer(server, apiKey);
    }

    public static ScriptedEngine R1Engine(int maxContext = 512, int slots = 64, int queue = 64) =>
        new(ChatTestData.Tokenizer, ChatTestData.R1Reply, maxContext, slots, queue);

    /// <summary>The official SDK's chat client pointed at this server, with retries off so error statuses surface at once.</summary>
    public ChatClient OpenAi(string? key = null, string model = Model) => new(model, new ApiKeyCredential(key ?? ApiKey ?? "no-key"),
        new OpenAIClientOptions { Endpoint = new Uri(Server.Url, "v1"), RetryPolicy = new ClientRetryPolicy(maxRetries: 0) });

    public IChatClient Meai(string? key = null, string model = Model) => OpenAi(key, model).AsIChatClient();

    public Task<HttpResponseMessage> PostAsync(string path, string json, HttpCompletionOption option = HttpCompletionOption.ResponseContentRead) =>
        Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") }, option);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}
