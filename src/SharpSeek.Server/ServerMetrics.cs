// ServerMetrics.cs: the server's own counters (HTTP responses by status, tokens it returned, open streams) and the
// Prometheus text exposition of them together with the engine's EngineMetrics. Not here: the engine's counting.
// Tested by ServerRawTests.ModelsHealthMetrics.
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using SharpSeek.Inference.Engine;

namespace SharpSeek.Server;

internal sealed class ServerMetrics
{
    private readonly ConcurrentDictionary<int, long> _responses = new();
    private long _promptTokens;
    private long _completionTokens;
    private long _streams;

    public void Response(int status) => _responses.AddOrUpdate(status, 1, (_, n) => n + 1);

    public void Tokens(int prompt, int completion)
    {
        Interlocked.Add(ref _promptTokens, prompt);
        Interlocked.Add(ref _completionTokens, completion);
    }

    public void StreamOpened() => Interlocked.Increment(ref _streams);

    public void StreamClosed() => Interlocked.Decrement(ref _streams);

    /// <summary>Prometheus text format 0.0.4: HELP and TYPE lines, then samples.</summary>
    public string Render(EngineMetrics e)
    {
        var sb = new StringBuilder();
        Metric(sb, "sharpseek_http_responses_total", "counter", "HTTP responses by status code",
            _responses.OrderBy(kv => kv.Key).Select(kv => ($"{{code=\"{kv.Key}\"}}", (double)kv.Value)));
        Metric(sb, "sharpseek_http_prompt_tokens_total", "counter", "prompt tokens of answered requests", [("", Interlocked.Read(ref _promptTokens))]);
        Metric(sb, "sharpseek_http_completion_tokens_total", "counter", "completion tokens returned to clients", [("", Interlocked.Read(ref _completionTokens))]);
        Metric(sb, "sharpseek_http_streams_open", "gauge", "SSE responses in progress", [("", Interlocked.Read(ref _streams))]);
        Metric(sb, "sharpseek_requests_total", "counter", "generations the engine accepted", [("", e.Requests)]);
        Metric(sb, "sharpseek_prompt_tokens_total", "counter", "prompt tokens of the generations the engine accepted", [("", e.PromptTokens)]);
        Metric(sb, "sharpseek_prompt_tokens_shared_total", "counter", "prompt tokens copied from another sequence's prefill of the same prompt", [("", e.SharedPromptTokens)]);
        Metric(sb, "sharpseek_generated_tokens_total", "counter", "tokens the engine generated", [("", e.GeneratedTokens)]);
        Metric(sb, "sharpseek_requests_running", "gauge", "generations decoding now", [("", e.Running)]);
        Metric(sb, "sharpseek_requests_queued", "gauge", "generations waiting for a slot (queue depth)", [("", e.Queued)]);
        Metric(sb, "sharpseek_prompt_seconds_total", "counter", "seconds spent in prefill", [("", e.PromptSeconds)]);
        Metric(sb, "sharpseek_decode_seconds_total", "counter", "seconds spent in decode steps", [("", e.DecodeSeconds)]);
        Metric(sb, "sharpseek_prompt_tokens_per_second", "gauge", "prefill throughput since start", [("", Rate(e.PromptTokens - e.SharedPromptTokens, e.PromptSeconds))]);
        Metric(sb, "sharpseek_generated_tokens_per_second", "gauge", "decode throughput since start", [("", Rate(e.GeneratedTokens, e.DecodeSeconds))]);
        Metric(sb, "sharpseek_spec_drafted_tokens_total", "counter", "tokens drafted by MTP speculation", [("", e.DraftedTokens)]);
        Metric(sb, "sharpseek_spec_accepted_tokens_total", "counter", "drafted tokens the main model accepted", [("", e.AcceptedDraftTokens)]);
        Metric(sb, "sharpseek_spec_acceptance_rate", "gauge", "accepted over drafted tokens", [("", Rate(e.AcceptedDraftTokens, e.DraftedTokens))]);
        Metric(sb, "sharpseek_kv_cache_bytes_per_token", "gauge", "MLA latent KV-cache bytes per token, all layers", [("", e.KvCacheBytesPerToken)]);
        Metric(sb, "sharpseek_kv_cache_mha_ratio", "gauge", "bytes an MHA cache of the same heads would take over the MLA cache's", [("", e.KvCacheMhaRatio)]);
        Metric(sb, "sharpseek_kv_cache_capacity_bytes", "gauge", "bytes the KV cache holds for all slots", [("", e.KvCacheCapacityBytes)]);
        return sb.ToString();
    }

    private static double Rate(double count, double per) => per > 0 ? count / per : 0;

    private static void Metric(StringBuilder sb, string name, string type, string help, IEnumerable<(string Labels, double Value)> samples)
    {
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        foreach (var (labels, value) in samples)
        {
            sb.Append(name).Append(labels).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
    }
}
