using System.Collections.Concurrent;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster.Nodes;

/// <summary>Which collections the cluster holds, so that any node routes a call to the collection's shard: one key
/// <c>{database}.{collection}</c> per collection in KV bucket <c>{cluster}-catalog</c>. The shard's own engine stays
/// the authority on the collection (schema, partitions, indexes); this only says a shard exists. Lookups that found a
/// collection are remembered: a collection dropped through another node still routes to its shard, whose engine then
/// answers "not found" itself.</summary>
internal sealed class CollectionCatalog
{
    /// <summary>A key the bucket always holds, so that listing keys never waits on an empty bucket.</summary>
    private const string Marker = "catalog";

    private static readonly TimeSpan RetryTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The value of every key: what matters is that the key exists (the client reads an empty value as none).</summary>
    private static readonly byte[] Present = [1];

    private readonly INatsKVStore _store;
    private readonly ConcurrentDictionary<string, bool> _known = new(StringComparer.Ordinal);

    private CollectionCatalog(INatsKVStore store) => _store = store;

    /// <summary>Opens (creating if missing) the catalog bucket of <paramref name="cluster"/>.</summary>
    public static async Task<CollectionCatalog> OpenAsync(INatsKVContext kv, string cluster, int replicas, CancellationToken ct)
    {
        var store = await Retry.UntilAsync(RetryTimeout, c => kv.CreateOrUpdateStoreAsync(new NatsKVConfig($"{cluster}-catalog") { NumberOfReplicas = replicas, History = 1 }, c).AsTask(), ct).ConfigureAwait(false);
        await Retry.UntilAsync(RetryTimeout, c => store.PutAsync(Marker, Present, cancellationToken: c).AsTask(), ct).ConfigureAwait(false);
        return new CollectionCatalog(store);
    }

    /// <summary>True when the cluster holds <paramref name="collection"/> in <paramref name="database"/>.</summary>
    public async Task<bool> ContainsAsync(string database, string collection, CancellationToken ct)
    {
        var key = Key(database, collection);
        if (_known.ContainsKey(key))
        {
            return true;
        }

        var found = await Retry.UntilAsync(RetryTimeout, async c =>
        {
            try
            {
                var entry = await _store.GetEntryAsync<byte[]>(key, cancellationToken: c).ConfigureAwait(false);
                return entry.Value is not null;
            }
            catch (Exception ex) when (ex is NatsKVKeyNotFoundException or NatsKVKeyDeletedException)
            {
                return false;
            }
        }, ct).ConfigureAwait(false);
        if (found)
        {
            _known[key] = true;
        }

        return found;
    }

    /// <summary>Records that the cluster holds <paramref name="collection"/>.</summary>
    public async Task AddAsync(string database, string collection, CancellationToken ct)
    {
        var key = Key(database, collection);
        await Retry.UntilAsync(RetryTimeout, c => _store.PutAsync(key, Present, cancellationToken: c).AsTask(), ct).ConfigureAwait(false);
        _known[key] = true;
    }

    /// <summary>Forgets <paramref name="collection"/> after its shard dropped it.</summary>
    public async Task RemoveAsync(string database, string collection, CancellationToken ct)
    {
        var key = Key(database, collection);
        _known.TryRemove(key, out _);
        await Retry.UntilAsync(RetryTimeout, async c =>
        {
            await _store.DeleteAsync(key, cancellationToken: c).ConfigureAwait(false);
            return true;
        }, ct).ConfigureAwait(false);
    }

    /// <summary>The collections of <paramref name="database"/>, by name.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(string database, CancellationToken ct)
    {
        var prefix = database + ".";
        return await Retry.UntilAsync(RetryTimeout, async c =>
        {
            var names = new List<string>();
            await foreach (var key in _store.GetKeysAsync(cancellationToken: c).ConfigureAwait(false))
            {
                if (key.StartsWith(prefix, StringComparison.Ordinal))
                {
                    names.Add(key[prefix.Length..]);
                }
            }

            names.Sort(StringComparer.Ordinal);
            return names;
        }, ct).ConfigureAwait(false);
    }

    private static string Key(string database, string collection) => $"{database}.{collection}";
}
