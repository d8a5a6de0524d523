namespace Quiver.Storage;

/// <summary>Creating folders so that they survive a power loss. A new folder is an entry in its parent, and like a new
/// file it is durable only once the parent is fsynced; a data folder, a collection folder or a WAL folder whose entry is
/// lost takes every file in it along, synced or not.</summary>
internal static class DurableFolders
{
    /// <summary>Creates <paramref name="path"/> and any missing parents, then fsyncs the parent of each folder it created,
    /// outermost first. Does nothing (and syncs nothing) when the folder exists.</summary>
    public static void Create(IFileSystem fs, string path)
    {
        ArgumentNullException.ThrowIfNull(fs);
        path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var missing = new Stack<string>();
        for (string? p = path; !string.IsNullOrEmpty(p) && !fs.DirectoryExists(p); p = Path.GetDirectoryName(p))
        {
            missing.Push(p);
        }

        if (missing.Count == 0)
        {
            return;
        }

        fs.CreateDirectory(path);
        foreach (var created in missing)
        {
            if (Path.GetDirectoryName(created) is { Length: > 0 } parent)
            {
                fs.SyncDirectory(parent);
            }
        }
    }
}
