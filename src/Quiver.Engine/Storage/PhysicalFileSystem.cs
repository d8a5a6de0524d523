using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Quiver.Storage;

/// <summary>The real file system. Stateless and thread-safe; use <see cref="Instance"/>.</summary>
internal sealed partial class PhysicalFileSystem : IFileSystem
{
    private static readonly EnumerationOptions SimpleMatch = new()
    {
        MatchType = MatchType.Simple,
        RecurseSubdirectories = false,
        IgnoreInaccessible = false,
        AttributesToSkip = 0,
    };

    private PhysicalFileSystem()
    {
    }

    /// <summary>The one instance.</summary>
    public static PhysicalFileSystem Instance { get; } = new();

    public bool FileExists(string path) => File.Exists(path);

    public bool DirectoryExists(string path) => Directory.Exists(path);

    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    public IReadOnlyList<string> ListFiles(string directory, string pattern = "*")
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var files = Directory.GetFiles(directory, pattern, SimpleMatch);
        Array.Sort(files, static (a, b) => string.CompareOrdinal(Path.GetFileName(a), Path.GetFileName(b)));
        return files;
    }

    public IReadOnlyList<string> ListDirectories(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var dirs = Directory.GetDirectories(directory, "*", SimpleMatch);
        Array.Sort(dirs, static (a, b) => string.CompareOrdinal(Path.GetFileName(a), Path.GetFileName(b)));
        return dirs;
    }

    public long GetLength(string path) => new FileInfo(path).Length;

    public Stream OpenRead(string path) =>
        new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 64 * 1024);

    public WritableFile Create(string path) =>
        new PhysicalWritableFile(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0));

    public WritableFile OpenAppend(string path)
    {
        // Not FileMode.Append: it forbids truncating below the original end, which the WAL needs after a failed write.
        var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0);
        stream.Seek(0, SeekOrigin.End);
        return new PhysicalWritableFile(stream);
    }

    public void Rename(string source, string destination) => File.Move(source, destination, overwrite: true);

    public void Delete(string path) => File.Delete(path);

    public void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    public void SyncDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            // NTFS journals directory entries; there is no portable handle to flush.
            return;
        }

        int fd = Native.Open(path, Native.DirectoryOpenFlags);
        if (fd < 0)
        {
            throw Native.Error($"open('{path}') for fsync");
        }

        try
        {
            if (Native.FSync(fd) != 0)
            {
                throw Native.Error($"fsync of folder '{path}'");
            }
        }
        finally
        {
            _ = Native.Close(fd);
        }
    }

    public MappedFile MapReadOnly(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1);
        try
        {
            long length = stream.Length;
            if (length == 0)
            {
                stream.Dispose();
                return EmptyMappedFile.Instance;
            }

            return new PhysicalMappedFile(stream, length);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public IDisposable LockExclusive(string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1);
        }
        catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw LockedError(path, ex);
        }

        // .NET already takes an flock for FileShare.None on Unix unless DOTNET_SYSTEM_IO_DISABLEFILELOCKING is set;
        // take our own so the guarantee does not hang on a runtime switch. Locks on one open file description nest.
        if (!OperatingSystem.IsWindows())
        {
            int fd = (int)stream.SafeFileHandle.DangerousGetHandle();
            if (Native.Flock(fd, Native.LockExclusive | Native.LockNonBlocking) != 0)
            {
                var inner = Native.Error($"flock('{path}')");
                stream.Dispose();
                throw LockedError(path, inner);
            }
        }

        return stream;
    }

    private static QuiverException LockedError(string path, Exception inner) =>
        new(QuiverErrorCode.Locked, $"'{Path.GetDirectoryName(path)}' is in use by another process (lock file '{path}')", inner);

    private sealed class PhysicalWritableFile(FileStream stream) : WritableFile
    {
        public override long Length => stream.Position;

        public override void Write(byte[] buffer, int offset, int count) => stream.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => stream.Write(buffer);

        public override void Flush() => stream.Flush();

        public override void Sync()
        {
            stream.Flush();
            if (OperatingSystem.IsLinux())
            {
                // fdatasync skips the inode timestamps fsync would also write; see docs/format-wal.md for the measurement.
                if (Native.FDataSync(stream.SafeFileHandle) != 0)
                {
                    throw Native.Error("fdatasync");
                }
            }
            else
            {
                stream.Flush(flushToDisk: true);
            }
        }

        public override void Truncate(long length)
        {
            stream.SetLength(length);
            stream.Position = length;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                stream.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private sealed unsafe class PhysicalMappedFile : MappedFile
    {
        private readonly MemoryMappedFile _map;
        private readonly MemoryMappedViewAccessor _view;
        private readonly long _length;
        private byte* _pointer;

        public PhysicalMappedFile(FileStream stream, long length)
        {
            _length = length;
            _map = MemoryMappedFile.CreateFromFile(stream, mapName: null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            try
            {
                _view = _map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
                byte* pointer = null;
                _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
                _pointer = pointer + _view.PointerOffset;
            }
            catch
            {
                _view?.Dispose();
                _map.Dispose();
                throw;
            }
        }

        public override long Length => _length;

        public override byte* Pointer => _pointer != null ? _pointer : throw new ObjectDisposedException(nameof(MappedFile));

        protected override void Dispose(bool disposing)
        {
            if (_pointer != null)
            {
                _pointer = null;
                _view.SafeMemoryMappedViewHandle.ReleasePointer();
            }

            if (disposing)
            {
                _view.Dispose();
                _map.Dispose();
            }
        }
    }

    private sealed unsafe class EmptyMappedFile : MappedFile
    {
        public static readonly EmptyMappedFile Instance = new();

        public override long Length => 0;

        public override byte* Pointer => null;

        protected override void Dispose(bool disposing)
        {
        }
    }

    private static partial class Native
    {
        public const int LockExclusive = 2;
        public const int LockNonBlocking = 4;

        private const int ReadOnly = 0;

        /// <summary>O_RDONLY | O_DIRECTORY | O_CLOEXEC; O_DIRECTORY's value differs between Linux architectures.</summary>
        public static int DirectoryOpenFlags => !OperatingSystem.IsLinux()
            ? ReadOnly
            : ReadOnly | 0x80000 | (RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000);

        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static partial int FSync(int fd);

        [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
        public static partial int FDataSync(SafeFileHandle fd);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        public static partial int Close(int fd);

        [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
        public static partial int Flock(int fd, int operation);

        public static IOException Error(string what)
        {
            int errno = Marshal.GetLastPInvokeError();
            return new IOException($"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
        }
    }
}
