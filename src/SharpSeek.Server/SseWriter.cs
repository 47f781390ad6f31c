// SseWriter.cs: Server-Sent Events as OpenAI streams them: "data: <json>\n\n" per event, flushed at once, and the
// literal "data: [DONE]" at the end. Not here: what the events hold (Endpoints.cs). Tested by ServerRawTests.
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace SharpSeek.Server;

internal sealed class SseWriter(HttpResponse response)
{
    private static readonly byte[] Prefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    public static void Start(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
    }

    public async Task WriteAsync<T>(T value, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(value, OpenAiJson.Options);
        await WriteRawAsync(json, cancellationToken);
    }

    public Task DoneAsync(CancellationToken cancellationToken) => WriteRawAsync(Encoding.ASCII.GetBytes("[DONE]"), cancellationToken);

    private async Task WriteRawAsync(byte[] payload, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Prefix, cancellationToken);
        await response.Body.WriteAsync(payload, cancellationToken);
        await response.Body.WriteAsync(EventEnd, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
