// LayeringTests.cs: every ProjectReference in the repository follows the dependency graph in README.md (Layout), and no .csproj pins a version.
using System.Xml.Linq;

namespace SharpSeek.Cli.Tests;

public sealed class LayeringTests
{
    // project -> projects it may reference (test projects: their own project plus Tensors for helpers).
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["SharpSeek.Tensors"] = [],
        ["SharpSeek.Model"] = ["SharpSeek.Tensors"],
        ["SharpSeek.Training"] = ["SharpSeek.Model", "SharpSeek.Tensors"],
        ["SharpSeek.Inference"] = ["SharpSeek.Model", "SharpSeek.Tensors"],
        ["SharpSeek.Rl"] = ["SharpSeek.Training", "SharpSeek.Inference", "SharpSeek.Model", "SharpSeek.Tensors"],
        ["SharpSeek.Server"] = ["SharpSeek.Inference", "SharpSeek.Model", "SharpSeek.Tensors"],
        ["SharpSeek.Bench"] = ["SharpSeek.Tensors", "SharpSeek.Model", "SharpSeek.Training", "SharpSeek.Inference", "SharpSeek.Server"],
    };

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SharpSeek.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("SharpSeek.slnx not found above the test directory");
    }

    private static IEnumerable<string> ProjectFiles()
    {
        var root = RepoRoot();
        return new[] { "src", "tests", "bench" }
            .Select(d => Path.Combine(root, d))
            .Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.csproj", SearchOption.AllDirectories))
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
    }

    [Fact]
    public void ProjectReferences_FollowTheDependencyGraph()
    {
        var violations = new List<string>();
        var files = ProjectFiles().ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var name = Path.GetFileNameWithoutExtension(file);
            var refs = XDocument.Load(file).Descendants("ProjectReference")
                .Select(e => Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value))
                .ToList();
            string[] allowed;
            if (name.EndsWith(".Tests", StringComparison.Ordinal))
            {
                var subject = name[..^".Tests".Length];
                allowed = [subject, "SharpSeek.Tensors"];
            }
            else if (name == "SharpSeek.Cli")
            {
                allowed = [.. Allowed.Keys];
            }
            else if (!Allowed.TryGetValue(name, out allowed!))
            {
                violations.Add($"{name}: not in the dependency graph");
                continue;
            }
            violations.AddRange(refs.Where(r => !allowed.Contains(r)).Select(r => $"{name} -> {r}"));
        }
        Assert.Empty(violations);
    }

    [Fact]
    public void NoProjectPinsAPackageVersion()
    {
        var pinned = ProjectFiles()
            .Where(f => XDocument.Load(f).Descendants("PackageReference").Any(e => e.Attribute("Version") is not null))
            .ToList();
        Assert.Empty(pinned);
    }

    [Fact]
    public void OnlyTensorsAllowsUnsafeCode()
    {
        var offenders = ProjectFiles()
            .Where(f => Path.GetFileNameWithoutExtension(f) != "SharpSeek.Tensors")
            .Where(f => XDocument.Load(f).Descendants("AllowUnsafeBlocks").Any(e => e.Value.Trim() == "true"))
            .ToList();
        Assert.Empty(offenders);
    }
}
