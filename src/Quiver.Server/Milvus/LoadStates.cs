using System.Text.Json;
using Quiver.Server.Hosting;

namespace Quiver.Server.Milvus;

/// <summary>
/// Which collections (or which of their partitions) are loaded, as Milvus clients see it. The engine can always serve;
/// Milvus refuses search and query on a released collection with code 101, and clients call load and release, so the
/// server keeps the state: by collection id (renames and aliases do not affect it), in <c>server-load-state.json</c> in
/// the data folder, rewritten atomically on every change, so a restart keeps it as Milvus does. A new collection starts
/// released (Milvus's CreateCollection leaves it NotLoaded; SDKs that create with index params load it themselves).
/// Thread-safe.
/// </summary>
internal sealed class LoadStates
{
    /// <summary>File name of the persisted state in the data folder.</summary>
    public const string FileName = "server-load-state.json";

    private readonly QuiverEngine _engine;
    private readonly string _path;
    private readonly Lock _lock = new();

    // Collection id -> loaded partitions, or null when the whole collection is loaded (new partitions included).
    private readonly Dictionary<long, HashSet<string>?> _loaded;

    /// <summary>Reads the persisted state of the engine's data folder.</summary>
    public LoadStates(QuiverEngine engine, ServerOptions options)
    {
        _engine = engine;
        _path = Path.Combine(Path.GetFullPath(options.DataPath), FileName);
        _loaded = [];
        if (File.Exists(_path))
        {
            try
            {
                var stored = JsonSerializer.Deserialize<Dictionary<long, string[]?>>(File.ReadAllBytes(_path)) ?? [];
                foreach (var (id, partitions) in stored)
                {
                    _loaded[id] = partitions is null ? null : new HashSet<string>(partitions, StringComparer.Ordinal);
                }
            }
            catch (JsonException e)
            {
                throw new QuiverException(QuiverErrorCode.Corruption, $"'{_path}' is not a valid load state: {e.Message}", e);
            }
        }
    }

    /// <summary>Throws Milvus's "collection not loaded" (101) unless <paramref name="collection"/> (a name or alias in
    /// <paramref name="database"/>) is loaded; with <paramref name="partitions"/>, "partition not loaded" (201) for the
    /// first of them that is not. Throws "collection not found" (100) when the collection does not exist. For the
    /// search, query and get handlers, before they call the engine. Returns the partitions the read covers:
    /// <paramref name="partitions"/> when given, else the loaded partitions after a partial load, else null (all).</summary>
    public IReadOnlyList<string>? EnsureLoaded(string database, string collection, IReadOnlyList<string>? partitions = null)
    {
        var target = Require(database, collection);
        lock (_lock)
        {
            if (!_loaded.TryGetValue(target.Id, out var loaded))
            {
                throw new MilvusException(MilvusCode.CollectionNotLoaded, $"collection not loaded[collection={target.Name}]");
            }

            if (loaded is not null && partitions is not null)
            {
                foreach (var p in partitions)
                {
                    if (!loaded.Contains(p))
                    {
                        throw new MilvusException(MilvusCode.PartitionNotLoaded, $"partition not loaded[partition={p}]");
                    }
                }
            }

            // A read that names no partitions reads what is loaded: everything, or only the loaded partitions.
            return partitions ?? (loaded is null ? null : [.. loaded.Order(StringComparer.Ordinal)]);
        }
    }

    /// <summary>True when the collection (or at least one of its partitions) is loaded.</summary>
    public bool IsLoaded(long collectionId)
    {
        lock (_lock)
        {
            return _loaded.ContainsKey(collectionId);
        }
    }

    /// <summary>The load state of a collection, or of the given partitions (Loaded only when all are).</summary>
    public Protocol.Common.LoadState StateOf(long collectionId, IReadOnlyCollection<string> partitions)
    {
        lock (_lock)
        {
            if (!_loaded.TryGetValue(collectionId, out var loaded))
            {
                return Protocol.Common.LoadState.NotLoad;
            }

            return loaded is null || partitions.All(loaded.Contains) ? Protocol.Common.LoadState.Loaded : Protocol.Common.LoadState.NotLoad;
        }
    }

    /// <summary>Marks the whole collection loaded, or adds <paramref name="partitions"/> to its loaded set.</summary>
    public void Load(long collectionId, IReadOnlyCollection<string>? partitions)
    {
        lock (_lock)
        {
            if (partitions is null || partitions.Count == 0)
            {
                _loaded[collectionId] = null;
            }
            else if (!_loaded.TryGetValue(collectionId, out var loaded))
            {
                _loaded[collectionId] = new HashSet<string>(partitions, StringComparer.Ordinal);
            }
            else if (loaded is not null)
            {
                loaded.UnionWith(partitions);
            }

            Save();
        }
    }

    /// <summary>Releases the whole collection, or <paramref name="partitions"/> of it (<paramref name="allPartitions"/>
    /// lists the collection's partitions, to narrow a whole-collection load); the collection is released once no
    /// partition is left loaded.</summary>
    public void Release(long collectionId, IReadOnlyCollection<string>? partitions, IReadOnlyList<string> allPartitions)
    {
        lock (_lock)
        {
            if (!_loaded.TryGetValue(collectionId, out var loaded))
            {
                return;
            }

            if (partitions is null || partitions.Count == 0)
            {
                _loaded.Remove(collectionId);
            }
            else
            {
                loaded ??= new HashSet<string>(allPartitions, StringComparer.Ordinal);
                loaded.ExceptWith(partitions);
                if (loaded.Count == 0)
                {
                    _loaded.Remove(collectionId);
                }
                else
                {
                    _loaded[collectionId] = loaded;
                }
            }

            Save();
        }
    }

    /// <summary>Replaces the whole state with <paramref name="json"/>, another server's load-state file (empty: nothing
    /// loaded), as a cluster's replica takes its shard's loads and releases without a restart.</summary>
    public void Replace(byte[]? json)
    {
        var stored = json is { Length: > 0 } ? JsonSerializer.Deserialize<Dictionary<long, string[]?>>(json) ?? [] : [];
        lock (_lock)
        {
            _loaded.Clear();
            foreach (var (id, partitions) in stored)
            {
                _loaded[id] = partitions is null ? null : new HashSet<string>(partitions, StringComparer.Ordinal);
            }

            Save();
        }
    }

    /// <summary>Forgets a dropped collection, or a dropped partition of it.</summary>
    public void Forget(long collectionId, string? partition = null)
    {
        lock (_lock)
        {
            if (partition is null ? _loaded.Remove(collectionId) : _loaded.GetValueOrDefault(collectionId)?.Remove(partition) == true)
            {
                if (partition is not null && _loaded[collectionId]!.Count == 0)
                {
                    _loaded.Remove(collectionId);
                }

                Save();
            }
        }
    }

    /// <summary>The collection a name or alias names, or Milvus's "collection not found".</summary>
    public CollectionRef Require(string database, string collection) =>
        _engine.ResolveCollection(collection, database)
        ?? throw (_engine.ListDatabasesAsync().Result.Contains(database)
            ? new MilvusException(MilvusCode.CollectionNotFound, $"collection not found[database={database}][collection={collection}]")
            : new MilvusException(MilvusCode.DatabaseNotFound, $"database not found[database={database}]"));

    private void Save()
    {
        var snapshot = _loaded.ToDictionary(kv => kv.Key, kv => kv.Value?.Order(StringComparer.Ordinal).ToArray());
        var temp = _path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, snapshot);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, _path, overwrite: true);
    }
}
