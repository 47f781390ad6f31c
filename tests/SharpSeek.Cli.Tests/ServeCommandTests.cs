// ServeCommandTests.cs: `sharpseek serve` and `sharpseek chat` as a user runs them on a trained run directory: serve
// binds a free port, answers /health, chat completions and /v1/models (401 without the key); chat streams replies with
// /reset and /exit; bad options exit 1 with a message.
using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace SharpSeek.Cli.Tests;

public sealed class ServeCommandTests
{
    private static Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sharpseek.dll"));
        foreach (var a in args) { psi.ArgumentList.Add(a); }
        return Process.Start(psi)!;
    }

    [Fact]
    public async Task Serve_PortZero_AnswersOverHttp()
    {
        using var p = Start("serve", "--model", TrainedRun.Directory, "--port", "0", "--api-key", "k", "--name", "tiny", "--max-concurrency", "2");
        try
        {
            var line = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) ?? await p.StandardError.ReadToEndAsync();
            Assert.StartsWith("serving 'tiny' at http://127.0.0.1:", line, StringComparison.Ordinal);
            var url = line.Split(' ')[3];
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            Assert.Equal("""{"status":"ok"}""", await http.GetStringAsync("/health"));
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/v1/models")).StatusCode);
            http.DefaultRequestHeaders.Authorization = new("Bearer", "k");
            var response = await http.PostAsync("/v1/chat/completions",
                new StringContent("""{"model":"tiny","messages":[{"role":"user","content":"Add 2 and 3."}],"max_tokens":4,"temperature":0}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            var completion = root.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
            Assert.InRange(completion, 1, 4);
            Assert.Equal(completion == 4 ? "length" : "stop", root.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
            Assert.Contains("sharpseek_requests_total 1\n", await http.GetStringAsync("/metrics"), StringComparison.Ordinal);
        }
        finally
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Chat_StreamsRepliesResetsAndExits()
    {
        using var p = Start("chat", "--model", TrainedRun.Directory, "--max-new-tokens", "3", "--temperature", "0");
        await p.StandardInput.WriteAsync("Add 2 and 3.\n/reset\n/exit\n");
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEndAsync();
        var errors = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(p.ExitCode == 0, await output + await errors);
        var text = await output;
        Assert.StartsWith("Type a message; /reset clears the history, /exit quits.\n> ", text, StringComparison.Ordinal);
        Assert.Contains("\n> (history cleared)\n> ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", text, StringComparison.Ordinal); // redirected output: no ANSI codes
    }

    [Theory]
    [InlineData("--dtype must be f32, bf16 or fp8", "serve", "--dtype", "f16")]
    [InlineData("--temperature must be ≥ 0", "chat", "--temperature", "-1")]
    [InlineData("--top-p must be in (0, 1]", "chat", "--top-p", "0")]
    public void BadOptions_ExitOne(string expected, string verb, params string[] extra)
    {
        var (code, output) = CliTests.Run([verb, "--model", TrainedRun.Directory, .. extra]);
        Assert.Equal(1, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingModel_ExitsOne()
    {
        var (code, output) = CliTests.Run("serve", "--model", Path.Combine(Path.GetTempPath(), "no-such-sharpseek-model"));
        Assert.Equal(1, code);
        Assert.Contains("no-such-sharpseek-model", output, StringComparison.Ordinal);
    }
}
