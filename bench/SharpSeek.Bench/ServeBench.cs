// ServeBench.cs: `sharpseek bench serve`: the OpenAI server over loopback under load. The server (BatchEngine behind
// SharpSeekServer, one KV slot per client) runs in this process; for each client count, that many HTTP clients send
// streaming chat completions back to back until the level's requests are done. Per request: time to the first content
// or reasoning delta and the end-to-end latency; per level: generated tokens/s over the level's wall time, p50/p99.
// Clients and server share the machine's cores, as a local deployment does. Not here: the command line
// (BenchServeCommand), the server itself. Tested by BenchServeCommandTests (the tiny trained
// run, a few short requests); the full benchmark never runs in CI.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;
using SharpSeek.Model;
using SharpSeek.Server;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Training.Data;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Bench;

/// <summary>What `sharpseek bench serve` measures.</summary>
public sealed record ServeBenchOptions
{
    /// <summary>A model directory with a tokenizer (a training run's directory is one).</summary>
    public required string Model { get; init; }

    public IReadOnlyList<int> Clients { get; init; } = [1, 4, 16];

    /// <summary>Requests per client count, spread over its clients.</summary>
    public int Requests { get; init; } = 32;

    public int MaxTokens { get; init; } = 64;

    public WeightFormat Format { get; init; } = WeightFormat.F32;

    public int Threads { get; init; } = 2;

    /// <summary>MTP speculation for the (greedy) requests.</summary>
    public bool Speculative { get; init; }
}

/// <summary>One client count's figures.</summary>
public sealed record ServeBenchRow(int Clients, int Requests, long GeneratedTokens, double Seconds, double TokensPerSecond,
    double RequestsPerSecond, double LatencyP50Ms, double LatencyP99Ms, double FirstTokenP50Ms, double FirstTokenP99Ms);

public static class ServeBench
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Runs the benchmark and prints the table (or the rows as JSON).</summary>
    public static async Task<int> RunAsync(TextWriter output, ServeBenchOptions options, bool json)
    {
        ArgumentNullException.ThrowIfNull(output);
        var rows = await MeasureAsync(options, json ? TextWriter.Null : output);
        output.WriteLine(json ? JsonSerializer.Serialize(rows, Indented) : Table(rows, options));
        return 0;
    }

    public static async Task<IReadOnlyList<ServeBenchRow>> MeasureAsync(ServeBenchOptions options, TextWriter progress)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        if (options.Clients.Count == 0 || options.Clients.Any(c => c < 1) || options.Requests < 1 || options.MaxTokens < 1 || options.Threads < 1)
        {
            throw new ArgumentException($"need at least one client count (each ≥ 1), requests ≥ 1, max tokens ≥ 1 and threads ≥ 1; got clients [{string.Join(' ', options.Clients)}], requests {options.Requests}, max tokens {options.MaxTokens}, threads {options.Threads}");
        }
        WorkerPool.UseThreads(options.Threads);
        var slots = options.Clients.Max();
        using var engine = BatchEngine.Load(options.Model, new BatchEngineOptions { Format = options.Format, MaxConcurrency = slots, QueueCapacity = 4 * slots });
        var tokenizer = engine.Tokenizer ?? throw new FileNotFoundException($"'{options.Model}' has no tokenizer.json; the server needs one");
        if (options.Speculative && !engine.CanSpeculate) { throw new ArgumentException($"--speculative needs an MTP module; '{options.Model}' has none"); }
        await using var server = new SharpSeekServer(engine, tokenizer, ChatTemplate.FromModelDirectory(options.Model), "bench",
            new ServerOptions { Host = "127.0.0.1", Port = 0, Speculative = options.Speculative });
        await server.StartAsync();
        using var http = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromMinutes(10) };
        var questions = Questions(Math.Max(options.Requests, 16));

        // Warm-up: every code path (prefill, batched decode) through the JIT's tiers before anything is timed.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 3)
        {
            await Task.WhenAll(Enumerable.Range(0, Math.Min(slots, 4)).Select(i => RequestAsync(http, questions[i], options.MaxTokens)));
        }

        var rows = new List<ServeBenchRow>();
        foreach (var clients in options.Clients)
        {
            var results = new List<(double Latency, double FirstToken, int Tokens)>[clients];
            var next = -1;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
            {
                results[c] = [];
                for (int i; (i = Interlocked.Increment(ref next)) < options.Requests;)
                {
                    results[c].Add(await RequestAsync(http, questions[i % questions.Length], options.MaxTokens));
                }
            }));
            var seconds = clock.Elapsed.TotalSeconds;
            var all = results.SelectMany(r => r).ToList();
            var latency = all.Select(r => r.Latency).Order().ToArray();
            var first = all.Select(r => r.FirstToken).Order().ToArray();
            long tokens = all.Sum(r => r.Tokens);
            var row = new ServeBenchRow(clients, all.Count, tokens, seconds, tokens / seconds, all.Count / seconds,
                Percentile(latency, 0.50), Percentile(latency, 0.99), Percentile(first, 0.50), Percentile(first, 0.99));
            progress.WriteLine(FormattableString.Invariant($"{clients} clients: {row.TokensPerSecond:F0} tok/s, p50 {row.LatencyP50Ms:F0} ms"));
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Nearest-rank percentile of sorted values (p99 of fewer than 100 requests is their maximum or near it).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0) { throw new ArgumentException("no values", nameof(sorted)); }
        var rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    // One streaming chat completion, read to [DONE]: (latency ms, first-delta ms, completion tokens from the usage chunk).
    private static async Task<(double Latency, double FirstToken, int Tokens)> RequestAsync(HttpClient http, string question, int maxTokens)
    {
        var body = JsonSerializer.Serialize(new
        {
            model = "bench",
            messages = new[] { new { role = "user", content = question } },
            stream = true,
            stream_options = new { include_usage = true },
            temperature = 0,
            max_tokens = maxTokens,
        });
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"the server answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        double first = double.NaN;
        var tokens = -1;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) { continue; }
            var data = line["data: ".Length..];
            if (data == "[DONE]") { break; }
            using var chunk = JsonDocument.Parse(data);
            var root = chunk.RootElement;
            if (root.TryGetProperty("error", out var error)) { throw new InvalidOperationException($"stream error: {error}"); }
            if (double.IsNaN(first) && root.GetProperty("choices") is { ValueKind: JsonValueKind.Array } choices && choices.GetArrayLength() > 0
                && choices[0].GetProperty("delta") is var delta && (HasText(delta, "content") || HasText(delta, "reasoning_content")))
            {
                first = clock.Elapsed.TotalMilliseconds;
            }
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                tokens = usage.GetProperty("completion_tokens").GetInt32();
            }
        }
        if (tokens < 0) { throw new InvalidOperationException("the stream ended without a usage chunk"); }
        var latency = clock.Elapsed.TotalMilliseconds;
        return (latency, double.IsNaN(first) ? latency : first, tokens);
    }

    private static bool HasText(JsonElement delta, string name) =>
        delta.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0;

    // The question part of generated reasoning-corpus documents: what the default run's model was trained on.
    private static string[] Questions(int count) =>
        [.. ReasoningCorpus.Generate(104729, 2 * count)
            .Where(t => !t.StartsWith(R1ZeroTemplate.Preamble, StringComparison.Ordinal)) // the question alone: the chat template frames it
            .Take(count)
            .Select(t => t.IndexOf("<think>", StringComparison.Ordinal) is var at and > 0 ? t[..at].Trim() : t[..(t.Length / 2)])];

    private static string Table(IReadOnlyList<ServeBenchRow> rows, ServeBenchOptions options)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"server over loopback: {options.Model}, {options.Format}, {options.Threads} threads, greedy, max_tokens {options.MaxTokens}, streaming{(options.Speculative ? ", MTP speculation" : "")}");
        text.AppendLine("clients  requests  tokens   seconds  tok/s    req/s   p50 ms   p99 ms   first p50  first p99");
        foreach (var r in rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{r.Clients,7}  {r.Requests,8}  {r.GeneratedTokens,6}  {r.Seconds,8:F2}  {r.TokensPerSecond,7:F0}  {r.RequestsPerSecond,6:F2}  {r.LatencyP50Ms,7:F0}  {r.LatencyP99Ms,7:F0}  {r.FirstTokenP50Ms,9:F0}  {r.FirstTokenP99Ms,9:F0}");
        }
        return text.ToString().TrimEnd();
    }
}
