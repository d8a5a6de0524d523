using Quiver.Storage;

namespace Quiver.Testing;

/// <summary>A file system that passes everything to the real one (or another <c>IFileSystem</c>) until told to fail:
/// writes past a byte budget (a full disk: the bytes that fit are written, then <see cref="IOException"/> "No space left
/// on device" with the ENOSPC HResult), the next file sync, renames, truncations, or folder syncs. Faults stay armed until
/// <see cref="Reset"/> (except the one-shot sync ones). Thread-safe. Use it as an <c>IFileSystem</c>.</summary>
public sealed class FaultInjectingFileSystem : IFileSystem
{
    /// <summary>The HResult the runtime gives an ENOSPC <see cref="IOException"/> (errno on Unix, ERROR_DISK_FULL on Windows).</summary>
    public static readonly int DiskFullHResult = OperatingSystem.IsWindows() ? unchecked((int)0x80070070) : 28;

    private readonly IFileSystem _inner;
    private readonly object _lock = new();
    private long _writeBudget = long.MaxValue;
    private int _failSyncs;
    private int _failDirectorySyncs;
    private bool _failRenames;
    private bool _failTruncates;
    private long _bytesWritten;
    private int _syncCount;

    /// <summary>Wraps the real file system.</summary>
    public FaultInjectingFileSystem()
        : this(PhysicalFileSystem.Instance)
    {
    }

    internal FaultInjectingFileSystem(IFileSystem inner) => _inner = inner;

    /// <summary>Bytes written through this file system so far (the ones that reached the inner one).</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>Successful file syncs so far.</summary>
    public int SyncCount => Volatile.Read(ref _syncCount);

    /// <summary>Lets <paramref name="bytes"/> more bytes be written (across all files), then fails every write like a full
    /// disk, writing the part that fits first.</summary>
    public void FailWritesAfter(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (_lock)
        {
            _writeBudget = bytes;
        }
    }

    /// <summary>Makes the next <paramref name="count"/> file syncs (fsync) throw an <see cref="IOException"/> (EIO).</summary>
    public void FailNextSync(int count = 1)
    {
        lock (_lock)
        {
            _failSyncs = count;
        }
    }

    /// <summary>Makes the next <paramref name="count"/> folder syncs throw an <see cref="IOException"/> (EIO).</summary>
    public void FailNextDirectorySync(int count = 1)
    {
        lock (_lock)
        {
            _failDirectorySyncs = count;
        }
    }

    /// <summary>While true, every rename throws an <see cref="IOException"/>.</summary>
    public bool FailRenames
    {
        get
        {
            lock (_lock)
            {
                return _failRenames;
            }
        }

        set
        {
            lock (_lock)
            {
                _failRenames = value;
            }
        }
    }

    /// <summary>While true, every <c>WritableFile.Truncate</c> throws an <see cref="IOException"/> (so that a failed write
    /// cannot be undone).</summary>
    public bool FailTruncates
    {
        get
        {
            lock (_lock)
            {
                return _failTruncates;
            }
        }

        set
        {
            lock (_lock)
            {
                _failTruncates = value;
            }
        }
    }

    /// <summary>Disarms every fault.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _writeBudget = long.MaxValue;
            _failSyncs = 0;
            _failDirectorySyncs = 0;
            _failRenames = false;
            _failTruncates = false;
        }
    }

    bool IFileSystem.FileExists(string path) => _inner.FileExists(path);

    bool IFileSystem.DirectoryExists(string path) => _inner.DirectoryExists(path);

    void IFileSystem.CreateDirectory(string path) => _inner.CreateDirectory(path);

    IReadOnlyList<string> IFileSystem.ListFiles(string directory, string pattern) => _inner.ListFiles(directory, pattern);

    IReadOnlyList<string> IFileSystem.ListDirectories(string directory) => _inner.ListDirectories(directory);

    long IFileSystem.GetLength(string path) => _inner.GetLength(path);

    Stream IFileSystem.OpenRead(string path) => _inner.OpenRead(path);

    WritableFile IFileSystem.Create(string path) => new FaultyFile(this, _inner.Create(path), path);

    WritableFile IFileSystem.OpenAppend(string path) => new FaultyFile(this, _inner.OpenAppend(path), path);

    /// <summary>When set, a rename whose destination it accepts throws an <see cref="IOException"/> (e.g. one index file).</summary>
    public Func<string, bool>? FailRenameTo { get; set; }

    /// <summary>When set, called with the destination before each rename (a test's hook into a step in flight: the
    /// rename of a new segment file comes after its rows were copied and before it is swapped in).</summary>
    public Action<string>? BeforeRename { get; set; }

    void IFileSystem.Rename(string source, string destination)
    {
        BeforeRename?.Invoke(destination);
        if (FailRenames || FailRenameTo?.Invoke(destination) == true)
        {
            throw new IOException($"Injected fault: rename '{source}' -> '{destination}' failed");
        }

        _inner.Rename(source, destination);
    }

    /// <summary>When set, deleting a file it accepts throws an <see cref="IOException"/> (e.g. old WAL files).</summary>
    public Func<string, bool>? FailDeleteOf { get; set; }

    void IFileSystem.Delete(string path)
    {
        if (FailDeleteOf?.Invoke(path) == true)
        {
            throw new IOException($"Injected fault: delete of '{path}' failed: Input/output error", 5);
        }

        _inner.Delete(path);
    }

    void IFileSystem.DeleteDirectory(string path) => _inner.DeleteDirectory(path);

    void IFileSystem.SyncDirectory(string path)
    {
        lock (_lock)
        {
            if (_failDirectorySyncs > 0)
            {
                _failDirectorySyncs--;
                throw new IOException($"Injected fault: fsync of folder '{path}' failed: Input/output error", 5);
            }
        }

        _inner.SyncDirectory(path);
    }

    MappedFile IFileSystem.MapReadOnly(string path) => _inner.MapReadOnly(path);

    IDisposable IFileSystem.LockExclusive(string path) => _inner.LockExclusive(path);

    /// <summary>How many of <paramref name="count"/> bytes may be written now; takes them from the budget.</summary>
    private int Reserve(int count)
    {
        lock (_lock)
        {
            int allowed = (int)Math.Min(count, _writeBudget);
            if (_writeBudget != long.MaxValue)
            {
                _writeBudget -= allowed;
            }

            return allowed;
        }
    }

    private bool TakeSyncFault()
    {
        lock (_lock)
        {
            if (_failSyncs > 0)
            {
                _failSyncs--;
                return true;
            }

            return false;
        }
    }

    private sealed class FaultyFile(FaultInjectingFileSystem owner, WritableFile inner, string path) : WritableFile
    {
        public override long Length => inner.Length;

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            int allowed = owner.Reserve(buffer.Length);
            if (allowed > 0)
            {
                inner.Write(buffer[..allowed]);
                Interlocked.Add(ref owner._bytesWritten, allowed);
            }

            if (allowed < buffer.Length)
            {
                // Like the kernel: what fits is written (and stays, until someone truncates it), the rest fails.
                inner.Flush();
                throw new IOException($"No space left on device : '{path}'", DiskFullHResult);
            }
        }

        public override void Flush() => inner.Flush();

        public override void Sync()
        {
            if (owner.TakeSyncFault())
            {
                inner.Flush();
                throw new IOException($"Injected fault: fsync of '{path}' failed: Input/output error", 5);
            }

            inner.Sync();
            Interlocked.Increment(ref owner._syncCount);
        }

        public override void Truncate(long length)
        {
            if (owner.FailTruncates)
            {
                throw new IOException($"Injected fault: truncate of '{path}' to {length} bytes failed: Input/output error", 5);
            }

            inner.Truncate(length);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
