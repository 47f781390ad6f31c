// AtomicText.cs: write a small text file as a temporary beside it, flushed to disk, then renamed over the target, so a
// reader sees the old file or the new one. Not here: the safetensors files (SafeTensorsWriter is atomic itself).
// Tested by RunStateTests.
using System.Text;

namespace SharpSeek.Training.Runs;

internal static class AtomicText
{
    public static void Write(string path, string text)
    {
        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(Encoding.UTF8.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
