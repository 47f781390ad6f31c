// ServerOptions.cs: how SharpSeekServer listens and what it admits. Not here: engine settings (concurrency, queue),
// which belong to the engine. Tested by ServerRawTests (key, context) and ServerEngineTests (speculative).
namespace SharpSeek.Server;

/// <summary>Listening address, API key and per-request context limit of a <see cref="SharpSeekServer"/>.</summary>
public sealed record ServerOptions
{
    /// <summary>An IP address or host name to listen on; port 0 needs an IP address (e.g. 127.0.0.1).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (see <see cref="SharpSeekServer.Url"/>).</summary>
    public int Port { get; init; } = 8000;

    /// <summary>When set, every route but /health needs "Authorization: Bearer &lt;key&gt;".</summary>
    public string? ApiKey { get; init; }

    /// <summary>Prompt plus output tokens allowed per request; null: the engine's context length (never more).</summary>
    public int? ContextLength { get; init; }

    /// <summary>Draft with the model's MTP module and verify with the main model, for greedy requests (temperature 0, no
    /// penalties); sampled requests decode normally. Output is unchanged either way.</summary>
    public bool Speculative { get; init; }
}
