using System.Globalization;
using System.Text;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster.Nodes;

/// <summary>The keys of an <c>auto_id</c> collection with several shards, unique across its shards and the nodes that
/// insert into it: Milvus's proxies take blocks of IDs from one global allocator (root coordinator's, kept in etcd) and
/// route each row by its key's hash; so does a node. The allocator is one key, <c>next</c>, of the collection's own KV
/// bucket <c>{shard 0's storage name}-ids</c> (deleted with the collection's other buckets), holding the first key not
/// yet handed out. A node reserves a block of at least <see cref="Block"/> keys by compare-and-set of that value and
/// hands keys out of the block in memory. The first value is the current Unix time in milliseconds shifted left by 18
/// bits, the form of Milvus's (and the standalone engine's) timestamp-based keys.
/// Why compare-and-set on one key rather than fixed per-shard or per-node ranges: rows must be routed by their key's
/// hash (upserts and deletes find them that way), so the key has to exist before the shard is chosen, and any node may
/// insert; ranges per node would need node numbers that survive restarts, which Orleans's membership does not give.
/// nats-server before 2.9.21 checks the expected revision outside the replicated write, so two racing updates can both
/// be stored (docs/cluster.md); a reservation therefore counts only when its write is the very next revision of the
/// bucket after the one it read (the bucket holds nothing else), and otherwise is thrown away and made again: no two
/// nodes can keep the same block, at the price of a wasted block when nodes race.</summary>
/// <param name="kv">The cluster's KV context.</param>
/// <param name="replicas">Replicas of each allocator bucket.</param>
/// <param name="start">The first value of a fresh allocator (null: the timestamp form above); import job ids start at 1.</param>
/// <param name="open">Opens a storage's allocator bucket (null: <see cref="Bucket"/> in <paramref name="kv"/>); tests give their own.</param>
internal sealed class AutoIds(INatsKVContext kv, int replicas, long? start = null, Func<string, CancellationToken, Task<INatsKVStore>>? open = null)
{
    /// <summary>The fewest keys a node reserves at once.</summary>
    public const int Block = 10_000;

    private const string Key = "next";
    private static readonly TimeSpan RetryTimeout = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, (long Next, long End)> _blocks = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _lock = new(1, 1);

    /// <summary>The allocator's bucket for the collection whose shard 0 has storage name <paramref name="storage"/>.</summary>
    public static string Bucket(string storage) => $"{storage}-ids";

    /// <summary>Reserves <paramref name="count"/> consecutive keys and answers the first.</summary>
    public async Task<long> TakeAsync(string storage, int count, CancellationToken ct)
    {
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_blocks.TryGetValue(storage, out var block) && block.End - block.Next >= count)
            {
                _blocks[storage] = (block.Next + count, block.End);
                return block.Next;
            }

            var size = Math.Max(count, Block);
            var first = await ReserveAsync(storage, size, ct).ConfigureAwait(false);
            _blocks[storage] = (first + count, first + size);
            return first;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Forgets this node's block of a dropped collection.</summary>
    public void Forget(string storage)
    {
        _lock.Wait();
        try
        {
            _blocks.Remove(storage);
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<long> ReserveAsync(string storage, int size, CancellationToken ct)
    {
        var store = await StoreAsync(storage, ct).ConfigureAwait(false);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            // From the stream's leader: a direct get may be answered by a replica behind it, whose older value and
            // revision the compare-and-set below refuses, again and again until that replica catches up (and whose "not
            // found" makes the create below fail the same way).
            var read = await Retry.UntilAsync(RetryTimeout, c => KvLeaderReads.GetAsync(store, Key, 0, c), ct).ConfigureAwait(false);
            var (value, revision) = (Parse(read.Value), read.Value is null ? 0UL : read.Revision);
            var first = value ?? start ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 18;
            var next = Encoding.ASCII.GetBytes((first + size).ToString(CultureInfo.InvariantCulture));
            ulong written;
            try
            {
                written = value is null
                    ? await store.CreateAsync(Key, next, cancellationToken: ct).ConfigureAwait(false)
                    : await store.UpdateAsync(Key, next, revision, cancellationToken: ct).ConfigureAwait(false);
            }
            catch (NatsKVWrongLastRevisionException)
            {
                continue;
            }
            catch (NatsKVCreateException)
            {
                continue;
            }
            catch (Exception ex) when (Retry.IsPassing(ex, ct))
            {
                // The write may or may not have landed: read again; a block that landed unseen is only wasted.
                await Task.Delay(Retry.Pause, ct).ConfigureAwait(false);
                continue;
            }

            // A fresh bucket's first write is revision 1; an update must be the very next write after the one read.
            if (written == (value is null ? 1UL : revision + 1))
            {
                return first;
            }
        }
    }

    private async Task<INatsKVStore> StoreAsync(string storage, CancellationToken ct)
    {
        if (open is not null)
        {
            return await open(storage, ct).ConfigureAwait(false);
        }

        // Read before creating: updating an existing replicated stream's configuration stalls while a server is down.
        var store = await Retry.UntilAsync(RetryTimeout, async c =>
        {
            try
            {
                return await kv.GetStoreAsync(Bucket(storage), c).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NatsKVException or NATS.Client.JetStream.NatsJSApiException { Error.Code: 404 })
            {
                return await kv.CreateStoreAsync(new NatsKVConfig(Bucket(storage)) { NumberOfReplicas = replicas, History = 1 }, c).ConfigureAwait(false);
            }
        }, ct).ConfigureAwait(false);
        return store;
    }

    private static long? Parse(byte[]? value) =>
        value is { Length: > 0 } ? long.Parse(Encoding.ASCII.GetString(value), NumberStyles.None, CultureInfo.InvariantCulture) : null;
}

/// <summary>The node side of auto_id on a collection with several shards.</summary>
internal sealed partial class MilvusRouting
{
    internal static readonly Google.Protobuf.Reflection.MethodDescriptor UpsertMethod = Protocol.Milvus.MilvusService.Descriptor.FindMethodByName("Upsert");

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<NodeContext, AutoIds> Allocators = [];

    /// <summary>Adds the primary-key column of an auto_id insert: refused, in the engine's words, when the client sent
    /// keys; otherwise <see cref="AutoIds"/> keys, consecutive in row order.</summary>
    private async Task<ColumnBatch> AddAutoIdsAsync(ColumnBatch batch, CollectionSchema schema, string database, string collection, string op, CancellationToken ct)
    {
        var pk = schema.PrimaryKey;
        if (batch.Find(pk.Name) is { } given)
        {
            for (var r = 0; r < batch.RowCount; r++)
            {
                if (!given.IsNull(r))
                {
                    Quiver.Writes.RowValidator.Fail(op, r, pk.Name, "the primary key is auto-generated (auto_id); do not supply it");
                }
            }

        }

        var first = await TakeAutoIdsAsync(database, collection, batch.RowCount, ct).ConfigureAwait(false);
        var keyed = new ColumnBatch(batch.RowCount) { Dynamic = batch.Dynamic };
        foreach (var column in batch.Columns.Where(c => c.Name != pk.Name))
        {
            keyed.Add(column);
        }

        return keyed.Add(new FieldColumn { Name = pk.Name, Longs = [.. Enumerable.Range(0, batch.RowCount).Select(i => first + i)] });
    }

    /// <summary>Reserves <paramref name="count"/> consecutive keys of the auto_id collection <paramref name="collection"/>
    /// from its allocator, as an insert's keys are taken (a bulk-import job takes its rows' keys at once: <see cref="ImportWrites"/>).</summary>
    internal Task<long> TakeAutoIdsAsync(string database, string collection, int count, CancellationToken ct) =>
        Allocators.GetValue(node, n => new AutoIds(n.KeyValue, n.Config.Replicas))
            .TakeAsync(ShardKeys.Storage(node.Config.Cluster, ShardKeys.Of(database, collection)), count, ct);

    /// <summary>Forgets this node's block of keys of a dropped collection.</summary>
    private void ForgetAutoIds(string database, string collection)
    {
        if (Allocators.TryGetValue(node, out var allocator))
        {
            allocator.Forget(ShardKeys.Storage(node.Config.Cluster, ShardKeys.Of(database, collection)));
        }
    }

    /// <summary>An insert's part for one shard as an upsert of the same rows.</summary>
    internal static Protocol.Milvus.UpsertRequest AsUpsert(Protocol.Milvus.InsertRequest insert, IEnumerable<Protocol.Schema.FieldData> fields, int rows)
    {
        var upsert = new Protocol.Milvus.UpsertRequest
        {
            Base = insert.Base,
            DbName = insert.DbName,
            CollectionName = insert.CollectionName,
            PartitionName = insert.PartitionName,
            NumRows = (uint)rows,
        };
        upsert.FieldsData.AddRange(fields);
        return upsert;
    }
}
