namespace Quiver.Storage;

/// <summary>The file-system seam. Every byte the engine reads or writes goes through it, so that tests can inject faults
/// (a full disk, a failed fsync, a torn write) and a cluster host can put files elsewhere. Paths are absolute.
/// Implementations are thread-safe; the files they return are not.</summary>
internal interface IFileSystem
{
    bool FileExists(string path);

    bool DirectoryExists(string path);

    /// <summary>Creates the folder and its parents if missing.</summary>
    void CreateDirectory(string path);

    /// <summary>Full paths of the files directly in <paramref name="directory"/> whose names match a simple
    /// <c>*</c> pattern, in ordinal order of their names. Empty if the folder does not exist.</summary>
    IReadOnlyList<string> ListFiles(string directory, string pattern = "*");

    /// <summary>Full paths of the sub-folders directly in <paramref name="directory"/>, in ordinal order.</summary>
    IReadOnlyList<string> ListDirectories(string directory);

    long GetLength(string path);

    /// <summary>Opens an existing file for sequential reading.</summary>
    Stream OpenRead(string path);

    /// <summary>Creates (or truncates) a file for writing.</summary>
    WritableFile Create(string path);

    /// <summary>Opens an existing file, positioned at its end, for appending.</summary>
    WritableFile OpenAppend(string path);

    /// <summary>Atomically renames <paramref name="source"/> to <paramref name="destination"/>, replacing it. Not durable
    /// until the containing folder is synced (<see cref="SyncDirectory"/>).</summary>
    void Rename(string source, string destination);

    /// <summary>Deletes a file; no error if it does not exist.</summary>
    void Delete(string path);

    /// <summary>Deletes a folder and everything in it; no error if it does not exist.</summary>
    void DeleteDirectory(string path);

    /// <summary>Makes the folder's entries (creates, renames, deletes) durable (fsync on the folder).</summary>
    void SyncDirectory(string path);

    /// <summary>Maps a whole file read-only into memory.</summary>
    MappedFile MapReadOnly(string path);

    /// <summary>Takes an exclusive, process-wide lock on <paramref name="path"/> (created if missing), held until the
    /// returned object is disposed or the process dies. Throws <see cref="QuiverException"/> with
    /// <see cref="QuiverErrorCode.Locked"/> if another process holds it.</summary>
    IDisposable LockExclusive(string path);
}

/// <summary>A file open for writing. <see cref="Stream.Flush()"/> hands bytes to the OS; <see cref="Sync"/> makes them durable.</summary>
internal abstract class WritableFile : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Position
    {
        get => Length;
        set => throw new NotSupportedException();
    }

    /// <summary>Flushes and fsyncs the file's data (fdatasync where available).</summary>
    public abstract void Sync();

    /// <summary>Cuts the file to <paramref name="length"/> bytes and continues writing there.</summary>
    public abstract void Truncate(long length);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => Truncate(value);
}

/// <summary>A read-only memory mapping of a whole file. The pointer stays valid until dispose; the caller keeps it alive
/// while any span over it is in use.</summary>
internal abstract unsafe class MappedFile : IDisposable
{
    public abstract long Length { get; }

    public abstract byte* Pointer { get; }

    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"range {offset}+{length} is past the end of a {Length}-byte mapping");
        }

        return new ReadOnlySpan<byte>(Pointer + offset, length);
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}
