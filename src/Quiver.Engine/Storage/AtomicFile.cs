namespace Quiver.Storage;

/// <summary>Replaces a whole file so that a crash leaves either the old or the new content, never a mix: write
/// <c>path.tmp</c>, fsync it, rename it over <c>path</c>, fsync the folder. Used for manifests.</summary>
internal static class AtomicFile
{
    /// <summary>The suffix of the temporary file; a leftover one after a crash is garbage and may be deleted.</summary>
    public const string TempSuffix = ".tmp";

    /// <summary>Durably replaces <paramref name="path"/> with <paramref name="data"/>.</summary>
    public static void WriteAllBytes(IFileSystem fs, string path, ReadOnlySpan<byte> data)
    {
        string temp = path + TempSuffix;
        try
        {
            using (var file = fs.Create(temp))
            {
                file.Write(data);
                file.Sync();
            }

            Commit(fs, temp, path);
        }
        catch
        {
            TryDelete(fs, temp);
            throw;
        }
    }

    /// <summary>Durably replaces <paramref name="path"/> with what <paramref name="write"/> writes to the stream it is
    /// given. The stream is only valid during the call.</summary>
    public static void Write(IFileSystem fs, string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string temp = path + TempSuffix;
        try
        {
            using (var file = fs.Create(temp))
            {
                write(file);
                file.Sync();
            }

            Commit(fs, temp, path);
        }
        catch
        {
            TryDelete(fs, temp);
            throw;
        }
    }

    private static void Commit(IFileSystem fs, string temp, string path)
    {
        fs.Rename(temp, path);
        string? folder = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(folder))
        {
            fs.SyncDirectory(folder);
        }
    }

    private static void TryDelete(IFileSystem fs, string temp)
    {
        try
        {
            fs.Delete(temp);
        }
        catch (IOException)
        {
            // The original failure is the one to report; a leftover .tmp is harmless.
        }
    }
}
