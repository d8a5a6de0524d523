using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;

namespace Quiver.Cluster;

/// <summary>Puts an embedded engine's three storage seams on JetStream: the manifest in KV bucket <c>{name}-meta</c>,
/// each collection's log in stream <c>{name}-wal-{collectionId}</c>, files in object store <c>{name}-files</c> with the
/// data folder as the local cache. Another process that opens the same <c>name</c> over an empty folder sees the same
/// data: the state is in JetStream, the folder is a cache.</summary>
internal static class JetStreamStorage
{
    /// <summary>Returns <paramref name="options"/> with the meta store, log factory and file system set to JetStream
    /// stores for <paramref name="name"/> (letters, digits, '-' and '_'), created with <paramref name="replicas"/>
    /// replicas if missing. <paramref name="cacheFolder"/> is the folder the engine is then opened at.</summary>
    public static async Task<QuiverOptions> ConfigureAsync(INatsJSContext js, string name, string cacheFolder, QuiverOptions? options = null, int replicas = 3, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var walOptions = new JetStreamWalOptions { Replicas = replicas };
        var meta = await KvMetaStore.OpenAsync(new NatsKVContext(js), $"{name}-meta", "manifest", replicas, ct: ct).ConfigureAwait(false);
        var objects = new NatsObjContext(js);
        var store = await Retry.UntilAsync(walOptions.RetryTimeout, async c => await objects.CreateObjectStoreAsync(new NatsObjConfig($"{name}-files") { NumberOfReplicas = replicas }, c).ConfigureAwait(false), ct).ConfigureAwait(false);
        var files = await ObjectStoreFileSystem.OpenAsync(store, Path.GetFullPath(cacheFolder), "data", ct: ct).ConfigureAwait(false);
        return (options ?? new QuiverOptions()) with
        {
            MetaStore = meta,
            FileSystem = files,
            WalFactory = collectionId => JetStreamWal.Open(js, JetStreamWal.StreamFor(name, collectionId), walOptions),
        };
    }
}
