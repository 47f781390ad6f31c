// ProblemFile.cs: the user's problems from a JSONL file, one object a line: {"prompt": …, "answer": …} or
// {"messages": [{"role": …, "content": …}, …], "answer": …} (GSM8K-style numeric answers). Every error names the file
// and the line. Not here: whether an answer parses as a number (the accuracy reward decides, per problem), the order
// problems are used in (FileTasks.cs). Tested by ProblemFileTests.
using System.Text.Json;
using SharpSeek.Inference.Text;

namespace SharpSeek.Rl.Tasks;

/// <summary>Reads a JSONL file of problems.</summary>
public static class ProblemFile
{
    private static readonly string[] Roles = ["system", "user", "assistant"];

    /// <summary>The problems of <paramref name="path"/> in file order; blank lines are skipped. The answer is a JSON
    /// string or number; a GSM8K answer field ("… #### 72") keeps what follows its last "####". Throws
    /// <see cref="FileNotFoundException"/> for a missing file and <see cref="InvalidDataException"/>, as
    /// "path:line: what is wrong", for malformed JSON, a missing or empty answer, neither or both of prompt and
    /// messages, a malformed message, a conversation that does not end with a user turn, or a file with no problems.</summary>
    public static IReadOnlyList<Problem> Read(string path)
    {
        var name = Path.GetFileName(path);
        return ReadObjects(path, "problems", (root, number, where) => Parse(root, $"{name}:{number}", name, where));
    }

    /// <summary>Each non-blank line of <paramref name="path"/> parsed as a JSON object and handed to
    /// <paramref name="parse"/> with its line number and "path:line"; errors name the file and the line.</summary>
    internal static List<T> ReadObjects<T>(string path, string what, Func<JsonElement, int, string, T> parse)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) { throw new FileNotFoundException($"{path}: no such file (expected a .jsonl file of {what})", path); }
        var items = new List<T>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) { continue; }
            var where = $"{path}:{number}";
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new InvalidDataException($"{where}: not valid JSON ({e.Message})"); }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object) { throw new InvalidDataException($"{where}: expected a JSON object, got {doc.RootElement.ValueKind}"); }
                items.Add(parse(doc.RootElement, number, where));
            }
        }
        if (items.Count == 0) { throw new InvalidDataException($"{path}: no {what} (expected one JSON object a line)"); }
        return items;
    }

    private static Problem Parse(JsonElement root, string id, string task, string where)
    {
        var answer = Answer(root, where);
        var hasPrompt = root.TryGetProperty("prompt", out var prompt);
        var hasMessages = root.TryGetProperty("messages", out var messages);
        if (hasPrompt == hasMessages)
        {
            throw new InvalidDataException($"{where}: {(hasPrompt ? "both" : "neither")} \"prompt\" {(hasPrompt ? "and" : "nor")} \"messages\"; give exactly one");
        }
        if (hasPrompt)
        {
            if (prompt.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(prompt.GetString()))
            {
                throw new InvalidDataException($"{where}: \"prompt\" must be a non-empty string");
            }
            return new Problem(id, task, 0, prompt.GetString()!, answer);
        }
        var turns = Turns(messages, where, lastRole: "user");
        return new Problem(id, task, 0, turns[^1].Content, answer) { Messages = turns };
    }

    private static string Answer(JsonElement root, string where)
    {
        if (!root.TryGetProperty("answer", out var a)) { throw new InvalidDataException($"{where}: no \"answer\""); }
        var text = a.ValueKind switch
        {
            JsonValueKind.String => a.GetString()!,
            JsonValueKind.Number => a.GetRawText(),
            _ => throw new InvalidDataException($"{where}: \"answer\" must be a string or a number, got {a.ValueKind}"),
        };
        var mark = text.LastIndexOf("####", StringComparison.Ordinal);
        if (mark >= 0) { text = text[(mark + 4)..]; }
        text = text.Trim();
        if (text.Length == 0) { throw new InvalidDataException($"{where}: \"answer\" is empty"); }
        return text;
    }

    /// <summary>The conversation in <paramref name="messages"/>, which must end with a non-empty
    /// <paramref name="lastRole"/> turn.</summary>
    internal static List<ChatTurn> Turns(JsonElement messages, string where, string lastRole)
    {
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            throw new InvalidDataException($"{where}: \"messages\" must be a non-empty array of {{\"role\", \"content\"}} objects");
        }
        var turns = new List<ChatTurn>();
        foreach (var m in messages.EnumerateArray())
        {
            var n = turns.Count;
            if (m.ValueKind != JsonValueKind.Object
                || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                || !m.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
            {
                throw new InvalidDataException($"{where}: message {n} must be an object with string \"role\" and \"content\"");
            }
            if (!Roles.Contains(role.GetString()))
            {
                throw new InvalidDataException($"{where}: message {n} has role \"{role.GetString()}\"; expected {string.Join(", ", Roles)}");
            }
            turns.Add(new ChatTurn(role.GetString()!, content.GetString()!));
        }
        if (turns[^1].Role != lastRole)
        {
            throw new InvalidDataException($"{where}: the conversation must end with {(lastRole == "user" ? "a user" : "an assistant")} message (the last is \"{turns[^1].Role}\")");
        }
        if (string.IsNullOrWhiteSpace(turns[^1].Content)) { throw new InvalidDataException($"{where}: the last {lastRole} message is empty"); }
        return turns;
    }
}
