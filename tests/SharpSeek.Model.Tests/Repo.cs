// Repo.cs: test helper that finds the repository (configs/, tests/data/) above the test binaries. Not here: tests.
namespace SharpSeek.Model.Tests;

internal static class Repo
{
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SharpSeek.slnx"))) { dir = dir.Parent; }
            return dir?.FullName ?? throw new InvalidOperationException("SharpSeek.slnx not found above the test directory");
        }
    }

    public static string Config(string fileName) => Path.Combine(Root, "configs", fileName);

    public static string Data(string fileName) => Path.Combine(Root, "tests", "data", fileName);
}
