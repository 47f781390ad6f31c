// MetricsLog.cs: metrics.jsonl in a run directory, one JSON object per optimizer step, flushed line by line so a
// killed run keeps what it logged. Reopening for a resume keeps only the steps the checkpoint covers (and drops a line
// torn by a kill), so a resumed run's log reads as if it had never stopped. Not here: the fields (MetricsRecord), the
// plots (PlotCommand). Tested by MetricsLogTests.
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SharpSeek.Model;

namespace SharpSeek.Training.Runs;

/// <summary>Appends <see cref="MetricsRecord"/> lines to metrics.jsonl and reads them back.</summary>
public sealed class MetricsLog : IDisposable
{
    public const string FileName = "metrics.jsonl";

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private readonly StreamWriter _writer;

    private MetricsLog(string path)
    {
        Path = path;
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
    }

    public string Path { get; }

    /// <summary>Opens the log of <paramref name="runDirectory"/> for appending, first keeping only the lines of steps
    /// 1 .. <paramref name="keepThroughStep"/> (0 starts an empty log).</summary>
    public static MetricsLog Open(string runDirectory, long keepThroughStep)
    {
        var path = System.IO.Path.Combine(runDirectory, FileName);
        if (File.Exists(path))
        {
            var kept = new StringBuilder();
            foreach (var line in File.ReadLines(path))
            {
                if (TryParse(line, out var record) && record.Step <= keepThroughStep) { kept.Append(line).Append('\n'); }
            }
            AtomicFile.WriteAllText(path, kept.ToString());
        }
        return new MetricsLog(path);
    }

    public void Append(MetricsRecord record)
    {
        _writer.Write(JsonSerializer.Serialize(record, Json));
        _writer.Write('\n');
        _writer.Flush();
    }

    /// <summary>Every record of a metrics.jsonl file (or of the one in a run directory), in file order. A last line torn
    /// by a kill is skipped; any other line that does not parse throws <see cref="InvalidDataException"/> naming it.</summary>
    public static IReadOnlyList<MetricsRecord> Read(string path)
    {
        if (Directory.Exists(path)) { path = System.IO.Path.Combine(path, FileName); }
        var lines = File.ReadAllLines(path);
        var records = new List<MetricsRecord>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) { continue; }
            if (TryParse(lines[i], out var record)) { records.Add(record); }
            else if (i < lines.Length - 1) { throw new InvalidDataException($"{path}:{i + 1}: not a metrics record (expected a JSON object with a step)"); }
        }
        return records;
    }

    /// <summary>max(load) / mean(load) − 1: 0 when every expert gets the same number of tokens.</summary>
    public static double MaxVio(ReadOnlySpan<long> load)
    {
        if (load.IsEmpty) { return 0; }
        long max = 0, sum = 0;
        foreach (var l in load) { max = Math.Max(max, l); sum += l; }
        return sum == 0 ? 0 : max / ((double)sum / load.Length) - 1;
    }

    public void Dispose() => _writer.Dispose();

    private static bool TryParse(string line, out MetricsRecord record)
    {
        record = null!;
        try
        {
            var parsed = JsonSerializer.Deserialize<MetricsRecord>(line, Json);
            if (parsed is null || parsed.Step < 1) { return false; }
            record = parsed;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
