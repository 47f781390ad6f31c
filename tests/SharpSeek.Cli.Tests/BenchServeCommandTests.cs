// BenchServeCommandTests.cs: `sharpseek bench serve` end to end on the tiny trained run (two client counts, a few short
// requests): one JSON row per level with consistent counts and percentiles; the nearest-rank percentile; bad input.
using System.Text.Json;
using SharpSeek.Bench;

namespace SharpSeek.Cli.Tests;

public sealed class BenchServeCommandTests
{
    [Fact]
    public void Json_OneRowPerClientCount_WithConsistentFigures()
    {
        var (code, output) = CliTests.Run("bench", "serve", "--model", TrainedRun.Directory, "--clients", "1", "3", "--requests", "5", "--max-tokens", "4", "--json");
        Assert.True(code == 0, output);
        using var json = JsonDocument.Parse(output);
        var rows = json.RootElement.EnumerateArray().ToList();
        Assert.Equal([1, 3], rows.Select(r => r.GetProperty("clients").GetInt32()));
        foreach (var r in rows)
        {
            Assert.Equal(5, r.GetProperty("requests").GetInt32());
            var tokens = r.GetProperty("generated_tokens").GetInt64();
            Assert.InRange(tokens, 5, 20);                                          // 1 .. 4 tokens per request
            var seconds = r.GetProperty("seconds").GetDouble();
            Assert.Equal(tokens / seconds, r.GetProperty("tokens_per_second").GetDouble(), 6);
            Assert.True(r.GetProperty("latency_p50_ms").GetDouble() <= r.GetProperty("latency_p99_ms").GetDouble());
            Assert.True(r.GetProperty("first_token_p50_ms").GetDouble() <= r.GetProperty("latency_p99_ms").GetDouble());
            Assert.True(r.GetProperty("latency_p99_ms").GetDouble() <= 1000 * seconds);
        }
    }

    [Fact]
    public void Percentile_IsNearestRank()
    {
        double[] sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        Assert.Equal(5, ServeBench.Percentile(sorted, 0.50));
        Assert.Equal(10, ServeBench.Percentile(sorted, 0.99));
        Assert.Equal(1, ServeBench.Percentile(sorted, 0.0));
        Assert.Equal(7, ServeBench.Percentile([7.0], 0.99));
        Assert.Throws<ArgumentException>(() => ServeBench.Percentile([], 0.5));
    }

    [Fact]
    public void BadInput_ExitsOneWithAMessage()
    {
        var (code, output) = CliTests.Run("bench", "serve", "--model", TrainedRun.Directory, "--clients", "0");
        Assert.Equal(1, code);
        Assert.Contains("client count", output, StringComparison.Ordinal);
        (code, output) = CliTests.Run("bench", "serve", "--model", TrainedRun.Directory, "--dtype", "f16");
        Assert.Equal(1, code);
        Assert.Contains("--dtype must be f32, bf16 or fp8", output, StringComparison.Ordinal);
    }
}
