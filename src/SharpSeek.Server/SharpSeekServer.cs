// SharpSeekServer.cs: the OpenAI-compatible HTTP server on Kestrel: routes, the API-key check, and the one place
// exceptions become OpenAI error envelopes (400 bad request, 401 key, 404 model or any other path, 405 a known path
// with the wrong method, 429 queue full with Retry-After, 500 anything else, never naming .NET types) so no request
// can take the process down. Not here: the handlers (Endpoints.cs). Tested by ServerRawTests, ServerHostileTests and
// ServerSdkTests over loopback.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Server;

/// <summary>An OpenAI-compatible server (chat completions, completions, models, health, Prometheus metrics) over a
/// generation engine. Start it with <see cref="StartAsync"/>; <see cref="Url"/> then gives the bound address.</summary>
public sealed class SharpSeekServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ServerOptions _options;
    private bool _started;

    public SharpSeekServer(IGenerationEngine engine, ByteLevelBpe tokenizer, ChatTemplate template, string modelId, ServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        _options = options ?? new ServerOptions();
        if (_options.Port is < 0 or > 65535) { throw new ArgumentOutOfRangeException(nameof(options), _options.Port, "port must be in 0..65535"); }
        if (_options.ContextLength is <= 1) { throw new ArgumentOutOfRangeException(nameof(options), _options.ContextLength, "context length must be at least 2 tokens"); }
        ModelId = modelId;
        ContextLength = Math.Min(_options.ContextLength ?? engine.MaxContext, engine.MaxContext);
        var metrics = new ServerMetrics();
        var endpoints = new Endpoints(engine, tokenizer, template, modelId, ContextLength, _options.Speculative, metrics);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        var host = _options.Host.Contains(':', StringComparison.Ordinal) ? $"[{_options.Host}]" : _options.Host;
        builder.WebHost.UseUrls($"http://{host}:{_options.Port}");
        _app = builder.Build();
        _app.Use((context, next) => GuardAsync(context, next, metrics));
        (string Path, string Method, RequestDelegate Handler)[] routes =
        [
            ("/v1/chat/completions", HttpMethods.Post, endpoints.ChatAsync),
            ("/v1/completions", HttpMethods.Post, endpoints.CompletionsAsync),
            ("/v1/models", HttpMethods.Get, endpoints.ModelsAsync),
            ("/health", HttpMethods.Get, Endpoints.HealthAsync),
            ("/metrics", HttpMethods.Get, endpoints.MetricsAsync),
        ];
        foreach (var (path, method, handler) in routes) { _app.MapMethods(path, [method], handler); }
        // "{*path}" rather than MapFallback's default "{*path:nonfile}", which skips paths that look like files
        // (/config.json) and leaves them an empty 404; the fallback also sees a known path with the wrong method.
        _app.MapFallback("{*path}", context => throw Unrouted(context.Request, routes));
    }

    public string ModelId { get; }

    /// <summary>Prompt plus output tokens allowed per request.</summary>
    public int ContextLength { get; }

    /// <summary>The bound address, e.g. http://127.0.0.1:8000 (the real port when <see cref="ServerOptions.Port"/> was 0).</summary>
    public Uri Url => _started
        ? new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First())
        : throw new InvalidOperationException("the server is not started; call StartAsync first");

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.StartAsync(cancellationToken);
        _started = true;
    }

    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_started) { await _app.StopAsync(); }
        await _app.DisposeAsync();
    }

    /// <summary>Seconds a 429 asks the client to wait (Retry-After): about what a slot takes to free up under load.</summary>
    internal const int RetryAfterSeconds = 1;

    /// <summary>The OpenAI error an exception stands for: engine refusals keep their meaning, anything else is a 500
    /// whose message says what failed but not which .NET type failed.</summary>
    internal static ApiException ToApiException(Exception e) => e switch
    {
        ApiException api => api,
        QueueFullException q => new ApiException(429, "rate_limit_error", q.Message, code: "queue_full")
        {
            Headers = [new("Retry-After", RetryAfterSeconds.ToString(CultureInfo.InvariantCulture))],
        },
        PromptTooLongException p => ApiException.BadRequest(p.Message, "messages", "context_length_exceeded"),
        BadHttpRequestException b => new ApiException(b.StatusCode, "invalid_request_error", b.Message),
        ChatTemplateException t => ApiException.BadRequest($"the chat template rejected the messages: {t.Message}", "messages"),
        _ => new ApiException(500, "server_error", $"internal error: {e.Message}"),
    };

    // A path the server serves with another method is 405 with Allow; any other path (files, traversals) is 404.
    private static ApiException Unrouted(HttpRequest request, (string Path, string Method, RequestDelegate Handler)[] routes)
    {
        var path = request.Path.Value is { Length: > 1 } p ? p.TrimEnd('/') : request.Path.Value ?? "/";
        var allowed = routes.Where(r => string.Equals(r.Path, path, StringComparison.OrdinalIgnoreCase)).Select(r => r.Method).ToList();
        if (allowed.Count > 0)
        {
            return new ApiException(405, "invalid_request_error", $"{path} does not take {request.Method}; use {string.Join(" or ", allowed)}", code: "method_not_allowed")
            {
                Headers = [new("Allow", string.Join(", ", allowed))],
            };
        }
        return ApiException.NotFound($"no route {request.Method} {request.Path}; see {string.Join(", ", routes.Select(r => $"{r.Method} {r.Path}"))}");
    }

    private async Task GuardAsync(HttpContext context, RequestDelegate next, ServerMetrics metrics)
    {
        try
        {
            if (_options.ApiKey is { } key && context.Request.Path != "/health" && !Authorized(context.Request, key))
            {
                throw new ApiException(401, "authentication_error",
                    context.Request.Headers.Authorization.Count == 0 ? "missing API key; send 'Authorization: Bearer <key>'" : "invalid API key", code: "invalid_api_key")
                {
                    Headers = [new("WWW-Authenticate", "Bearer")],
                };
            }
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // the client went away; its generation was cancelled through RequestAborted and nobody is left to answer
        }
        catch (Exception e)
        {
            if (context.Response.HasStarted)
            {
                context.Abort();
                return;
            }
            var error = ToApiException(e);
            context.Response.Clear();
            foreach (var (name, value) in error.Headers) { context.Response.Headers[name] = value; }
            await Endpoints.WriteJsonAsync(context, new ErrorEnvelope(new ErrorBody(error.Message, error.Type, error.Param, error.Code)), error.Status);
        }
        finally
        {
            metrics.Response(context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted ? 499 : context.Response.StatusCode);
        }
    }

    private static bool Authorized(HttpRequest request, string key)
    {
        var header = request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)) { return false; }
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()), Encoding.UTF8.GetBytes(key));
    }
}
