// CorpusReaderTests.cs: text files are cut at blank lines into documents; directories are read recursively in sorted
// order with hidden and binary files skipped; parquet files give their string column over all row groups; missing
// paths, missing columns and non-string columns fail naming the file and what was expected.
using Parquet;
using Parquet.Schema;
using SharpSeek.Training.Data;

namespace SharpSeek.Training.Tests.Data;

public sealed class CorpusReaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Read_TextFile_CutsAtBlankLinesIntoDocumentsOfAtLeastTheMinimum()
    {
        var rng = new Random(5);
        var paragraphs = Enumerable.Range(0, 60).Select(_ => Words(rng, rng.Next(3, 90))).ToList();
        var path = _dir.File("speeches.txt");
        File.WriteAllText(path, (string.Join("\n\n\n", paragraphs) + "\n").Replace("\n", "\r\n", StringComparison.Ordinal));

        var documents = CorpusReader.Read([path]).ToList();

        Assert.True(documents.Count > 3, $"{documents.Count} documents");
        Assert.All(documents.SkipLast(1), d => Assert.True(d.Length >= CorpusReader.MinDocumentChars, $"{d.Length} chars"));
        Assert.All(documents, d => Assert.DoesNotContain('\r', d));
        // Joined back with blank lines they give every paragraph once, in order.
        Assert.Equal(paragraphs, string.Join("\n\n", documents).Split("\n\n"));
    }

    [Fact]
    public async Task Read_Directory_RecursiveSortedSkipsHiddenAndBinary()
    {
        Write("b.txt", "bee");
        Write("a/z.md", "zed");
        Write("a/c.txt", "sea");
        Write("a/deeper/d.text", "dee");
        Write(".git/config", "hidden dir");
        Write("a/.secret.txt", "hidden file");
        File.WriteAllBytes(_dir.File("blob.bin"), [1, 2, 0, 3, 4]);
        File.WriteAllBytes(_dir.File("latin1.txt"), [0x63, 0x61, 0x66, 0xE9, 0x20, 0x21]); // "café !" in Latin-1: not UTF-8
        await WriteParquet(_dir.File("a/rows.parquet"), [["from parquet"]]);

        var documents = CorpusReader.Read([_dir.Path]).ToList();

        Assert.Equal(["sea", "dee", "from parquet", "zed", "bee"], documents);
    }

    [Fact]
    public async Task Read_Parquet_AllRowGroupsInOrderSkippingNulls()
    {
        var path = _dir.File("train.parquet");
        await WriteParquet(path, [["first", "second", null], ["third"], ["fourth", "", "fifth"]]);

        Assert.Equal(["first", "second", "third", "fourth", "fifth"], CorpusReader.Read([path]));
    }

    [Fact]
    public async Task Read_Parquet_OtherColumnName()
    {
        var path = _dir.File("named.parquet");
        await WriteParquet(path, [["only row"]], textColumn: "content");

        Assert.Equal(["only row"], CorpusReader.Read([path], "content"));
    }

    [Fact]
    public async Task Read_Parquet_MissingColumn_NamesFileColumnAndColumnsPresent()
    {
        var path = _dir.File("data.parquet");
        await WriteParquet(path, [["a row"]], textColumn: "content");

        var e = Assert.Throws<InvalidDataException>(() => CorpusReader.Read([path]).ToList());
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("no column 'text'", e.Message, StringComparison.Ordinal);
        Assert.Contains("content, id", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_Parquet_NonStringColumn_Rejected()
    {
        var path = _dir.File("ints.parquet");
        await WriteParquet(path, [["a row"]]);

        var e = Assert.Throws<InvalidDataException>(() => CorpusReader.Read([path], "id").ToList());
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("column 'id' holds Int32, expected a string column", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_NotParquet_NamesTheFile()
    {
        var path = _dir.File("fake.parquet");
        File.WriteAllText(path, "this is not parquet at all");

        var e = Assert.Throws<InvalidDataException>(() => CorpusReader.Read([path]).ToList());
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MissingPath_ThrowsBeforeEnumerating()
    {
        Write("ok.txt", "fine");
        var missing = _dir.File("nope.txt");

        var e = Assert.Throws<FileNotFoundException>(() => CorpusReader.Read([_dir.File("ok.txt"), missing]));
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => CorpusReader.Read([]));
    }

    [Fact]
    public void Read_DirectoryWithoutText_Throws()
    {
        Directory.CreateDirectory(_dir.File("empty"));
        File.WriteAllBytes(_dir.File("empty/x.bin"), [0, 0, 7]);

        var e = Assert.Throws<InvalidDataException>(() => CorpusReader.Read([_dir.File("empty")]));
        Assert.Contains("no text or .parquet files", e.Message, StringComparison.Ordinal);
    }

    private void Write(string relative, string text)
    {
        var path = _dir.File(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private static string Words(Random rng, int count) =>
        string.Join(' ', Enumerable.Range(0, count).Select(_ => new string((char)('a' + rng.Next(26)), rng.Next(1, 9))));

    /// <summary>A parquet file with a nullable string column and an int32 "id" column, one row group per array.</summary>
    private static async Task WriteParquet(string path, string?[][] rowGroups, string textColumn = "text")
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var text = new DataField<string>(textColumn, nullable: true);
        var id = new DataField<int>("id");
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(text, id), stream);
        var next = 17;
        foreach (var rows in rowGroups)
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(text, rows!);
            await group.WriteAsync<int>(id, Enumerable.Range(next, rows.Length).ToArray().AsMemory());
            next += rows.Length;
        }
    }
}
