using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;
using Quiver.Storage;

namespace Quiver.Cluster;

/// <summary>The engine's files in a JetStream object store, behind a local cache folder (docs/cluster.md). The engine
/// maps segment and index files into memory, which an object store cannot do, so every file lives in the cache as an
/// ordinary local file and the object store holds the durable copy: a file's entry becomes durable when its folder is
/// synced (<see cref="SyncDirectory"/>), exactly the point at which a local file system makes a created or renamed file
/// durable, and that is when it is uploaded (whole: the engine writes sealed files once, through write-temp-then-rename).
/// Reads of a file missing from the cache download it first, so a node that starts on an empty cache folder (a shard
/// that moved) sees the files another node wrote. Deletes go to both at once.
/// One writer per <see cref="Prefix"/>: the listing of the store is read at construction and kept current by this
/// instance's own changes. Thread-safe.</summary>
internal sealed class ObjectStoreFileSystem : IFileSystem
{
    private readonly INatsObjStore _store;
    private readonly IFileSystem _local;
    private readonly string _root;
    private readonly TimeSpan _retryTimeout;
    private readonly Lock _gate = new();

    /// <summary>Object name (relative path with '/') to size, for every object under the prefix.</summary>
    private readonly SortedDictionary<string, long> _objects = new(StringComparer.Ordinal);

    /// <summary>Local paths created, written or renamed into since their folder was last synced.</summary>
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);

    private ObjectStoreFileSystem(INatsObjStore store, IFileSystem local, string root, string prefix, TimeSpan retryTimeout)
    {
        _store = store;
        _local = local;
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        Prefix = prefix;
        _retryTimeout = retryTimeout;
    }

    /// <summary>Names of this file system's objects start with this and '/'.</summary>
    public string Prefix { get; }

    /// <summary>True for a replica's view of a shard's files (docs/cluster.md, "Replicas"): it reads the store but never
    /// changes it; what its engine writes or deletes stays in (or leaves) the local cache only.</summary>
    public bool ReadOnly { get; private init; }

    /// <summary>Uploads so far (for tests and status).</summary>
    public int Uploads { get; private set; }

    /// <summary>Downloads into the cache so far.</summary>
    public int Downloads { get; private set; }

    /// <summary>Opens the file system whose local cache is <paramref name="root"/> (the engine's data folder) and whose
    /// objects are named <paramref name="prefix"/>/relative-path in <paramref name="store"/>; reads the store's listing.</summary>
    public static async Task<ObjectStoreFileSystem> OpenAsync(INatsObjStore store, string root, string prefix, IFileSystem? local = null, TimeSpan? retryTimeout = null, CancellationToken ct = default, bool readOnly = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        var fs = new ObjectStoreFileSystem(store, local ?? PhysicalFileSystem.Instance, root, prefix.TrimEnd('/'), retryTimeout ?? TimeSpan.FromSeconds(60)) { ReadOnly = readOnly };
        var listed = await Retry.UntilAsync(fs._retryTimeout, async c =>
        {
            var names = new List<ObjectMetadata>();

            // The client's listing waits forever on a bucket that never held an object (seen with server 2.9), so an
            // empty bucket's stream is checked first.
            var stream = await store.JetStreamContext.GetStreamAsync($"OBJ_{store.Bucket}", cancellationToken: c).ConfigureAwait(false);
            if (stream.Info.State.Messages == 0)
            {
                return names;
            }

            try
            {
                await foreach (var meta in store.ListAsync(new NatsObjListOpts { ShowDeleted = false }, c).ConfigureAwait(false))
                {
                    names.Add(meta);
                }
            }
            catch (NatsObjNotFoundException)
            {
                // An empty store has no listing.
            }

            return names;
        }, ct).ConfigureAwait(false);
        foreach (var meta in listed)
        {
            if (meta.Name.StartsWith(fs.Prefix + "/", StringComparison.Ordinal) && !meta.Deleted)
            {
                fs._objects[meta.Name[(fs.Prefix.Length + 1)..]] = (long)meta.Size;
            }
        }

        return fs;
    }

    /// <inheritdoc/>
    public bool FileExists(string path)
    {
        lock (_gate)
        {
            return _local.FileExists(path) || _objects.ContainsKey(Relative(path));
        }
    }

    /// <inheritdoc/>
    public bool DirectoryExists(string path)
    {
        lock (_gate)
        {
            return _local.DirectoryExists(path) || ObjectsUnder(Relative(path)).Any();
        }
    }

    /// <inheritdoc/>
    public void CreateDirectory(string path) => _local.CreateDirectory(path);

    /// <inheritdoc/>
    public IReadOnlyList<string> ListFiles(string directory, string pattern = "*")
    {
        lock (_gate)
        {
            var names = new SortedSet<string>(_local.ListFiles(directory, pattern).Select(Path.GetFileName)!, StringComparer.Ordinal);
            foreach (var name in ObjectsUnder(Relative(directory)))
            {
                if (!name.Contains('/', StringComparison.Ordinal) && Matches(name, pattern))
                {
                    names.Add(name);
                }
            }

            return [.. names.Select(n => Path.Combine(directory, n))];
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> ListDirectories(string directory)
    {
        lock (_gate)
        {
            var names = new SortedSet<string>(_local.ListDirectories(directory).Select(Path.GetFileName)!, StringComparer.Ordinal);
            foreach (var name in ObjectsUnder(Relative(directory)))
            {
                if (name.IndexOf('/', StringComparison.Ordinal) is > 0 and var slash)
                {
                    names.Add(name[..slash]);
                }
            }

            return [.. names.Select(n => Path.Combine(directory, n))];
        }
    }

    /// <inheritdoc/>
    public long GetLength(string path)
    {
        lock (_gate)
        {
            if (_local.FileExists(path))
            {
                return _local.GetLength(path);
            }

            return _objects.TryGetValue(Relative(path), out var size) ? size : throw new FileNotFoundException($"no file '{path}' in the cache or the object store", path);
        }
    }

    /// <inheritdoc/>
    public Stream OpenRead(string path)
    {
        EnsureCached(path);
        return _local.OpenRead(path);
    }

    /// <inheritdoc/>
    public WritableFile Create(string path)
    {
        lock (_gate)
        {
            _dirty.Add(path);
            return new TrackedFile(this, _local.Create(path), path);
        }
    }

    /// <inheritdoc/>
    public WritableFile OpenAppend(string path)
    {
        EnsureCached(path);
        lock (_gate)
        {
            _dirty.Add(path);
            return new TrackedFile(this, _local.OpenAppend(path), path);
        }
    }

    /// <inheritdoc/>
    public void Rename(string source, string destination)
    {
        EnsureCached(source);
        lock (_gate)
        {
            _local.Rename(source, destination);
            _dirty.Remove(source);
            _dirty.Add(destination);
            DeleteObject(source);
        }
    }

    /// <inheritdoc/>
    public void Delete(string path)
    {
        lock (_gate)
        {
            _local.Delete(path);
            _dirty.Remove(path);
            DeleteObject(path);
        }
    }

    /// <inheritdoc/>
    public void DeleteDirectory(string path)
    {
        lock (_gate)
        {
            _local.DeleteDirectory(path);
            _dirty.RemoveWhere(p => p.StartsWith(path + Path.DirectorySeparatorChar, StringComparison.Ordinal));
            foreach (var name in ObjectsUnder(Relative(path)).ToList())
            {
                DeleteObject(Path.Combine(path, name));
            }

        }
    }

    /// <summary>Syncs the local folder, then uploads every file created, written or renamed into it since its last sync:
    /// afterwards the folder's entries are durable in the object store.</summary>
    public void SyncDirectory(string path)
    {
        lock (_gate)
        {
            _local.SyncDirectory(path);
            foreach (var file in _dirty.Where(p => string.Equals(Path.GetDirectoryName(p), Path.TrimEndingDirectorySeparator(path), StringComparison.Ordinal)).ToList())
            {
                if (_local.FileExists(file))
                {
                    Upload(file);
                }

                _dirty.Remove(file);
            }
        }
    }

    /// <inheritdoc/>
    public MappedFile MapReadOnly(string path)
    {
        EnsureCached(path);
        return _local.MapReadOnly(path);
    }

    /// <summary>Local: a lock guards one process's use of the cache; ownership across nodes is the manifest's
    /// compare-and-set and the log's expected sequence.</summary>
    public IDisposable LockExclusive(string path) => _local.LockExclusive(path);

    private void EnsureCached(string path)
    {
        lock (_gate)
        {
            if (_local.FileExists(path) || !_objects.ContainsKey(Relative(path)))
            {
                return;
            }

            var temp = path + ".download";
            _local.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var file = _local.Create(temp))
            {
                Retry.UntilAsync(_retryTimeout, async c =>
                {
                    file.Truncate(0);
                    await _store.GetAsync(Name(path), file, leaveOpen: true, c).ConfigureAwait(false);
                    return true;
                }, CancellationToken.None).GetAwaiter().GetResult();
                file.Sync();
            }

            _local.Rename(temp, path);
            Downloads++;
        }
    }

    private void Upload(string path)
    {
        if (ReadOnly)
        {
            return;
        }

        using var source = _local.OpenRead(path);
        var meta = Retry.UntilAsync(_retryTimeout, async c =>
        {
            source.Position = 0;
            return await _store.PutAsync(Name(path), source, leaveOpen: true, c).ConfigureAwait(false);
        }, CancellationToken.None).GetAwaiter().GetResult();
        _objects[Relative(path)] = (long)meta.Size;
        Uploads++;
    }

    private void DeleteObject(string path)
    {
        if (!_objects.Remove(Relative(path)) || ReadOnly)
        {
            return;
        }

        Retry.UntilAsync(_retryTimeout, async c =>
        {
            try
            {
                await _store.DeleteAsync(Name(path), c).ConfigureAwait(false);
            }
            catch (NatsObjNotFoundException)
            {
            }

            return true;
        }, CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>Object names directly or deeper under a relative folder, relative to it.</summary>
    private IEnumerable<string> ObjectsUnder(string relativeFolder)
    {
        var prefix = relativeFolder.Length == 0 ? "" : relativeFolder + "/";
        return _objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Select(k => k[prefix.Length..]);
    }

    private string Name(string path) => $"{Prefix}/{Relative(path)}";

    private string Relative(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (full == _root)
        {
            return "";
        }

        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{path}' is outside the cache folder '{_root}'", nameof(path));
        }

        return full[(_root.Length + 1)..].Replace(Path.DirectorySeparatorChar, '/');
    }

    /// <summary>The engine's patterns are "*", "prefix*", "*suffix" and "prefix*suffix".</summary>
    private static bool Matches(string name, string pattern)
    {
        var star = pattern.IndexOf('*', StringComparison.Ordinal);
        if (star < 0)
        {
            return string.Equals(name, pattern, StringComparison.Ordinal);
        }

        var head = pattern[..star];
        var tail = pattern[(star + 1)..];
        return name.Length >= head.Length + tail.Length
            && name.StartsWith(head, StringComparison.Ordinal)
            && name.EndsWith(tail, StringComparison.Ordinal);
    }

    /// <summary>A cached file open for writing; a sync of a file whose entry is already in the store uploads it again.</summary>
    private sealed class TrackedFile(ObjectStoreFileSystem owner, WritableFile inner, string path) : WritableFile
    {
        public override long Length => inner.Length;

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

        public override void Flush() => inner.Flush();

        public override void Sync()
        {
            inner.Sync();
            lock (owner._gate)
            {
                if (owner._objects.ContainsKey(owner.Relative(path)))
                {
                    owner.Upload(path);
                }
            }
        }

        public override void Truncate(long length) => inner.Truncate(length);

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
