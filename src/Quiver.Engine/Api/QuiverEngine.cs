using System.Collections.Immutable;
using Quiver.Catalog;
using Quiver.Common;
using Quiver.Shards;
using Quiver.Storage;

namespace Quiver;

/// <summary>The embedded Quiver database over one local folder: databases, collections, partitions, writes and reads.
/// Open with <see cref="OpenAsync"/>; one process at a time may hold a folder open. All members are thread-safe.
/// Values in rows use these CLR types: Bool bool; Int8 sbyte; Int16 short; Int32 int; Int64 long; Float float;
/// Double double; VarChar string; JSON and Array <see cref="System.Text.Json.JsonElement"/>; FloatVector float[].
/// Inputs are accepted more loosely (any integer type, double for Float, JSON text or objects for JSON, lists for arrays
/// and vectors).</summary>
public sealed partial class QuiverEngine : IAsyncDisposable
{
    private readonly SemaphoreSlim _catalogGate = new(1, 1);
    private readonly SemaphoreSlim _manifestGate = new(1, 1);
    private readonly Dictionary<long, Shard> _shards = [];

    /// <summary>The values of <see cref="_shards"/>, replaced whole (under its lock) whenever a shard is added or removed,
    /// so that a search finds its collection without taking the lock or allocating (<see cref="FindShard"/>).</summary>
    private volatile Shard[] _shardList = [];
    private readonly Host _host;
    private readonly IDisposable _lock;
    private List<DatabaseMeta> _databases;
    private long _nextId;
    private int _disposed;

    private readonly IMetaStore _metaStore;

    private QuiverEngine(string path, QuiverOptions options, IFileSystem fs, IMetaStore metaStore, IDisposable folderLock, ManifestData manifest)
    {
        Path = path;
        _metaStore = metaStore;
        Options = options;
        _lock = folderLock;
        _databases = manifest.Databases;
        _nextId = manifest.NextId;
        _host = new Host(this, fs, new HybridClock(manifest.LastTimestamp, options.Time));
    }

    /// <summary>The data folder.</summary>
    public string Path { get; }

    /// <summary>The options the engine was opened with.</summary>
    public QuiverOptions Options { get; }

    /// <summary>Torn WAL tails found and truncated during recovery on open, one line each; empty after a clean shutdown.</summary>
    public ImmutableArray<string> RecoveryNotes { get; private set; } = [];

    /// <summary>Opens (creating if needed) a data folder: takes the folder lock, reads the manifest, maps and verifies
    /// sealed segments and replays each collection's WAL. Throws <see cref="QuiverException"/> with
    /// <see cref="QuiverErrorCode.Locked"/> when another process has the folder open, and <see cref="CorruptionException"/>
    /// when a file fails its checksum.</summary>
    public static async Task<QuiverEngine> OpenAsync(string path, QuiverOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new QuiverOptions();
        options.Validate();
        var fs = options.FileSystem ?? PhysicalFileSystem.Instance;
        path = System.IO.Path.GetFullPath(path);
        DurableFolders.Create(fs, path);
        var folderLock = fs.LockExclusive(System.IO.Path.Combine(path, "LOCK"));
        QuiverEngine? engine = null;
        try
        {
            var metaStore = options.MetaStore ?? new FileMetaStore(fs, path);
            var manifest = metaStore.Read();
            var fresh = manifest is null;
            manifest ??= new ManifestData
            {
                NextId = 2,
                Databases = [new DatabaseMeta { Id = 1, Name = CatalogNames.DefaultDatabase }],
            };
            engine = new QuiverEngine(path, options, fs, metaStore, folderLock, manifest);
            DurableFolders.Create(fs, engine._host.CollectionsRoot);
            if (fresh)
            {
                metaStore.Write(manifest);
            }

            var notes = ImmutableArray.CreateBuilder<string>();
            var known = new HashSet<string>(StringComparer.Ordinal);
            foreach (var meta in manifest.Collections)
            {
                var shard = await Shard.OpenAsync(engine._host, meta, cancellationToken).ConfigureAwait(false);
                engine._shards[meta.Id] = shard;
                engine._shardList = [.. engine._shards.Values];
                known.Add(System.IO.Path.GetFileName(shard.Folder));
                if (shard.RecoveryReport is { TailTruncated: true } report)
                {
                    notes.Add($"collection '{meta.Name}': {report}");
                }
            }

            // Folders of collections whose drop was recorded but not yet cleaned up.
            foreach (var dir in fs.ListDirectories(engine._host.CollectionsRoot))
            {
                if (!known.Contains(System.IO.Path.GetFileName(dir)))
                {
                    fs.DeleteDirectory(dir);
                }
            }

            engine.RecoveryNotes = notes.ToImmutable();
            foreach (var shard in engine._shards.Values)
            {
                shard.StartMaintenance();
            }

            return engine;
        }
        catch
        {
            if (engine is not null)
            {
                await engine.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                folderLock.Dispose();
            }

            throw;
        }
    }

    /// <summary>Stops background work, drains the WALs (every acknowledged write is already durable) and releases the folder.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Index jobs first: a build holds a segment of some shard and writes into its folder.
        await _host.IndexBuilds.DisposeAsync().ConfigureAwait(false);
        foreach (var shard in _shards.Values)
        {
            await shard.DisposeAsync().ConfigureAwait(false);
        }

        _shards.Clear();
        _shardList = [];
        _lock.Dispose();
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw new QuiverException(QuiverErrorCode.Unavailable, "the engine is closed");
        }
    }

    private long AllocateId() => Interlocked.Increment(ref _nextId) - 1;

    /// <summary>One change to what the manifest records. <see cref="Commit"/> makes it visible in memory; it runs under
    /// the manifest gate right after the write succeeds, so another writer never persists a state memory no longer
    /// holds, nor misses one it does.</summary>
    private sealed record CatalogChange
    {
        public CollectionMeta? Add { get; init; }

        public long? Remove { get; init; }

        public Shard? Shard { get; init; }

        public CollectionMeta? ShardMeta { get; init; }

        public List<DatabaseMeta>? Databases { get; init; }

        public Action? Commit { get; init; }
    }

    /// <summary>Writes the manifest: the catalog and every shard's committed metadata, with <paramref name="change"/>
    /// applied; then commits the change in memory. Serialized by the manifest gate. On failure nothing changes.</summary>
    private async Task PersistManifestAsync(CatalogChange change, CancellationToken cancellationToken)
    {
        await _manifestGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var collections = new List<CollectionMeta>(_shards.Count + 1);
            lock (_shards)
            {
                foreach (var s in _shards.Values)
                {
                    if (s.CollectionId != change.Remove)
                    {
                        collections.Add(s == change.Shard ? change.ShardMeta! : s.Meta);
                    }
                }
            }

            if (change.Add is { } added)
            {
                collections.Add(added);
            }

            collections.Sort((a, b) => a.Id.CompareTo(b.Id));
            var manifest = new ManifestData
            {
                NextId = Interlocked.Read(ref _nextId),
                LastTimestamp = _host.Clock.Last,
                Databases = change.Databases ?? _databases,
                Collections = collections,
            };
            try
            {
                _metaStore.Write(manifest);
            }
            catch (IOException ex)
            {
                throw new QuiverException(
                    Wal.IsDiskFull(ex) ? QuiverErrorCode.Capacity : QuiverErrorCode.Unavailable,
                    $"writing the manifest failed; the previous one stays in force: {ex.Message}",
                    ex);
            }

            if (change.Databases is { } databases)
            {
                _databases = databases;
            }

            change.Commit?.Invoke();
        }
        finally
        {
            _manifestGate.Release();
        }
    }

    /// <summary>What the engine holds in memory against <see cref="QuiverOptions.MemoryBudgetBytes"/> now. Thread-safe,
    /// O(1).</summary>
    public EngineMemoryUsage GetMemoryUsage()
    {
        var m = _host.Memory;
        return new EngineMemoryUsage(m.BudgetBytes, m.GrowingBytes, m.IndexBytes, m.ReservedBytes)
        {
            DeleteMarkBytes = m.DeleteMarkBytes,
            MergeBytes = m.MergeBytes,
            ScalarIndexBytes = m.ScalarIndexBytes,
            FilterCacheBytes = m.FilterCacheBytes,
        };
    }

    /// <summary>The engine's memory ledger (tests read its peak).</summary>
    internal MemoryLedger Memory => _host.Memory;

    /// <summary>The last timestamp the engine's clock issued: every write answered before it was read carries a timestamp
    /// at or below it (a cluster node's Session reads over REST, whose answers carry none, wait for it).</summary>
    internal long LastTimestamp => _host.Clock.Last;

    /// <summary>Flushes every collection with growing rows, <paramref name="first"/> first (a write's memory relief).</summary>
    private async Task RelieveMemoryAsync(Shard first, CancellationToken cancellationToken)
    {
        List<Shard> shards;
        lock (_shards)
        {
            shards = [.. _shards.Values];
        }

        shards.Remove(first);
        shards.Insert(0, first);
        foreach (var shard in shards)
        {
            if (!shard.HasGrowingRows)
            {
                continue;
            }

            try
            {
                await shard.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (QuiverException ex) when (shard != first && ex.Code == QuiverErrorCode.Unavailable)
            {
                // Another collection closed (dropped) meanwhile: its rows left memory with it.
            }
        }
    }

    private sealed class Host(QuiverEngine engine, IFileSystem fs, HybridClock clock) : IShardHost
    {
        public MemoryLedger Memory { get; } = new(engine.Options.MemoryBudgetBytes);

        public Task RelieveMemoryAsync(Shard first, CancellationToken cancellationToken) => engine.RelieveMemoryAsync(first, cancellationToken);

        public IFileSystem FileSystem { get; } = fs;

        public QuiverOptions Options => engine.Options;

        public HybridClock Clock { get; } = clock;

        public string CollectionsRoot { get; } = System.IO.Path.Combine(engine.Path, "collections");

        public Indexing.IndexBuildScheduler IndexBuilds { get; } = new();

        public long AllocateId() => engine.AllocateId();

        public Task PersistAsync(Shard shard, CollectionMeta meta, Action commit, CancellationToken cancellationToken) =>
            engine.PersistManifestAsync(new CatalogChange { Shard = shard, ShardMeta = meta, Commit = commit }, cancellationToken);
    }
}
