using System.Runtime.InteropServices;
using Quiver.Storage;

namespace Quiver.Testing;

/// <summary>An in-memory file system that models what survives a power loss. Each file has its durable content (as of
/// its last <c>Sync</c>) and the writes and truncations since; each folder has its durable entries (as of its last
/// <see cref="IFileSystem.SyncDirectory"/>) and the creates, renames and deletes since. <see cref="CrashAfter"/> arms a
/// power failure after the Nth mutating operation: that operation and every later call throw
/// <see cref="PowerLostException"/>. <see cref="Survive"/> then builds the file system a reboot finds, chosen by a seed:
/// per file, the durable content plus a prefix of its unsynced writes (none, all, or some, the last one possibly torn
/// mid-write and, past the torn point, zero-filled up to its 4 KiB page as when the size reached the disk before the
/// data); per folder, the durable entries plus a prefix of its unsynced entry changes (each change, a rename included,
/// is atomic, as a journaling file system makes it). Thread-safe (one lock).</summary>
/// <remarks>Memory maps are copies of the content at map time; the engine maps only files it has written and synced,
/// which <see cref="MapsOfUnsyncedFiles"/> checks. Locks live in the instance, so a survivor starts with none.</remarks>
public sealed class PowerLossFileSystem : IFileSystem
{
    /// <summary>The page size a torn write is zero-filled to.</summary>
    public const int PageSize = 4096;

    private readonly object _gate = new();
    private readonly DirNode _root = new();
    private readonly HashSet<string> _locks = new(StringComparer.Ordinal);
    private long _operations;
    private long _crashAfter = long.MaxValue;
    private bool _crashed;
    private int _mapsOfUnsynced;

    /// <summary>An empty file system holding only <paramref name="rootFolder"/> (absolute), durably.</summary>
    public PowerLossFileSystem(string rootFolder)
    {
        var dir = _root;
        foreach (var part in Split(rootFolder))
        {
            var child = new DirNode();
            dir.Entries[part] = child;
            dir.Durable[part] = child;
            dir = child;
        }
    }

    private PowerLossFileSystem(DirNode root) => _root = root;

    /// <summary>Mutating operations so far (writes, syncs, truncations, creates, renames, deletes, folder creates and
    /// syncs), counting the one that hit the power failure.</summary>
    public long Operations
    {
        get
        {
            lock (_gate)
            {
                return _operations;
            }
        }
    }

    /// <summary>True once the power failed.</summary>
    public bool HasCrashed
    {
        get
        {
            lock (_gate)
            {
                return _crashed;
            }
        }
    }

    /// <summary>Times a file was memory-mapped while it held writes not yet synced (the engine promises none).</summary>
    public int MapsOfUnsyncedFiles => Volatile.Read(ref _mapsOfUnsynced);

    /// <summary>Lets <paramref name="operations"/> more mutating operations succeed (counted from the start), then fails
    /// the power.</summary>
    public void CrashAfter(long operations)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(operations);
        lock (_gate)
        {
            _crashAfter = operations;
        }
    }

    /// <summary>What a reboot finds, chosen by <paramref name="seed"/>: a new file system whose content is all durable.
    /// Valid before or after the crash (before it, it is a power loss at this moment).</summary>
    public PowerLossFileSystem Survive(int seed)
    {
        lock (_gate)
        {
            var rng = new Random(seed);
            var files = new Dictionary<FileNode, FileNode>(ReferenceEqualityComparer.Instance);
            return new PowerLossFileSystem(SurviveDir(_root, rng, files));
        }
    }

    /// <summary>The harshest reboot: only what was synced survives (no unsynced write, no unsynced folder entry).</summary>
    public PowerLossFileSystem SurviveSyncedOnly()
    {
        lock (_gate)
        {
            var files = new Dictionary<FileNode, FileNode>(ReferenceEqualityComparer.Instance);
            return new PowerLossFileSystem(SurviveDir(_root, null, files));
        }
    }

    /// <summary>Every file under <paramref name="folder"/> (recursively) with its current length, for failure reports.</summary>
    public IReadOnlyList<string> Describe(string folder)
    {
        lock (_gate)
        {
            var lines = new List<string>();
            if (Find(folder) is DirNode dir)
            {
                DescribeDir(dir, folder, lines);
            }

            return lines;
        }
    }

    bool IFileSystem.FileExists(string path)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            return Find(path) is FileNode;
        }
    }

    bool IFileSystem.DirectoryExists(string path)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            return Find(path) is DirNode;
        }
    }

    void IFileSystem.CreateDirectory(string path)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            var dir = _root;
            foreach (var part in Split(path))
            {
                switch (dir.Entries.GetValueOrDefault(part))
                {
                    case DirNode child:
                        dir = child;
                        break;
                    case FileNode:
                        throw new IOException($"'{path}': '{part}' is a file");
                    default:
                        Mutate();
                        var created = new DirNode();
                        dir.Change(part, created);
                        dir = created;
                        break;
                }
            }
        }
    }

    IReadOnlyList<string> IFileSystem.ListFiles(string directory, string pattern) => ListEntries<FileNode>(directory, pattern);

    IReadOnlyList<string> IFileSystem.ListDirectories(string directory) => ListEntries<DirNode>(directory, "*");

    long IFileSystem.GetLength(string path)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            return RequireFile(path).Current.Count;
        }
    }

    Stream IFileSystem.OpenRead(string path)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            return new MemoryStream(RequireFile(path).Current.ToArray(), writable: false);
        }
    }

    WritableFile IFileSystem.Create(string path)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            var (dir, name) = Parent(path);
            Mutate();
            if (dir.Entries.GetValueOrDefault(name) is FileNode existing)
            {
                existing.Truncate(0);
                return new File(this, existing, path);
            }

            if (dir.Entries.ContainsKey(name))
            {
                throw new UnauthorizedAccessException($"'{path}' is a folder");
            }

            var file = new FileNode();
            dir.Change(name, file);
            return new File(this, file, path);
        }
    }

    WritableFile IFileSystem.OpenAppend(string path)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            return new File(this, RequireFile(path), path);
        }
    }

    void IFileSystem.Rename(string source, string destination)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            var (from, fromName) = Parent(source);
            var (to, toName) = Parent(destination);
            if (from.Entries.GetValueOrDefault(fromName) is not FileNode node)
            {
                throw new FileNotFoundException($"Could not find file '{source}'.", source);
            }

            if (to.Entries.GetValueOrDefault(toName) is DirNode)
            {
                throw new IOException($"'{destination}' is a folder");
            }

            Mutate();
            if (ReferenceEquals(from, to))
            {
                // One journal transaction: after a crash the rename happened or it did not.
                from.Change(fromName, null, toName, node);
            }
            else
            {
                to.Change(toName, node);
                from.Change(fromName, null);
            }
        }
    }

    void IFileSystem.Delete(string path)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            var (dir, name) = Parent(path);
            switch (dir.Entries.GetValueOrDefault(name))
            {
                case FileNode:
                    Mutate();
                    dir.Change(name, null);
                    break;
                case DirNode:
                    throw new UnauthorizedAccessException($"'{path}' is a folder");
            }
        }
    }

    void IFileSystem.DeleteDirectory(string path)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            if (Find(path) is not DirNode target)
            {
                return;
            }

            // Like rm -r: children first, each its own entry change, so a crash can leave any part of the tree.
            DeleteChildren(target);
            var (parent, name) = Parent(path);
            Mutate();
            parent.Change(name, null);
        }
    }

    void IFileSystem.SyncDirectory(string path)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            if (Find(path) is not DirNode dir)
            {
                throw new DirectoryNotFoundException($"open('{path}') for fsync failed: No such file or directory");
            }

            Mutate();
            dir.Sync();
        }
    }

    MappedFile IFileSystem.MapReadOnly(string path)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            var file = RequireFile(path);
            if (file.Pending.Count > 0)
            {
                Interlocked.Increment(ref _mapsOfUnsynced);
            }

            return new Mapping(CollectionsMarshal.AsSpan(file.Current));
        }
    }

    IDisposable IFileSystem.LockExclusive(string path)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            if (Find(path) is null)
            {
                var (dir, name) = Parent(path);
                Mutate();
                dir.Change(name, new FileNode());
            }

            if (!_locks.Add(path))
            {
                throw new QuiverException(QuiverErrorCode.Locked, $"'{Path.GetDirectoryName(path)}' is in use (lock file '{path}')");
            }

            return new Lock(this, path);
        }
    }

    private static string[] Split(string path) =>
        Path.GetFullPath(path).Split('/', StringSplitOptions.RemoveEmptyEntries);

    private static bool Matches(string name, string pattern)
    {
        // The '*' patterns IFileSystem.ListFiles takes ("*", "*.wal"): '*' is any run, '?' any one character.
        int n = 0, p = 0, star = -1, mark = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == name[n]))
            {
                n++;
                p++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = n;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static DirNode SurviveDir(DirNode dir, Random? rng, Dictionary<FileNode, FileNode> files)
    {
        var entries = new Dictionary<string, Node>(dir.Durable, StringComparer.Ordinal);
        foreach (var change in dir.Pending.Take(PrefixLength(rng, dir.Pending.Count)))
        {
            change.ApplyTo(entries);
        }

        var copy = new DirNode();
        foreach (var (name, node) in entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            Node survivor = node switch
            {
                DirNode d => SurviveDir(d, rng, files),
                FileNode f => files.TryGetValue(f, out var known) ? known : files[f] = SurviveFile(f, rng),
                _ => throw new InvalidOperationException("unknown node"),
            };
            copy.Entries[name] = survivor;
            copy.Durable[name] = survivor;
        }

        return copy;
    }

    private static FileNode SurviveFile(FileNode file, Random? rng)
    {
        var content = new List<byte>(file.Durable);
        var keep = PrefixLength(rng, file.Pending.Count);
        for (var i = 0; i < keep; i++)
        {
            file.Pending[i].ApplyTo(content);
        }

        if (rng is not null && keep < file.Pending.Count && file.Pending[keep].Appended is { Length: > 1 } torn && rng.Next(2) == 0)
        {
            // The next write reached the disk in part: a prefix of its bytes, then maybe zeros to the end of its page.
            var start = content.Count;
            var cut = rng.Next(1, torn.Length);
            content.AddRange(torn.AsSpan(0, cut));
            if (rng.Next(2) == 0)
            {
                var pageEnd = Math.Min(start + torn.Length, ((content.Count / PageSize) + 1) * PageSize);
                content.AddRange(new byte[pageEnd - content.Count]);
            }
        }

        var copy = new FileNode();
        copy.Current.AddRange(content);
        copy.Durable = [.. content];
        return copy;
    }

    /// <summary>How many of <paramref name="count"/> unsynced changes survive: none, all, or a uniform choice, a third each
    /// (none without a <paramref name="rng"/>).</summary>
    private static int PrefixLength(Random? rng, int count) => count == 0 || rng is null ? 0 : rng.Next(3) switch
    {
        0 => 0,
        1 => count,
        _ => rng.Next(count + 1),
    };

    private static void DescribeDir(DirNode dir, string path, List<string> lines)
    {
        foreach (var (name, node) in dir.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var full = Path.Combine(path, name);
            if (node is DirNode d)
            {
                lines.Add(full + "/");
                DescribeDir(d, full, lines);
            }
            else if (node is FileNode f)
            {
                lines.Add($"{full} ({f.Current.Count} bytes, {f.Durable.Length} durable)");
            }
        }
    }

    private void DeleteChildren(DirNode dir)
    {
        foreach (var (name, node) in dir.Entries.OrderBy(e => e.Key, StringComparer.Ordinal).ToList())
        {
            if (node is DirNode child)
            {
                DeleteChildren(child);
            }

            Mutate();
            dir.Change(name, null);
        }
    }

    private List<string> ListEntries<T>(string directory, string pattern)
        where T : Node
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            if (Find(directory) is not DirNode dir)
            {
                return [];
            }

            var names = dir.Entries.Where(e => e.Value is T && Matches(e.Key, pattern)).Select(e => e.Key).ToList();
            names.Sort(StringComparer.Ordinal);
            return [.. names.Select(n => Path.Combine(directory, n))];
        }
    }

    private Node? Find(string path)
    {
        Node node = _root;
        foreach (var part in Split(path))
        {
            if (node is not DirNode dir || !dir.Entries.TryGetValue(part, out var next))
            {
                return null;
            }

            node = next;
        }

        return node;
    }

    private FileNode RequireFile(string path) => Find(path) switch
    {
        FileNode f => f,
        DirNode => throw new UnauthorizedAccessException($"Access to the path '{path}' is denied (a folder)."),
        _ => throw new FileNotFoundException($"Could not find file '{path}'.", path),
    };

    private (DirNode Dir, string Name) Parent(string path)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full) ?? throw new IOException($"'{path}' has no parent folder");
        return Find(folder) is DirNode dir
            ? (dir, Path.GetFileName(full))
            : throw new DirectoryNotFoundException($"Could not find a part of the path '{path}'.");
    }

    private void ThrowIfCrashed()
    {
        if (_crashed)
        {
            throw new PowerLostException();
        }
    }

    /// <summary>Counts a mutating operation; the one past the budget fails the power instead of happening.</summary>
    private void Mutate()
    {
        ThrowIfCrashed();
        _operations++;
        if (_operations > _crashAfter)
        {
            _crashed = true;
            throw new PowerLostException();
        }
    }

    private abstract class Node;

    private sealed class DirNode : Node
    {
        public Dictionary<string, Node> Entries { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Node> Durable { get; private set; } = new(StringComparer.Ordinal);

        public List<EntryChange> Pending { get; } = [];

        /// <summary>Sets (or with null removes) one entry, and optionally a second in the same atomic change.</summary>
        public void Change(string name, Node? node, string? name2 = null, Node? node2 = null)
        {
            var change = new EntryChange(name, node, name2, node2);
            change.ApplyTo(Entries);
            Pending.Add(change);
        }

        public void Sync()
        {
            Durable = new Dictionary<string, Node>(Entries, StringComparer.Ordinal);
            Pending.Clear();
        }
    }

    private sealed record EntryChange(string Name, Node? Node, string? Name2, Node? Node2)
    {
        public void ApplyTo(Dictionary<string, Node> entries)
        {
            Set(entries, Name, Node);
            if (Name2 is not null)
            {
                Set(entries, Name2, Node2);
            }
        }

        private static void Set(Dictionary<string, Node> entries, string name, Node? node)
        {
            if (node is null)
            {
                entries.Remove(name);
            }
            else
            {
                entries[name] = node;
            }
        }
    }

    private sealed class FileNode : Node
    {
        public List<byte> Current { get; } = [];

        public byte[] Durable { get; set; } = [];

        public List<DataChange> Pending { get; } = [];

        public void Append(ReadOnlySpan<byte> bytes)
        {
            var change = new DataChange(bytes.ToArray(), -1);
            change.ApplyTo(Current);
            Pending.Add(change);
        }

        public void Truncate(long length)
        {
            var change = new DataChange(null, length);
            change.ApplyTo(Current);
            Pending.Add(change);
        }

        public void Sync()
        {
            Durable = [.. Current];
            Pending.Clear();
        }
    }

    /// <summary>An append (<see cref="Appended"/>) or a truncation to <see cref="Length"/>.</summary>
    private sealed record DataChange(byte[]? Appended, long Length)
    {
        public void ApplyTo(List<byte> content)
        {
            if (Appended is not null)
            {
                content.AddRange(Appended);
            }
            else if (Length < content.Count)
            {
                content.RemoveRange((int)Length, content.Count - (int)Length);
            }
            else
            {
                content.AddRange(new byte[Length - content.Count]);
            }
        }
    }

    private sealed class File(PowerLossFileSystem owner, FileNode node, string path) : WritableFile
    {
        private bool _closed;

        public override long Length
        {
            get
            {
                lock (owner._gate)
                {
                    return node.Current.Count;
                }
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            lock (owner._gate)
            {
                Check();
                owner.Mutate();
                node.Append(buffer);
            }
        }

        public override void Flush()
        {
            lock (owner._gate)
            {
                Check();
            }
        }

        public override void Sync()
        {
            lock (owner._gate)
            {
                Check();
                owner.Mutate();
                node.Sync();
            }
        }

        public override void Truncate(long length)
        {
            lock (owner._gate)
            {
                Check();
                owner.Mutate();
                node.Truncate(length);
            }
        }

        protected override void Dispose(bool disposing)
        {
            _closed = true;
            base.Dispose(disposing);
        }

        private void Check()
        {
            ObjectDisposedException.ThrowIf(_closed, path);
            owner.ThrowIfCrashed();
        }
    }

    private sealed unsafe class Mapping : MappedFile
    {
        private readonly long _length;
        private byte* _pointer;

        public Mapping(ReadOnlySpan<byte> content)
        {
            _length = content.Length;
            if (_length > 0)
            {
                _pointer = (byte*)NativeMemory.Alloc((nuint)_length);
                content.CopyTo(new Span<byte>(_pointer, content.Length));
            }
        }

        ~Mapping() => Dispose(false);

        public override long Length => _length;

        public override byte* Pointer => _pointer != null || _length == 0 ? _pointer : throw new ObjectDisposedException(nameof(MappedFile));

        protected override void Dispose(bool disposing)
        {
            if (_pointer != null)
            {
                NativeMemory.Free(_pointer);
                _pointer = null;
            }
        }
    }

    private sealed class Lock(PowerLossFileSystem owner, string path) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._locks.Remove(path);
            }
        }
    }
}

/// <summary>What every file operation throws once the simulated power failed.</summary>
public sealed class PowerLostException : IOException
{
    /// <summary>The power is off.</summary>
    public PowerLostException()
        : base("Simulated power loss: the machine is off")
    {
    }
}
