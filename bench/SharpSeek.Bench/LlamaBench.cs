// LlamaBench.cs: llama.cpp's own benchmark (`ggml-org/llama.cpp:tools/llama-bench/llama-bench.cpp`) run on GGUF files
// beside `sharpseek bench infer`'s dense rows: found through the LLAMA_BENCH environment variable or on PATH, run with
// `-p <prompt> -n <decode> -t <threads> -r 3 -o json`, its prompt-processing (pp) and generation (tg) tokens/s read
// from the JSON. Not here: llama.cpp itself, converting a checkpoint to GGUF (docs/benchinfer.md says how a reader
// obtains both; nothing in this repository builds them). Tested by BenchInferCommandTests (absent: n/a).
using System.Globalization;
using System.Text.Json;

namespace SharpSeek.Bench;

/// <summary>One llama-bench run: pp and tg tokens/s of one GGUF file at one thread count, or why it did not run.</summary>
public sealed record LlamaBenchResult(double? Prefill, double? Decode, string ModelType, long ModelBytes, long Parameters, string Why);

public static class LlamaBench
{
    /// <summary>The environment variable naming the llama-bench executable (else it is looked for on PATH).</summary>
    public const string ExecutableVariable = "LLAMA_BENCH";

    /// <summary>The environment variable listing GGUF files (separated by the path separator) when --gguf is not given.</summary>
    public const string FilesVariable = "LLAMA_GGUF";

    /// <summary>The llama-bench executable, or null with why: LLAMA_BENCH if set (it must exist), else the first
    /// llama-bench on PATH.</summary>
    public static string? Find(out string why)
    {
        if (Environment.GetEnvironmentVariable(ExecutableVariable) is { Length: > 0 } named)
        {
            why = File.Exists(named) ? "" : $"{ExecutableVariable}={named} does not exist";
            return File.Exists(named) ? Path.GetFullPath(named) : null;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "llama-bench");
            if (File.Exists(candidate)) { why = ""; return candidate; }
        }
        why = $"no llama-bench on PATH and {ExecutableVariable} unset";
        return null;
    }

    /// <summary>The GGUF files to measure: <paramref name="given"/> if any, else those LLAMA_GGUF lists.</summary>
    public static IReadOnlyList<string> Files(IReadOnlyList<string> given)
    {
        ArgumentNullException.ThrowIfNull(given);
        return given.Count > 0 ? given
            : (Environment.GetEnvironmentVariable(FilesVariable) ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Runs llama-bench on one file: pp of <paramref name="prompt"/> tokens and tg of <paramref name="decode"/>
    /// tokens from an empty cache, <paramref name="threads"/> threads, the mean of 3 repetitions after its warm-up.</summary>
    public static LlamaBenchResult Run(string executable, string gguf, int prompt, int decode, int threads)
    {
        if (!File.Exists(gguf)) { return new(null, null, "", 0, 0, $"no file {gguf}"); }
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        var (code, stdout, stderr) = TrainBench.RunProcess(executable, ["-m", gguf, "-p", I(prompt), "-n", I(decode), "-t", I(threads), "-r", "3", "-o", "json"], threads);
        if (code != 0) { return new(null, null, "", 0, 0, $"exit {code}: {stderr.TrimEnd().Split('\n')[^1]}"); }
        try
        {
            using var document = JsonDocument.Parse(stdout);
            double? pp = null, tg = null;
            var (type, bytes, parameters) = ("", 0L, 0L);
            foreach (var test in document.RootElement.EnumerateArray())
            {
                (type, bytes, parameters) = (test.GetProperty("model_type").GetString() ?? "", test.GetProperty("model_size").GetInt64(), test.GetProperty("model_n_params").GetInt64());
                var speed = test.GetProperty("avg_ts").GetDouble();
                if (test.GetProperty("n_gen").GetInt32() > 0) { tg = speed; } else { pp = speed; }
            }
            return new(pp, tg, type, bytes, parameters, "");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return new(null, null, "", 0, 0, $"unreadable output: {e.Message}");
        }
    }
}
