using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster.Nodes;

/// <summary>The keys of an <c>auto_id</c> collection with several shards, unique across its shards and the nodes that
/// insert into it: Milvus's proxies take blocks of IDs from one global allocator (root coordinator's, kept in etcd) and
/// route each row by its key's hash; so does a node. The allocator is one <see cref="KvLandedKey"/>, <c>next</c>, of the
/// collection's own KV bucket <c>{shard 0's storage name}-autoids</c> (deleted with the collection's other buckets),
/// holding the first key not yet handed out. A node reserves a block of at least <see cref="Block"/> keys by
/// compare-and-set of that value and hands keys out of the block in memory. The first value is the current Unix time in
/// milliseconds shifted left by 18 bits, the form of Milvus's (and the standalone engine's) timestamp-based keys.
/// Why compare-and-set on one key rather than fixed per-shard or per-node ranges: rows must be routed by their key's
/// hash (upserts and deletes find them that way), so the key has to exist before the shard is chosen, and any node may
/// insert; ranges per node would need node numbers that survive restarts, which Orleans's membership does not give.
/// nats-server before 2.9.21 checks the expected revision outside the replicated write (docs/cluster.md), so racing
/// updates can all be stored, the later ones built on a value older than the one before them (a plain key then went
/// back to a smaller value and handed out a kept block again). <see cref="KvLandedKey"/> stamps each value with the
/// revision it must land at: a reservation counts only when it landed there, and readers take the latest value that
/// landed, walking back past the ones that did not. Each value also carries a random tag, so two nodes that write the
/// same next value against the same revision are told apart when a write's outcome is settled by reading the bytes at
/// its revision (without it both would take the block).
/// Why not blocks from the write's stream sequence (no compare-and-set at all): each block would need a fixed size as
/// large as the largest request (an import reserves all its rows at once), wasting most of the key space per node
/// start; here keys stay dense and in the timestamp form, and the cost of a race is a re-read, rare at one reservation
/// per 10,000 keys per node.</summary>
/// <param name="kv">The cluster's KV context.</param>
/// <param name="replicas">Replicas of each allocator bucket.</param>
/// <param name="start">The first value of a fresh allocator (null: the timestamp form above); import job ids start at 1.</param>
/// <param name="open">Opens a storage's allocator bucket (null: <see cref="OpenAsync"/>); tests give their own.</param>
internal sealed class AutoIds(INatsKVContext kv, int replicas, long? start = null, Func<string, CancellationToken, Task<INatsKVStore>>? open = null)
{
    /// <summary>The fewest keys a node reserves at once.</summary>
    public const int Block = 10_000;

    private const string Key = "next";
    private static readonly TimeSpan RetryTimeout = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, (long Next, long End)> _blocks = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _lock = new(1, 1);

    /// <summary>The allocator's bucket for the collection whose shard 0 has storage name <paramref name="storage"/>.</summary>
    public static string Bucket(string storage) => $"{storage}-autoids";

    /// <summary>The bucket of the allocator before it kept landed values (one plain key <c>next</c>, history 1): read
    /// once, when the new allocator starts, so that keys and job ids go on above the ones it handed out.</summary>
    public static string LegacyBucket(string storage) => $"{storage}-ids";

    /// <summary>Opens (creating if needed) the allocator bucket of <paramref name="storage"/>, with the history a
    /// <see cref="KvLandedKey"/> walks back through.</summary>
    public static Task<INatsKVStore> OpenAsync(INatsKVContext kv, string storage, int replicas, CancellationToken ct) =>
        KvBuckets.OpenAsync(kv, Bucket(storage), replicas, RetryTimeout, ct, KvLandedKey.History);

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
        var key = new KvLandedKey(open is null ? await OpenAsync(kv, storage, replicas, ct).ConfigureAwait(false) : await open(storage, ct).ConfigureAwait(false), Key);
        while (true)
        {
            // Reads go to the stream's leader (KvLandedKey): a replica behind it would answer an older value and
            // revision, which the compare-and-set refuses again and again until that replica catches up.
            var read = await Retry.UntilAsync(RetryTimeout, key.ReadAsync, ct).ConfigureAwait(false);
            var first = read.State is { } state
                ? BinaryPrimitives.ReadInt64LittleEndian(state)
                : await Retry.UntilAsync(RetryTimeout, c => FreshAsync(storage, c), ct).ConfigureAwait(false);
            var next = new byte[8 + 16];
            BinaryPrimitives.WriteInt64LittleEndian(next, checked(first + size));
            Guid.NewGuid().TryWriteBytes(next.AsSpan(8));
            // A write whose outcome stays unknown after KvLandedKey's own retries is read again: if it landed unseen,
            // its block is only wasted.
            if (await Retry.UntilAsync(RetryTimeout, c => key.WriteAsync(next, read.Head, c), ct).ConfigureAwait(false))
            {
                return first;
            }
        }
    }

    /// <summary>The first value of an allocator that holds none: <c>start</c> (or the timestamp form), or the value of
    /// the legacy allocator's key when that bucket exists and holds more.</summary>
    private async Task<long> FreshAsync(string storage, CancellationToken ct)
    {
        var fresh = start ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 18;
        INatsKVStore legacy;
        try
        {
            legacy = await kv.GetStoreAsync(LegacyBucket(storage), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NatsKVException or NATS.Client.JetStream.NatsJSApiException { Error.Code: 404 })
        {
            return fresh;
        }

        var value = await KvLeaderReads.ValueAsync(legacy, Key, ct).ConfigureAwait(false);
        return value is { Length: > 0 } ? Math.Max(fresh, long.Parse(Encoding.ASCII.GetString(value), NumberStyles.None, CultureInfo.InvariantCulture)) : fresh;
    }
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
