// ConfigWarningsTests.cs: generate, chat, serve and train (info and forward have their own tests) print the one line
// naming a config's defaulted keys on stderr, once, before their work, for a model directory whose config.json leaves a
// key out; a complete config prints no warning.
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace SharpSeek.Cli.Tests;

public sealed class ConfigWarningsTests
{
    private const string Warning = "warning: config.json leaves out 1 key(s); using the deepseek_v3 defaults: rms_norm_eps = ";

    [Theory]
    [InlineData("generate", "--tokens", "1,2,3", "--max-new-tokens", "2")]
    [InlineData("chat", "--max-new-tokens", "2", "--temperature", "0")]
    [InlineData("train", "--steps", "1", "--documents", "20", "--seq-len", "32", "--micro-batch", "2", "--batch-tokens", "64", "--eval-every", "0")]
    public async Task DefaultedKey_IsOneWarningLineOnStderr(string verb, params string[] extra)
    {
        var dir = ModelLeavingOutAKey();
        try
        {
            string[] args = verb == "train" ? [verb, "--init", dir, "--out", dir + "-tuned", .. extra] : [verb, "--model", dir, .. extra];
            using var p = Start(args);
            await p.StandardInput.WriteAsync("/exit\n");
            p.StandardInput.Close();
            var (stdout, stderr) = (p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync());
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
            Assert.True(p.ExitCode == 0, await stdout + await stderr);
            AssertOneWarning(await stdout, await stderr);
        }
        finally
        {
            Delete(dir, dir + "-tuned");
        }
    }

    [Fact]
    public async Task Serve_DefaultedKey_IsOneWarningLineOnStderr()
    {
        var dir = ModelLeavingOutAKey();
        using var p = Start("serve", "--model", dir, "--port", "0");
        try
        {
            var line = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.StartsWith("serving", line, StringComparison.Ordinal);
        }
        finally
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        AssertOneWarning(await p.StandardOutput.ReadToEndAsync(), await p.StandardError.ReadToEndAsync());
        Delete(dir);
    }

    [Fact]
    public void CompleteConfig_PrintsNoWarning()
    {
        var (code, output) = CliTests.Run("generate", "--model", TrainedRun.Directory, "--tokens", "1,2,3", "--max-new-tokens", "2");
        Assert.True(code == 0, output);
        Assert.DoesNotContain("warning", output, StringComparison.Ordinal);
    }

    private static void AssertOneWarning(string stdout, string stderr)
    {
        Assert.Single(stderr.Split('\n'), l => l.StartsWith(Warning, StringComparison.Ordinal));
        Assert.DoesNotContain("warning", stdout, StringComparison.Ordinal);
    }

    // The trained run's files with rms_norm_eps left out of config.json; its default (1e-6) is the run's own value.
    private static string ModelLeavingOutAKey()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-defaulted-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(TrainedRun.Directory)) { File.Copy(file, Path.Combine(dir, Path.GetFileName(file))); }
        var path = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.Equal(1e-6, (double)config["rms_norm_eps"]!);
        config.Remove("rms_norm_eps");
        File.WriteAllText(path, config.ToJsonString());
        return dir;
    }

    private static Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sharpseek.dll"));
        foreach (var a in args) { psi.ArgumentList.Add(a); }
        return Process.Start(psi)!;
    }

    private static void Delete(params string[] dirs)
    {
        foreach (var d in dirs)
        {
            if (Directory.Exists(d)) { Directory.Delete(d, recursive: true); }
        }
    }
}
