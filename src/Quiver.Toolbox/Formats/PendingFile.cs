using System.Globalization;

namespace Quiver.Toolbox.Formats;

/// <summary>
/// A file written under a temporary name in its destination's folder and moved over the destination only on
/// <see cref="Commit"/>, so that readers never see it half-written and a failed run leaves the old file (or none).
/// Disposing without committing deletes the temporary file. Not thread-safe.
/// </summary>
internal sealed class PendingFile : IDisposable
{
    private bool _done;

    /// <summary>Creates the temporary file for <paramref name="path"/> (the folder must exist) and opens it for writing.</summary>
    public PendingFile(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        var folder = System.IO.Path.GetDirectoryName(Path)!;
        if (!Directory.Exists(folder))
        {
            throw new ToolboxException($"cannot write '{path}': folder '{folder}' does not exist");
        }

        TempPath = System.IO.Path.Combine(folder, string.Create(
            CultureInfo.InvariantCulture, $".{System.IO.Path.GetFileName(Path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp"));
        Stream = new FileStream(TempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
    }

    /// <summary>The destination.</summary>
    public string Path { get; }

    /// <summary>Where the content is written until <see cref="Commit"/>.</summary>
    public string TempPath { get; }

    /// <summary>The open temporary file; closed by <see cref="Commit"/> and <see cref="Dispose"/>.</summary>
    public FileStream Stream { get; }

    /// <summary>Flushes the content to disk, closes it and moves it over <see cref="Path"/>.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        Stream.Flush(flushToDisk: true);
        Stream.Dispose();
        File.Move(TempPath, Path, overwrite: true);
        _done = true;
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> atomically (temporary file, fsync, rename).</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content)
    {
        using var file = new PendingFile(path);
        file.Stream.Write(content);
        file.Commit();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_done)
        {
            return;
        }

        _done = true;
        Stream.Dispose();
        try
        {
            File.Delete(TempPath);
        }
        catch (IOException)
        {
            // Best effort: the name starts with '.' and ends with '.tmp', so it is recognisably debris.
        }
    }
}
