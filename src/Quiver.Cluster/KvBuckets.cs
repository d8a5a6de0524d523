using System.Diagnostics;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster;

/// <summary>Opens the cluster's KV buckets, creating a missing one, so that any number of nodes may do so at once.
/// <c>CreateOrUpdateStoreAsync</c> sends the bucket's configuration as an update first: nodes racing to open a bucket
/// nobody has created yet then race an update against a create, and one of them is answered with a JetStream API error
/// (seen in CI as a <c>NatsJSApiException</c> out of a replica placement); an update also stalls while one of the
/// stream's servers is down. Reading first costs nothing once the bucket exists, which is every time but the first.</summary>
internal static class KvBuckets
{
    /// <summary>JetStream's error code for "stream name already in use": another node created the bucket between this
    /// node's read and its create.</summary>
    private const int NameInUse = 10058;

    /// <summary>The bucket <paramref name="bucket"/> (<paramref name="replicas"/> replicas, <paramref name="history"/>
    /// revisions kept per key), created if no node has created it yet; retried while the cluster cannot answer, up to
    /// <paramref name="timeout"/>. A bucket created earlier with a shorter history is given this one (once: the update
    /// is sent only while the bucket keeps fewer revisions).</summary>
    public static async Task<INatsKVStore> OpenAsync(INatsKVContext kv, string bucket, int replicas, TimeSpan timeout, CancellationToken ct, int history = 1)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await Retry.UntilAsync(timeout, c => GetOrCreateAsync(kv, bucket, replicas, history, c), ct).ConfigureAwait(false);
            }
            catch (NatsJSApiException ex) when (ex.Error.ErrCode == NameInUse && clock.Elapsed < timeout)
            {
                // Another node created it between the read and the create: read it again.
                await Task.Delay(Retry.Pause, ct).ConfigureAwait(false);
            }
        }
    }

    private static async Task<INatsKVStore> GetOrCreateAsync(INatsKVContext kv, string bucket, int replicas, int history, CancellationToken ct)
    {
        INatsKVStore store;
        try
        {
            store = await kv.GetStoreAsync(bucket, ct).ConfigureAwait(false);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            return await kv.CreateStoreAsync(new NatsKVConfig(bucket) { NumberOfReplicas = replicas, History = history }, ct).ConfigureAwait(false);
        }

        if (history > 1 && (await store.GetStatusAsync(ct).ConfigureAwait(false)).Info.Config.MaxMsgsPerSubject < history)
        {
            store = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(bucket) { NumberOfReplicas = replicas, History = history }, ct).ConfigureAwait(false);
        }

        return store;
    }
}
