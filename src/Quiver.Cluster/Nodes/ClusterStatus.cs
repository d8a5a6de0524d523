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
/// still active, its log's last sequence and message count, the sequence its engine applied and its checkpoint), and every
/// loaded replica of a collection loaded with several (its node, state, the sequence it applied and its lag behind the
/// log). Shard placements are written by each shard grain when it activates, in KV bucket <c>{cluster}-placement</c>;
/// applied positions by each shard and replica at most every <see cref="AppliedPositions.Interval"/>
/// (<see cref="AppliedPositions"/>); checkpoints are read from each shard's manifest.</summary>
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

    /// <summary>The cluster's status as text (one table of nodes, one of shards, one of replicas).</summary>
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
        var replicaRecords = await OpenIfAnyAsync(kv, ReplicaRecords.Bucket(config.Cluster), ct).ConfigureAwait(false);
        var replicaRows = new List<string>();
        text.AppendLine(CultureInfo.InvariantCulture, $"{collections.Count} collections");
        text.AppendLine(CultureInfo.InvariantCulture, $"{"SHARD",-30} {"NODE (milvus)",-22} {"SILO",-22} {"STATE",-13} {"LOG LAST SEQ",12}  {"LOG MESSAGES",12} {"APPLIED",12} {"LAG",5} {"CHECKPOINT",12} {"TO REPLAY",10}");
        foreach (var (database, id, shards) in collections)
        {
            var replicas = replicaRecords is null ? 0 : await CountAsync(replicaRecords, ReplicaRecords.CountKey($"{database}/{id}"), ct).ConfigureAwait(false);
            for (var s = 0; s < shards; s++)
            {
                var key = ShardKeys.Of(database, id, s);
                var name = ShardKeys.Storage(config.Cluster, key);
                var log = logs.Where(l => l.Name.StartsWith(name + "-wal-", StringComparison.Ordinal)).ToList();
                var (lastSeq, messages) = log.Count == 0 ? ("-", "-") : (log.Max(l => l.LastSeq).ToString(CultureInfo.InvariantCulture), log.Sum(l => (long)l.Messages).ToString(CultureInfo.InvariantCulture));
                var state = placements.TryGetValue(key, out var p)
                    ? active.Contains(p.Silo) ? "active" : "node down"
                    : "not activated";
                var applied = placements.TryGetValue(AppliedPositions.ShardKey(key), out var a) ? a.Applied : null;
                var (appliedText, lag) = Behind(log, applied);
                var checkpoints = await CheckpointsAsync(kv, name, ct).ConfigureAwait(false);
                var (checkpointText, toReplay) = Behind(log, checkpoints);
                text.AppendLine(CultureInfo.InvariantCulture, $"{key,-30} {p?.Node ?? "-",-22} {p?.Silo ?? "-",-22} {state,-13} {lastSeq,12}  {messages,12} {appliedText,12} {lag,5} {checkpointText,12} {toReplay,10}");
                for (var i = 0; i < replicas; i++)
                {
                    var place = await JsonAsync<ReplicaPlace>(replicaRecords!, ReplicaRecords.PlaceKey(key, i), ct).ConfigureAwait(false);
                    var record = await JsonAsync<AppliedRecord>(replicaRecords!, ReplicaRecords.AppliedKey(key, i), ct).ConfigureAwait(false);
                    var (replicaApplied, replicaLag) = Behind(log, record?.Logs);
                    var replicaState = place is null ? "not activated" : active.Contains(place.Silo) ? "active" : "node down";
                    replicaRows.Add(string.Create(CultureInfo.InvariantCulture, $"{ReplicaRecords.GrainKey(key, i),-32} {place?.Milvus ?? "-",-22} {place?.Silo ?? "-",-22} {replicaState,-13} {replicaApplied,12} {lastSeq,12} {replicaLag,5}  {(record is null ? "-" : record.At.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture))}"));
                }
            }
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"{replicaRows.Count} replicas (of collections loaded with replica_number > 1)");
        text.AppendLine(CultureInfo.InvariantCulture, $"{"REPLICA",-32} {"NODE (milvus)",-22} {"SILO",-22} {"STATE",-13} {"APPLIED",12} {"LOG LAST SEQ",12} {"LAG",5}  RECORDED (UTC)");
        foreach (var row in replicaRows)
        {
            text.AppendLine(row);
        }

        return text.ToString();
    }

    /// <summary>How far <paramref name="positions"/> (a sequence per log stream) is behind the shard's logs: the position
    /// (the highest over its logs; "-" when none is known) and the records between it and each log's last sequence,
    /// summed over the logs ("-" when no position is known). A shard's engine holds one log per collection id, which is
    /// one log unless the collection was dropped and created again in it.</summary>
    private static (string Position, string Behind) Behind(List<(string Name, ulong LastSeq, ulong Messages)> logs, Dictionary<string, long>? positions)
    {
        if (positions is null || logs.Count == 0)
        {
            return ("-", "-");
        }

        var behind = logs.Sum(l => Math.Max(0, (long)l.LastSeq - positions.GetValueOrDefault(l.Name)));
        var position = logs.Max(l => positions.GetValueOrDefault(l.Name));
        return (position.ToString(CultureInfo.InvariantCulture), behind.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The last sequence of each of shard <paramref name="name"/>'s logs that its manifest's checkpoint covers
    /// (records up to it are in sealed segments; a shard that moves replays the ones after it), by stream name; null when
    /// the shard has no manifest yet.</summary>
    private static async Task<Dictionary<string, long>?> CheckpointsAsync(INatsKVContext kv, string name, CancellationToken ct)
    {
        if (await OpenIfAnyAsync(kv, $"{name}-meta", ct).ConfigureAwait(false) is not { } meta
            || ReplicaShapes.Parse(await ValueAsync(meta, "manifest", ct).ConfigureAwait(false)) is not { } manifest)
        {
            return null;
        }

        return manifest.Collections.ToDictionary(c => JetStreamWal.StreamFor(name, c.Id), c => c.CheckpointLsn - 1, StringComparer.Ordinal);
    }

    private static async Task<int> CountAsync(INatsKVStore store, string key, CancellationToken ct) =>
        await ValueAsync(store, key, ct).ConfigureAwait(false) is { } value ? int.Parse(Encoding.UTF8.GetString(value), CultureInfo.InvariantCulture) : 0;

    private static async Task<T?> JsonAsync<T>(INatsKVStore store, string key, CancellationToken ct)
        where T : class =>
        await ValueAsync(store, key, ct).ConfigureAwait(false) is { Length: > 0 } value ? JsonSerializer.Deserialize<T>(value) : null;

    /// <summary>A key's value by direct get (a status report: a lagging NATS replica may answer a moment late), or null.</summary>
    private static async Task<byte[]?> ValueAsync(INatsKVStore store, string key, CancellationToken ct)
    {
        try
        {
            var entry = await store.GetEntryAsync<byte[]>(key, cancellationToken: ct).ConfigureAwait(false);
            return entry.Value;
        }
        catch (NatsKVKeyNotFoundException)
        {
            return null;
        }
        catch (NatsKVKeyDeletedException)
        {
            return null;
        }
    }

    /// <summary>The bucket <paramref name="bucket"/>, or null when it was never created.</summary>
    private static async Task<INatsKVStore?> OpenIfAnyAsync(INatsKVContext kv, string bucket, CancellationToken ct)
    {
        try
        {
            return await kv.GetStoreAsync(bucket, ct).ConfigureAwait(false);
        }
        catch (NatsJSApiException)
        {
            return null;
        }
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
            if (entry.Value is not { Length: > 0 } value)
            {
                continue;
            }

            if (key.StartsWith("applied.", StringComparison.Ordinal))
            {
                // A shard's applied positions (AppliedPositions), kept beside its placement.
                if (JsonSerializer.Deserialize<AppliedRecord>(value) is { } applied)
                {
                    found[key] = new Placement("-", applied.Silo, applied.At) { Applied = applied.Logs };
                }
            }
            else if (JsonSerializer.Deserialize<Placement>(value) is { } placement)
            {
                found[key] = placement;
            }
        }

        return found;
    }

    private static async Task<List<(string Name, ulong LastSeq, ulong Messages)>> LogsAsync(INatsJSContext js, string cluster, CancellationToken ct)
    {
        // By name: JetStream lists streams in pages by offset, so a stream can come twice when streams before it are
        // created or deleted while the list is read (any other collection's create or drop); counted twice, a shard's
        // messages and records to replay doubled (CI: a shard of 2 records showed 4 to replay).
        var logs = new Dictionary<string, (string, ulong, ulong)>(StringComparer.Ordinal);
        await foreach (var stream in js.ListStreamsAsync(cancellationToken: ct).ConfigureAwait(false))
        {
            if (stream.Info.Config.Name is { } name && name.StartsWith(cluster + "-", StringComparison.Ordinal) && name.Contains("-wal-", StringComparison.Ordinal))
            {
                logs[name] = (name, stream.Info.State.LastSeq, (ulong)stream.Info.State.Messages);
            }
        }

        return [.. logs.Values];
    }

    /// <summary>Where a shard grain was last activated.</summary>
    private sealed record Placement(string Node, string Silo, DateTime Since)
    {
        /// <summary>For a shard's applied-position record: the last sequence applied per log.</summary>
        [System.Text.Json.Serialization.JsonIgnore]
        public Dictionary<string, long>? Applied { get; init; }
    }
}
