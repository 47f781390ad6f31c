// CheckpointCommit.cs: how a checkpoint replaces the one in a model directory all or nothing, and where readers find the
// newest complete one. The writer stages the files complete in <dir>/.checkpoint-next/, then writes an empty COMPLETE
// marker there (the commit point), then renames the files into <dir> in a given order. Until the renames are done the
// newest complete checkpoint is split: a file still in a committed staging folder is newer than the one in <dir>.
// Resolve gives every reader (CheckpointDirectory, so generate, serve, chat, forward and --resume) the same answer
// without changing the directory; Recover finishes or discards the staging folder for the writer. Not here: which files
// a checkpoint has (RunCheckpoint), their formats. Tested by CheckpointDirectoryTests.
namespace SharpSeek.Model.Checkpoint;

/// <summary>The staging, commit and roll-forward of a checkpoint written into a model directory.</summary>
public static class CheckpointCommit
{
    public const string StagingFolder = ".checkpoint-next";
    public const string Marker = "COMPLETE";

    /// <summary>The staging folder of <paramref name="dir"/> when it holds a committed checkpoint (its marker written) not
    /// yet fully moved into place; null when there is none or it was never committed (then it does not count).</summary>
    public static string? Committed(string dir)
    {
        var next = Path.Combine(dir, StagingFolder);
        return File.Exists(Path.Combine(next, Marker)) ? next : null;
    }

    /// <summary>Where the newest complete checkpoint of <paramref name="dir"/> keeps <paramref name="fileName"/>: the
    /// committed staging folder while the file is still there, otherwise <paramref name="dir"/> itself.</summary>
    public static string Resolve(string dir, string fileName) => Path.Combine(Folder(dir, fileName), fileName);

    /// <summary>The folder that holds the newest complete copy of files written together (a single weights file or an
    /// index and its shards): the committed staging folder while it still has any of <paramref name="fileNames"/>, else
    /// <paramref name="dir"/>.</summary>
    public static string Folder(string dir, params string[] fileNames)
    {
        ArgumentNullException.ThrowIfNull(fileNames);
        return Committed(dir) is { } next && fileNames.Any(f => File.Exists(Path.Combine(next, f))) ? next : dir;
    }

    /// <summary>An empty staging folder in <paramref name="dir"/> (a leftover one is discarded) to write a checkpoint into.</summary>
    public static string Begin(string dir)
    {
        var next = Path.Combine(dir, StagingFolder);
        if (Directory.Exists(next)) { Directory.Delete(next, recursive: true); }
        Directory.CreateDirectory(next);
        return next;
    }

    /// <summary>Commits the staged checkpoint (writes the marker), then moves its <paramref name="files"/> into place.</summary>
    public static void Commit(string dir, IReadOnlyList<string> files)
    {
        AtomicFile.WriteAllText(Path.Combine(dir, StagingFolder, Marker), "");
        Recover(dir, files);
    }

    /// <summary>Finishes a committed checkpoint left half-renamed by a crash (moving <paramref name="files"/> in this order,
    /// the ones already moved skipped), or discards an uncommitted staging folder.</summary>
    public static void Recover(string dir, IReadOnlyList<string> files)
    {
        var next = Path.Combine(dir, StagingFolder);
        if (!Directory.Exists(next)) { return; }
        if (Committed(dir) is not null)
        {
            foreach (var file in files)
            {
                var source = Path.Combine(next, file);
                if (File.Exists(source)) { File.Move(source, Path.Combine(dir, file), overwrite: true); }
            }
        }
        Directory.Delete(next, recursive: true);
    }
}
