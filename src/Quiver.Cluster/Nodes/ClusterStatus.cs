using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Orleans.Serialization;

namespace Quiver.Cluster.Nodes;

/// <summary><c>Quiver.Cluster status --config FILE</c>: what the cluster's stores say, read from NATS without joining
/// the cluster: the nodes (Orleans's membership table: silo, status, start, last heartbeat), every shard of every
/// collection in the catalog (where it was last activated: the node's Milvus endpoint and silo, whether that node is
/// still active, and its log's last sequence and message count). Shard placements are written by each shard grain when
/// it activates, in KV bucket <c>{cluster}-placement</c>.</summary>
internal static class ClusterStatus
{
    private static readonly TimeSpan RetryTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The placement bucket of <paramref name="cluster"/>.</summary>
    public static string Bucket(string cluster) => $"{cluster}-placement";

    /// <summary>Records that the shard grain <paramref name="key"/> is active on this node.</summary>
    public static async Task RecordPlacementAsync(NodeContext node, string key, CancellationToken ct)
    {
        var value = JsonSerializer.SerializeToUtf8Bytes(new Placement(
            $"{node.Config.Host}:{node.MilvusPort.ToString(CultureInfo.InvariantCulture)}",
            $"{node.Config.Host}:{node.Config.SiloPort.ToString(CultureInfo.InvariantCulture)}",
            DateTime.UtcNow));
        await Retry.UntilAsync(RetryTimeout, c => node.Placement.PutAsync(key, value, cancellationToken: c).AsTask(), ct).ConfigureAwait(false);
    }

    /// <summary>The cluster's status as text (one table of nodes, one of shards).</summary>
    public static async Task<string> ReadAsync(NodeConfig config, CancellationToken ct)
    {
        await using var nats = new NatsConnection(new NatsOpts { Url = config.Nats, Name = "quiver-status", RequestTimeout = TimeSpan.FromSeconds(5) });
        await nats.ConnectAsync().ConfigureAwait(false);
        var js = new NatsJSContext(nats);
        var kv = new NatsKVContext(js);
        var text = new StringBuilder();

        var members = await Retry.UntilAsync(RetryTimeout, c => kv.GetStoreAsync($"{config.Cluster}-membership", c).AsTask(), ct).ConfigureAwait(false);
        await using var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        var table = await new KvMembershipTable(members, services.GetRequiredService<Serializer>()).ReadAll().ConfigureAwait(false);
        var silos = table.Members.Select(m => m.Item1).OrderBy(m => m.SiloAddress.ToString(), StringComparer.Ordinal).ToList();
        var active = silos.Where(s => s.Status == SiloStatus.Active).Select(s => Endpoint(s.SiloAddress)).ToHashSet(StringComparer.Ordinal);
        text.AppendLine(CultureInfo.InvariantCulture, $"cluster {config.Cluster}: {silos.Count} nodes in the membership table, {active.Count} active");
        text.AppendLine("NODE (silo)            STATUS      STARTED (UTC)         LAST ALIVE (UTC)");
        foreach (var silo in silos)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{Endpoint(silo.SiloAddress),-22} {silo.Status,-11} {silo.StartTime:yyyy-MM-dd HH:mm:ss}   {silo.IAmAliveTime:yyyy-MM-dd HH:mm:ss}");
        }

        var catalog = await CollectionCatalog.OpenAsync(kv, config.Cluster, config.Replicas, ct).ConfigureAwait(false);
        // Shards are named from their collection's storage id (docs/cluster.md, storage ids).
        var collections = await catalog.AllIdsAsync(ct).ConfigureAwait(false);
        var placements = await PlacementsAsync(kv, config.Cluster, ct).ConfigureAwait(false);
        var logs = await LogsAsync(js, config.Cluster, ct).ConfigureAwait(false);
        text.AppendLine(CultureInfo.InvariantCulture, $"{collections.Count} collections");
        text.AppendLine("SHARD                          NODE (milvus)          SILO                   STATE         LOG LAST SEQ  LOG MESSAGES");
        foreach (var (database, id, shards) in collections)
        {
            for (var s = 0; s < shards; s++)
            {
                var key = ShardKeys.Of(database, id, s);
                var storage = ShardKeys.Storage(config.Cluster, key) + "-wal-";
                var log = logs.Where(l => l.Name.StartsWith(storage, StringComparison.Ordinal)).ToList();
                var (lastSeq, messages) = log.Count == 0 ? ("-", "-") : (log.Max(l => l.LastSeq).ToString(CultureInfo.InvariantCulture), log.Sum(l => (long)l.Messages).ToString(CultureInfo.InvariantCulture));
                var state = placements.TryGetValue(key, out var p)
                    ? active.Contains(p.Silo) ? "active" : "node down"
                    : "not activated";
                text.AppendLine(CultureInfo.InvariantCulture, $"{key,-30} {p?.Node ?? "-",-22} {p?.Silo ?? "-",-22} {state,-13} {lastSeq,12}  {messages,12}");
            }
        }

        return text.ToString();
    }

    private static string Endpoint(SiloAddress silo) => $"{silo.Endpoint.Address}:{silo.Endpoint.Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Where each shard grain last activated, by shard key. Read by direct get on purpose: a status report, which
    /// a lagging NATS replica may answer a moment late; nothing decides by it.</summary>
    private static async Task<Dictionary<string, Placement>> PlacementsAsync(INatsKVContext kv, string cluster, CancellationToken ct)
    {
        var found = new Dictionary<string, Placement>(StringComparer.Ordinal);
        INatsKVStore store;
        try
        {
            store = await kv.GetStoreAsync(Bucket(cluster), ct).ConfigureAwait(false);
        }
        catch (NatsJSApiException)
        {
            // No shard ever activated.
            return found;
        }

        if ((await store.GetStatusAsync(ct).ConfigureAwait(false)).Info.State.Messages == 0)
        {
            // The client's key listing waits forever on a bucket that never held a key.
            return found;
        }

        await foreach (var key in store.GetKeysAsync(cancellationToken: ct).ConfigureAwait(false))
        {
            var entry = await store.GetEntryAsync<byte[]>(key, cancellationToken: ct).ConfigureAwait(false);
            if (entry.Value is { Length: > 0 } value && JsonSerializer.Deserialize<Placement>(value) is { } placement)
            {
                found[key] = placement;
            }
        }

        return found;
    }

    private static async Task<List<(string Name, ulong LastSeq, ulong Messages)>> LogsAsync(INatsJSContext js, string cluster, CancellationToken ct)
    {
        var logs = new List<(string, ulong, ulong)>();
        await foreach (var stream in js.ListStreamsAsync(cancellationToken: ct).ConfigureAwait(false))
        {
            if (stream.Info.Config.Name is { } name && name.StartsWith(cluster + "-", StringComparison.Ordinal) && name.Contains("-wal-", StringComparison.Ordinal))
            {
                logs.Add((name, stream.Info.State.LastSeq, (ulong)stream.Info.State.Messages));
            }
        }

        return logs;
    }

    /// <summary>Where a shard grain was last activated.</summary>
    private sealed record Placement(string Node, string Silo, DateTime Since);
}
