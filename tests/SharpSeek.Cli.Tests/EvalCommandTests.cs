// EvalCommandTests.cs: `sharpseek eval` on the shared tiny trained run: the per-level table and its JSON (every rate
// within [0, 1], pass@k ≥ pass@1, the problems distinct held-out ones), reproducible for a seed, and bad input named.
using System.Text.Json;

namespace SharpSeek.Cli.Tests;

public sealed class EvalCommandTests
{
    [Fact]
    public void Eval_PrintsTheTableAndTheJson()
    {
        string[] args = ["eval", "--model", TrainedRun.Directory, "--task", "add:1-2", "--problems", "6", "--samples", "3", "--max-new-tokens", "24", "--template", "plain"];
        var (code, output) = CliTests.Run(args);
        Assert.True(code == 0, output);
        Assert.Contains("pass@1", output, StringComparison.Ordinal);
        Assert.Contains("cons@3", output, StringComparison.Ordinal);
        Assert.Contains("all", output, StringComparison.Ordinal);

        (code, output) = CliTests.Run([.. args, "--json"]);
        Assert.True(code == 0, output);
        using var doc = JsonDocument.Parse(output);
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(["1", "2", "all"], rows.Select(r => r.GetProperty("level").GetString()));
        Assert.Equal(6, rows[^1].GetProperty("problems").GetInt32());
        foreach (var r in rows)
        {
            foreach (var name in new[] { "pass1", "cons_k", "pass_k", "format_rate" }) { Assert.InRange(r.GetProperty(name).GetDouble(), 0, 1); }
            Assert.True(r.GetProperty("pass_k").GetDouble() >= r.GetProperty("pass1").GetDouble());
        }
        var (again, output2) = CliTests.Run([.. args, "--json"]);
        Assert.Equal(0, again);
        using var doc2 = JsonDocument.Parse(output2);
        Assert.Equal(doc.RootElement.GetProperty("rows").GetRawText(), doc2.RootElement.GetProperty("rows").GetRawText()); // same seed, same samples
    }

    [Fact]
    public void BadInput_ExitsWithOne_NamingTheProblem()
    {
        var (code, output) = CliTests.Run("eval", "--model", TrainedRun.Directory, "--task", "poetry");
        Assert.Equal(1, code);
        Assert.Contains("unknown task 'poetry'", output, StringComparison.Ordinal);
        (code, output) = CliTests.Run("eval", "--model", TrainedRun.Directory, "--samples", "0");
        Assert.Equal(1, code);
        Assert.Contains("--samples must be at least 1", output, StringComparison.Ordinal);
    }
}
