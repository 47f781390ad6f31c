// DataTestFiles.cs: helpers for the data-pipeline suites: a temporary directory and an exact integer evaluator for the
// arithmetic written in the generated corpus. Not here: tests.
using System.Globalization;

namespace SharpSeek.Training.Tests.Data;

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sharpseek-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>Evaluates integer expressions with + - * / and parentheses, usual precedence, left to right; null when the
/// text is not such an expression or a division is not exact.</summary>
internal static class IntExpression
{
    public static long? Evaluate(string text)
    {
        var pos = 0;
        var value = Sum(text, ref pos);
        Skip(text, ref pos);
        return pos == text.Length ? value : null;
    }

    private static long? Sum(string s, ref int pos)
    {
        var acc = Product(s, ref pos);
        while (acc is not null)
        {
            Skip(s, ref pos);
            if (pos >= s.Length || (s[pos] != '+' && s[pos] != '-')) { break; }
            var op = s[pos++];
            var right = Product(s, ref pos);
            acc = right is null ? null : op == '+' ? acc + right : acc - right;
        }
        return acc;
    }

    private static long? Product(string s, ref int pos)
    {
        var acc = Atom(s, ref pos);
        while (acc is not null)
        {
            Skip(s, ref pos);
            if (pos >= s.Length || (s[pos] != '*' && s[pos] != '/')) { break; }
            var op = s[pos++];
            var right = Atom(s, ref pos);
            if (right is null) { return null; }
            if (op == '*') { acc *= right; }
            else if (right == 0 || acc % right != 0) { return null; }
            else { acc /= right; }
        }
        return acc;
    }

    private static long? Atom(string s, ref int pos)
    {
        Skip(s, ref pos);
        if (pos >= s.Length) { return null; }
        if (s[pos] == '(')
        {
            pos++;
            var inner = Sum(s, ref pos);
            Skip(s, ref pos);
            if (inner is null || pos >= s.Length || s[pos] != ')') { return null; }
            pos++;
            return inner;
        }
        var start = pos;
        while (pos < s.Length && char.IsAsciiDigit(s[pos])) { pos++; }
        return pos > start ? long.Parse(s.AsSpan(start, pos - start), CultureInfo.InvariantCulture) : null;
    }

    private static void Skip(string s, ref int pos)
    {
        while (pos < s.Length && s[pos] == ' ') { pos++; }
    }
}
