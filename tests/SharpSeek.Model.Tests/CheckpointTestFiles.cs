// CheckpointTestFiles.cs: helpers for the checkpoint suites: a temporary directory, seeded nonzero random values, and
// hand-built safetensors bytes for the corruption tests. Not here: tests.
using System.Text;

namespace SharpSeek.Model.Tests;

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sharpseek-ckpt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

internal static class CheckpointTestFiles
{
    /// <summary>Values in ±[0.05, 2) with random signs: never zero, spread over several binades.</summary>
    public static float[] Random(Random rng, long count)
    {
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            var v = 0.05f + (1.95f * rng.NextSingle());
            values[i] = rng.Next(2) == 0 ? v : -v;
        }
        return values;
    }

    /// <summary>A safetensors file from a literal header: u64 length (or <paramref name="headerLength"/>), the header
    /// bytes, then <paramref name="dataBytes"/> bytes of nonzero data.</summary>
    public static byte[] Raw(string header, int dataBytes, ulong? headerLength = null) => Raw(Encoding.UTF8.GetBytes(header), dataBytes, headerLength);

    public static byte[] Raw(byte[] header, int dataBytes, ulong? headerLength = null)
    {
        var file = new byte[8 + header.Length + dataBytes];
        BitConverter.GetBytes(headerLength ?? (ulong)header.Length).CopyTo(file, 0);
        header.CopyTo(file, 8);
        for (var i = 0; i < dataBytes; i++) { file[8 + header.Length + i] = (byte)(1 + (i % 251)); }
        return file;
    }
}
