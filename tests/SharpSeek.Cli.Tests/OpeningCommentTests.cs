// OpeningCommentTests.cs: every "Tested by …" / "Tested through …" in the opening comment of a src/ or bench/ .cs file
// names only test classes that exist under tests/, so an opening never sends a reader to a suite that was renamed or
// never written. The phrase runs to the end of its sentence ("A and B", "A, B", "the row tests (ATests)", across lines).
using System.Text.RegularExpressions;

namespace SharpSeek.Cli.Tests;

public sealed partial class OpeningCommentTests
{
    // From "Tested by" / "Tested through" to the end of the sentence: a period before whitespace or the end, or a semicolon.
    [GeneratedRegex(@"\btested\s+(?:by|through)\b(?<names>.*?)(?:\.(?=\s|$)|;|$)", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex TestedPhrase();

    // A class name as the phrases write them: PascalCase ending in Tests (or Test), not a namespace part like X.Tests.
    [GeneratedRegex(@"(?<![\w.])[A-Z][A-Za-z0-9_]*Tests?\b")]
    private static partial Regex TestClassName();

    [GeneratedRegex(@"\b(?:class|record|struct)\s+(?<name>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex TypeDeclaration();

    /// <summary>The leading // lines of a file, joined with spaces and without the slashes.</summary>
    internal static string Opening(IEnumerable<string> lines) =>
        string.Join(' ', lines.Select(l => l.TrimStart('\uFEFF').TrimStart())
            .TakeWhile(l => l.StartsWith("//", StringComparison.Ordinal))
            .Select(l => l[2..].Trim()));

    /// <summary>Every test class an opening comment's "Tested by/through" phrases name, in order.</summary>
    internal static List<string> NamedTestClasses(string opening) =>
        [.. TestedPhrase().Matches(opening)
            .SelectMany(m => TestClassName().Matches(m.Groups["names"].Value))
            .Select(m => m.Value)];

    private static IEnumerable<string> SourceFiles(string root, params string[] dirs) =>
        dirs.Select(d => Path.Combine(root, d))
            .Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    [Theory]
    [InlineData("X.cs: a thing. Tested by FooTests.", "FooTests")]
    [InlineData("X.cs: a thing. Not here: y (OtherTests). Tested by FooTests and BarTests.", "FooTests BarTests")]
    [InlineData("X.cs: a thing. Tested by FooTests, BarTests, BazTests. Never run in CI.", "FooTests BarTests BazTests")]
    [InlineData("X.cs: a thing. Tested through FooTests (its JSON) and the row tests (BarTests, BazTests).", "FooTests BarTests BazTests")]
    [InlineData("X.cs: a thing. Tested by FooTests.Metrics_* and, over the double, BarTests; not by y.", "FooTests BarTests")]
    [InlineData("X.cs: a thing. It is tested by FooTests", "FooTests")]
    [InlineData("X.cs: a thing. Tested by the SharpSeek.Server.Tests suites.", "")]
    [InlineData("X.cs: a thing. Never run in CI.", "")]
    public void NamedTestClasses_ReadsEveryPhrasing(string opening, string expected) =>
        Assert.Equal(expected.Split(' ', StringSplitOptions.RemoveEmptyEntries), NamedTestClasses(opening));

    [Fact]
    public void Opening_JoinsTheLeadingCommentLinesOnly()
    {
        string[] lines = ["\uFEFF// X.cs: a thing. Tested by", "// FooTests and", "// BarTests.", "using System;", "// BazTests"];
        Assert.Equal(["FooTests", "BarTests"], NamedTestClasses(Opening(lines)));
    }

    [Fact]
    public void TestedByLines_NameTestClassesThatExist()
    {
        var root = LayeringTests.RepoRoot();
        var classes = SourceFiles(root, "tests")
            .SelectMany(f => TypeDeclaration().Matches(File.ReadAllText(f)).Select(m => m.Groups["name"].Value))
            .ToHashSet(StringComparer.Ordinal);
        var sources = SourceFiles(root, "src", "bench").ToList();
        var named = 0;
        var missing = new List<string>();
        foreach (var file in sources)
        {
            var names = NamedTestClasses(Opening(File.ReadLines(file)));
            named += names.Count;
            missing.AddRange(names.Where(n => !classes.Contains(n)).Distinct()
                .Select(n => $"{Path.GetRelativePath(root, file).Replace('\\', '/')} → {n}"));
        }
        // Guards against a parser that silently finds nothing (then every check would pass).
        Assert.True(sources.Count > 100 && classes.Count > 50, $"found {sources.Count} source files and {classes.Count} test types");
        Assert.True(named > 100, $"only {named} test classes named in {sources.Count} openings; is the phrase parser broken?");
        Assert.True(missing.Count == 0,
            $"{missing.Count} \"Tested by/through\" name(s) with no such class under tests/ (file → missing class):\n"
            + string.Join('\n', missing));
    }
}
