// ProblemFileTests.cs: the JSONL loader reads both shapes (prompt, messages), string and number answers and GSM8K's
// "#### n" answers, skips blank lines while counting them, keeps answers that are not numbers (unscorable later), and
// names the file and line in every error.
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Tests;

public sealed class ProblemFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sharpseek-rl-" + Guid.NewGuid().ToString("N"));

    public ProblemFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(params string[] lines)
    {
        var path = Path.Combine(_dir, "data.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void Read_BothShapes()
    {
        var path = Write(
            """{"prompt": "What is 2+2?", "answer": "4"}""",
            "",
            """{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 3*3?"}], "answer": 9}""",
            """{"prompt": "Natalia sold 48 clips...", "answer": "She sold 48/2 = 24 in May.\n#### 1,234"}""",
            """{"prompt": "Spell it", "answer": "seventy-two", "extra": [1, 2]}""",
            """{"prompt": "Half?", "answer": 0.5}""");
        var problems = ProblemFile.Read(path);
        Assert.Equal(5, problems.Count);
        Assert.Equal(new Problem("data.jsonl:1", "data.jsonl", 0, "What is 2+2?", "4"), problems[0]);
        Assert.Equal("data.jsonl:3", problems[1].Id);
        Assert.Equal("What is 3*3?", problems[1].Question);
        Assert.Equal("9", problems[1].Answer);
        Assert.Equal(["system", "user"], problems[1].Messages!.Select(t => t.Role));
        Assert.Equal("1,234", problems[2].Answer);
        Assert.Equal("seventy-two", problems[3].Answer);
        Assert.Equal("0.5", problems[4].Answer);
        Assert.All(problems, p => Assert.Null(p.Numbers));
    }

    [Theory]
    [InlineData("{\"prompt\": \"p\", \"answer\": \"1\"", "not valid JSON")]
    [InlineData("""[1, 2]""", "expected a JSON object")]
    [InlineData("""{"prompt": "p"}""", "no \"answer\"")]
    [InlineData("""{"prompt": "p", "answer": ""}""", "\"answer\" is empty")]
    [InlineData("""{"prompt": "p", "answer": "  "}""", "\"answer\" is empty")]
    [InlineData("""{"prompt": "p", "answer": "reasoning ####"}""", "\"answer\" is empty")]
    [InlineData("""{"prompt": "p", "answer": null}""", "\"answer\" must be a string or a number")]
    [InlineData("""{"prompt": "p", "answer": [1]}""", "\"answer\" must be a string or a number")]
    [InlineData("""{"question": "p", "answer": "1"}""", "neither \"prompt\" nor \"messages\"")]
    [InlineData("""{"prompt": "p", "messages": [{"role": "user", "content": "p"}], "answer": "1"}""", "both \"prompt\" and \"messages\"")]
    [InlineData("""{"prompt": "", "answer": "1"}""", "\"prompt\" must be a non-empty string")]
    [InlineData("""{"prompt": 7, "answer": "1"}""", "\"prompt\" must be a non-empty string")]
    [InlineData("""{"messages": "hi", "answer": "1"}""", "\"messages\" must be a non-empty array")]
    [InlineData("""{"messages": [], "answer": "1"}""", "\"messages\" must be a non-empty array")]
    [InlineData("""{"messages": [{"role": "user"}], "answer": "1"}""", "message 0 must be an object with string \"role\" and \"content\"")]
    [InlineData("""{"messages": [{"role": "bot", "content": "hi"}], "answer": "1"}""", "message 0 has role \"bot\"")]
    [InlineData("""{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "answer": "1"}""", "must end with a user message (the last is \"assistant\")")]
    [InlineData("""{"messages": [{"role": "user", "content": " "}], "answer": "1"}""", "the last user message is empty")]
    public void Read_BadLine_NamesFileAndLine(string line, string message)
    {
        var path = Write("""{"prompt": "fine", "answer": "1"}""", line);
        var e = Assert.Throws<InvalidDataException>(() => ProblemFile.Read(path));
        Assert.StartsWith($"{path}:2: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MissingOrEmptyFile_Throws()
    {
        var missing = Path.Combine(_dir, "nope.jsonl");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => ProblemFile.Read(missing)).Message, StringComparison.Ordinal);
        var empty = Write("", "  ");
        Assert.Contains("no problems", Assert.Throws<InvalidDataException>(() => ProblemFile.Read(empty)).Message, StringComparison.Ordinal);
    }
}
