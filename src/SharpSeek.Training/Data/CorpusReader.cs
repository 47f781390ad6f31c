// CorpusReader.cs: training text from the user's files: plain text files (cut at blank lines into documents of about a
// kilobyte or more), directory trees (recursive, sorted, hidden entries skipped, text and .parquet files only) and
// .parquet files (one document per row of a string column, all row groups). Not here: tokenizing (DatasetBuilder.cs).
// Tested by CorpusReaderTests.
using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Parquet;
using Parquet.Schema;

namespace SharpSeek.Training.Data;

/// <summary>Reads documents from text files, directories and parquet files.</summary>
public static class CorpusReader
{
    /// <summary>A text file is cut at blank lines; paragraphs are joined until a document holds at least this many
    /// characters, so a held-out split of whole documents still samples the file finely.</summary>
    public const int MinDocumentChars = 1024;

    private const int SniffBytes = 8192;

    /// <summary>Documents from <paramref name="paths"/> in order. Every path is checked before the first document is
    /// read; a missing path throws <see cref="FileNotFoundException"/> naming it. A parquet file without the string
    /// column <paramref name="textColumn"/> throws <see cref="InvalidDataException"/> naming the file and the column.
    /// Empty documents (and null parquet values) are skipped.</summary>
    public static IEnumerable<string> Read(IReadOnlyList<string> paths, string textColumn = "text")
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentException.ThrowIfNullOrEmpty(textColumn);
        if (paths.Count == 0) { throw new ArgumentException("no input paths (expected text files, .parquet files or directories)", nameof(paths)); }
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (File.Exists(path)) { files.Add(path); }
            else if (Directory.Exists(path))
            {
                var found = FilesUnder(path);
                if (found.Count == 0) { throw new InvalidDataException($"{path}: the directory holds no text or .parquet files"); }
                files.AddRange(found);
            }
            else { throw new FileNotFoundException($"{path}: no such file or directory (expected a text file, a .parquet file or a directory)", path); }
        }
        return ReadFiles(files, textColumn);
    }

    private static IEnumerable<string> ReadFiles(List<string> files, string textColumn)
    {
        foreach (var file in files)
        {
            var documents = IsParquet(file) ? ReadParquet(file, textColumn) : ReadText(file);
            foreach (var document in documents) { yield return document; }
        }
    }

    private static bool IsParquet(string path) => path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase);

    /// <summary>Files under <paramref name="directory"/> that are .parquet or look like UTF-8 text, sorted by their
    /// relative path (ordinal), skipping any entry whose name starts with '.'.</summary>
    private static List<string> FilesUnder(string directory)
    {
        var files = new List<(string Relative, string Full)>();
        foreach (var full in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(directory, full).Replace('\\', '/');
            if (relative.Split('/').Any(part => part.StartsWith('.'))) { continue; }
            if (IsParquet(full) || LooksLikeText(full)) { files.Add((relative, full)); }
        }
        files.Sort((x, y) => string.CompareOrdinal(x.Relative, y.Relative));
        return files.ConvertAll(f => f.Full);
    }

    /// <summary>True when the first 8 KiB hold no NUL byte and are valid UTF-8 (a sequence cut by the 8 KiB end
    /// counts as valid).</summary>
    private static bool LooksLikeText(string path)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(SniffBytes);
        var chars = ArrayPool<char>.Shared.Rent(SniffBytes);
        try
        {
            int read;
            using (var stream = File.OpenRead(path)) { read = stream.ReadAtLeast(buffer.AsSpan(0, SniffBytes), SniffBytes, throwOnEndOfStream: false); }
            var bytes = buffer.AsSpan(0, read);
            if (bytes.Contains((byte)0)) { return false; }
            var status = Utf8.ToUtf16(bytes, chars, out _, out _, replaceInvalidSequences: false, isFinalBlock: read < SniffBytes);
            return status is System.Buffers.OperationStatus.Done or System.Buffers.OperationStatus.NeedMoreData;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <summary>Paragraphs (split at blank lines, CRLF read as LF) joined with a blank line until a document reaches
    /// <see cref="MinDocumentChars"/>; the remainder is the last document.</summary>
    private static IEnumerable<string> ReadText(string path)
    {
        var text = File.ReadAllText(path, Encoding.UTF8).Replace("\r\n", "\n", StringComparison.Ordinal);
        var document = new StringBuilder();
        foreach (var paragraph in text.Split("\n\n"))
        {
            var trimmed = paragraph.Trim('\n');
            if (trimmed.Trim().Length == 0) { continue; }
            if (document.Length > 0) { document.Append("\n\n"); }
            document.Append(trimmed);
            if (document.Length >= MinDocumentChars)
            {
                yield return document.ToString();
                document.Clear();
            }
        }
        if (document.Length > 0) { yield return document.ToString(); }
    }

    private static IEnumerable<string> ReadParquet(string path, string textColumn)
    {
        var reader = OpenParquet(path);
        try
        {
            var field = TextField(path, reader.Schema, textColumn);
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                string?[] values;
                using (var group = reader.OpenRowGroupReader(g))
                {
                    values = new string?[checked((int)group.RowCount)];
                    group.ReadAsync(field, values.AsMemory()!).AsTask().GetAwaiter().GetResult();
                }
                foreach (var value in values)
                {
                    if (!string.IsNullOrEmpty(value)) { yield return value; }
                }
            }
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    // Parquet.Net is async-only; the reader is used from synchronous enumeration, where blocking on I/O is what we want.
    private static ParquetReader OpenParquet(string path)
    {
        try
        {
            return ParquetReader.CreateAsync(path).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not FileNotFoundException and not DirectoryNotFoundException and not UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: not a readable parquet file ({e.Message})", e);
        }
    }

    private static DataField TextField(string path, ParquetSchema schema, string textColumn)
    {
        var field = schema.Fields.FirstOrDefault(f => f.Name == textColumn);
        if (field is null)
        {
            throw new InvalidDataException($"{path}: no column '{textColumn}' (columns: {string.Join(", ", schema.Fields.Select(f => f.Name))}); pass the text column's name");
        }
        // Parquet.Net reports UTF-8 string columns as ReadOnlyMemory<char> (and binary ones as ReadOnlyMemory<byte>).
        if (field is not DataField data || data.IsArray || (data.ClrType != typeof(string) && data.ClrType != typeof(ReadOnlyMemory<char>)))
        {
            static string Name(Type t) => t == typeof(ReadOnlyMemory<byte>) ? "binary" : t.Name;
            var kind = field is DataField d ? (d.IsArray ? $"an array of {Name(d.ClrType)}" : Name(d.ClrType)) : field.SchemaType.ToString();
            throw new InvalidDataException($"{path}: column '{textColumn}' holds {kind}, expected a string column");
        }
        return data;
    }
}
