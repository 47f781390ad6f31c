// CliTests.cs: the sharpseek command as a user runs it: --help and --version on every level, exit codes for bad input.
using System.Diagnostics;

namespace SharpSeek.Cli.Tests;

public sealed class CliTests
{
    internal static (int ExitCode, string Output) Run(params string[] args) => RunWith(new Dictionary<string, string>(), args);

    /// <summary>Runs sharpseek with <paramref name="environment"/> added to this process's environment.</summary>
    internal static (int ExitCode, string Output) RunWith(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "sharpseek.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment) { psi.Environment[name] = value; }
        psi.ArgumentList.Add(dll);
        foreach (var a in args) { psi.ArgumentList.Add(a); }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"sharpseek {string.Join(' ', args)} did not finish in 60 s");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void Version_PrintsTheVersion()
    {
        var (code, output) = Run("--version");
        Assert.Equal(0, code);
        Assert.StartsWith("0.", output.Trim(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sharpseek [command]", "--help")]
    [InlineData("sharpseek bench [command]", "bench", "--help")]
    [InlineData("--threads", "bench", "gemm", "--help")]
    [InlineData("--quick", "bench", "ops", "--help")]
    public void Help_WorksOnEveryLevel(string expected, params string[] args)
    {
        var (code, output) = Run(args);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownVerb_FailsWithNonZeroExit()
    {
        var (code, output) = Run("no-such-verb");
        Assert.NotEqual(0, code);
        Assert.Contains("no-such-verb", output, StringComparison.Ordinal);
    }
}
