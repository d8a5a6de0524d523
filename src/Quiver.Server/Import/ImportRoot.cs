using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Quiver.Server.Import;

/// <summary>Why a file under the import root cannot be read; the message names the file (relative to the root) and the
/// problem, never anything the file holds.</summary>
public sealed class ImportPathException(string message) : Exception(message);

/// <summary>The identity of an opened file (device and inode): the same identity means the very same file, whatever
/// path led to it.</summary>
/// <param name="Device">The file system's device number (major in the high 32 bits).</param>
/// <param name="Inode">The inode number on that device.</param>
public readonly record struct FileIdentity(ulong Device, ulong Inode);

/// <summary>
/// The folder bulk import reads from, and the only way import reads a file. A path is checked lexically when a job is
/// submitted (no NUL, no escape by <c>..</c>, not absolute outside the root), and every open walks it from the root one
/// component at a time with <c>openat(..., O_NOFOLLOW)</c>: a symbolic link anywhere below the root, swapped in at any
/// moment before the open, makes the open fail instead of being followed. What was opened is then checked through the
/// handle (<c>statx</c> on the descriptor, not on the path): a regular file with exactly one link (a hard link to a file
/// outside the root is indistinguishable from a file inside it, so files with more than one name are refused). Readers
/// get that handle, so the file checked is the file read. The root itself may be a link (the operator chose it).
/// Linux only: elsewhere every open is refused with a message saying so. Thread-safe (no state beyond the root).
/// </summary>
public sealed partial class ImportRoot
{
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const int ORdOnly = 0;
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;
    private const uint StatxType = 0x1;
    private const uint StatxNlink = 0x4;
    private const uint StatxIno = 0x100;
    private const int StatxBytes = 256;
    private const int SFmt = 0xF000;
    private const int SIfReg = 0x8000;
    private const int SIfDir = 0x4000;
    private const int ENoEnt = 2;
    private const int EAccess = 13;
    private const int ENotDir = 20;
    private const int ELoop = 40;

    /// <summary>Starts at <paramref name="root"/> (made absolute; it need not exist yet).</summary>
    public ImportRoot(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Path = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(root));
    }

    /// <summary>The root folder, absolute.</summary>
    public string Path { get; }

    /// <summary>The path of <paramref name="file"/> (relative to the root, or absolute inside it) relative to the root,
    /// normalised; throws <see cref="ImportPathException"/> when it is empty, holds a character no path may hold (NUL),
    /// or leads outside the root. Lexical only: <see cref="Open"/> does the checks that touch the file system.</summary>
    public string Relative(string file)
    {
        if (string.IsNullOrWhiteSpace(file))
        {
            throw new ImportPathException("import: an empty file path");
        }

        var bad = file.IndexOfAny(System.IO.Path.GetInvalidPathChars());
        if (bad >= 0)
        {
            throw new ImportPathException(string.Create(CultureInfo.InvariantCulture,
                $"import: a file path holds the character U+{(int)file[bad]:X4} at position {bad}; a path may not hold NUL or other invalid characters"));
        }

        var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(Path, file));
        var relative = System.IO.Path.GetRelativePath(Path, full);
        if (relative == "." || relative == ".." || relative.StartsWith(".." + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal)
            || System.IO.Path.IsPathRooted(relative))
        {
            throw new ImportPathException($"import: file '{file}' is outside the server's import root '{Path}'");
        }

        return relative;
    }

    /// <summary>Opens <paramref name="file"/> for reading without following any link below the root, checks that what
    /// was opened is a regular file with one link, and returns it with its identity. Throws
    /// <see cref="ImportPathException"/> naming the file and the problem. The caller owns the stream.</summary>
    public FileStream Open(string file, out FileIdentity identity)
    {
        var relative = Relative(file);
        if (!OperatingSystem.IsLinux())
        {
            throw new ImportPathException("import: reading files confined to the import root is implemented for Linux only");
        }

        var (noFollow, directory) = Flags();
        var parts = relative.Split(System.IO.Path.DirectorySeparatorChar);
        var fd = OpenAt(AtFdCwd, Bytes(Path), ORdOnly | OCloExec | directory, 0);
        if (fd < 0)
        {
            throw new ImportPathException($"import: the server's import root '{Path}' cannot be opened ({Describe(Marshal.GetLastPInvokeError())})");
        }

        for (var i = 0; i < parts.Length; i++)
        {
            var last = i == parts.Length - 1;
            var next = OpenAt(fd, Bytes(parts[i]), ORdOnly | OCloExec | noFollow | (last ? ONonBlock : directory), 0);
            var error = Marshal.GetLastPInvokeError();
            _ = Close(fd);
            fd = next;
            if (fd < 0)
            {
                var at = string.Join('/', parts.Take(i + 1));
                var link = error == ELoop || (error == ENotDir && new FileInfo(System.IO.Path.Combine(Path, at)).LinkTarget is not null);
                throw new ImportPathException(error switch
                {
                    _ when link => $"import: '{relative}' goes through a symbolic link ('{at}'); links are not followed out of the import root",
                    ENoEnt => $"import: file '{relative}' does not exist under the import root '{Path}'",
                    ENotDir => $"import: '{relative}': '{at}' is not a folder",
                    EAccess => $"import: '{relative}' cannot be read by the server (permission denied at '{at}')",
                    _ => $"import: '{relative}' cannot be opened ({Describe(error)} at '{at}')",
                });
            }
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            identity = Check(handle, relative);
            return new FileStream(handle, FileAccess.Read, 1 << 16);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Checks the opened file through its descriptor: a regular file with one link.</summary>
    private static FileIdentity Check(SafeFileHandle handle, string relative)
    {
        var stat = new byte[StatxBytes];
        if (StatX((int)handle.DangerousGetHandle(), [0], AtEmptyPath, StatxType | StatxNlink | StatxIno, stat) != 0)
        {
            throw new ImportPathException($"import: '{relative}' cannot be examined ({Describe(Marshal.GetLastPInvokeError())})");
        }

        // struct statx: stx_nlink at 16 (u32), stx_mode at 28 (u16), stx_ino at 32 (u64), stx_dev_major/minor at 136/140.
        var links = BitConverter.ToUInt32(stat, 16);
        var mode = BitConverter.ToUInt16(stat, 28);
        var inode = BitConverter.ToUInt64(stat, 32);
        var device = ((ulong)BitConverter.ToUInt32(stat, 136) << 32) | BitConverter.ToUInt32(stat, 140);
        if ((mode & SFmt) != SIfReg)
        {
            throw new ImportPathException((mode & SFmt) == SIfDir
                ? $"import: '{relative}' is a folder, not a file"
                : $"import: '{relative}' is not a regular file");
        }

        if (links != 1)
        {
            throw new ImportPathException(string.Create(CultureInfo.InvariantCulture,
                $"import: '{relative}' has {links} hard links; a file with more than one name may be a file from outside the import root, so it is not read (copy it into the root instead)"));
        }

        return new FileIdentity(device, inode);
    }

    /// <summary>O_NOFOLLOW and O_DIRECTORY, whose values differ between Linux architectures.</summary>
    private static (int NoFollow, int Directory) Flags() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 or Architecture.RiscV64 or Architecture.LoongArch64 => (0x20000, 0x10000),
        Architecture.Arm64 or Architecture.Arm or Architecture.Ppc64le => (0x8000, 0x4000),
        var other => throw new ImportPathException($"import: reading files confined to the import root is not implemented on {other}"),
    };

    private static byte[] Bytes(string path)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }

    private static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static partial int OpenAt(int directory, byte[] path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static partial int StatX(int directory, byte[] path, int flags, uint mask, byte[] buffer);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
