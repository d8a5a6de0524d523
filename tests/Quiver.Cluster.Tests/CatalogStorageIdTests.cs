using NATS.Client.KeyValueStore;
using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>The catalog's storage id per collection (<see cref="CollectionCatalog.Entry"/>): a key's value is the shard
/// count as one byte, then the id. Oracles: the bytes the bucket stores, read through NATS.Net's own KV API, and values
/// written byte for byte as the sessions before storage ids wrote them.</summary>
[Collection("Nats")]
public sealed class CatalogStorageIdTests(NatsFixture nats)
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromMinutes(2);

    [NatsFact]
    public async Task AValueOfOneByte_WrittenBeforeStorageIds_HasTheNameAsItsId_ReadOrWatched()
    {
        var cluster = NatsFixture.Unique("catold");
        await using var reader = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        await using var watcher = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        watcher.StartWatching();
        var bucket = await nats.KeyValue.GetStoreAsync($"{cluster}-catalog");
        await WatchingAsync(bucket, watcher);

        // Exactly what CollectionCatalog.AddAsync wrote before storage ids: the shard count alone.
        var revision = await PutUntilWatchedAsync(bucket, watcher, "default", "items", [3]);

        Assert.Equal((3, "items"), await reader.EntryAsync("default", "items", CancellationToken.None));
        Assert.Equal((3, "items"), await reader.EntryAsync("default", "items", CancellationToken.None, fresh: true));
        Assert.Equal(revision, watcher.RevisionOf("default", "items"));
        Assert.Equal((3, "items"), await watcher.EntryAsync("default", "items", CancellationToken.None));
        Assert.Equal(3, await reader.ShardsAsync("default", "items", CancellationToken.None));
    }

    [NatsFact]
    public async Task AnId_IsStoredAfterTheShardCount_AndEveryNodeReadsIt_ReadWatchedAndTouched()
    {
        var cluster = NatsFixture.Unique("catid");
        await using var writer = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        await using var reader = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        await using var watcher = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        watcher.StartWatching();
        var bucket = await nats.KeyValue.GetStoreAsync($"{cluster}-catalog");
        await WatchingAsync(bucket, watcher);

        await writer.AddAsync("db1", "things", 2, CancellationToken.None, id: "things_7");
        var stored = await bucket.GetEntryAsync<byte[]>("db1.things");
        // The first byte is the shard count, as a node of an earlier session reads it; the id follows in UTF-8.
        Assert.Equal([2, .. "things_7"u8.ToArray()], stored.Value);
        Assert.Equal((2, "things_7"), await writer.EntryAsync("db1", "things", CancellationToken.None));
        Assert.Equal((2, "things_7"), await reader.EntryAsync("db1", "things", CancellationToken.None));
        await WaitAsync(() => watcher.RevisionOf("db1", "things") == stored.Revision);
        Assert.Equal((2, "things_7"), await watcher.EntryAsync("db1", "things", CancellationToken.None));

        // A create without an id records the name as the id, explicitly.
        await writer.AddAsync("db1", "plain", 1, CancellationToken.None);
        Assert.Equal([1, .. "plain"u8.ToArray()], (await bucket.GetEntryAsync<byte[]>("db1.plain")).Value);
        Assert.Equal((1, "plain"), await reader.EntryAsync("db1", "plain", CancellationToken.None, fresh: true));

        // A schema change's touch moves the revision and keeps the id; the watch sees the new revision with the same id.
        await reader.TouchAsync("db1", "things", CancellationToken.None);
        var touched = await bucket.GetEntryAsync<byte[]>("db1.things");
        Assert.True(touched.Revision > stored.Revision);
        Assert.Equal(stored.Value, touched.Value);
        Assert.Equal(touched.Revision, reader.RevisionOf("db1", "things"));
        Assert.Equal((2, "things_7"), await reader.EntryAsync("db1", "things", CancellationToken.None));
        await WaitAsync(() => watcher.RevisionOf("db1", "things") == touched.Revision);
        Assert.Equal((2, "things_7"), await watcher.EntryAsync("db1", "things", CancellationToken.None));

        // A drop forgets it everywhere: the name is free, its id answered as the name.
        await writer.RemoveAsync("db1", "things", CancellationToken.None);
        Assert.Equal((0, "things"), await reader.EntryAsync("db1", "things", CancellationToken.None, fresh: true));
        await WaitAsync(() => watcher.RevisionOf("db1", "things") == 0);
        Assert.Equal((0, "things"), await watcher.EntryAsync("db1", "things", CancellationToken.None));
    }

    [Fact]
    public void TheValueFormat_RefusesWhatNoKeyMayHold_AndParsesWhatItWrites()
    {
        Assert.Equal([16, (byte)'_', (byte)'a', (byte)'9'], CollectionCatalog.Entry.Format(16, "_a9"));
        Assert.Equal((16, "_a9"), CollectionCatalog.Entry.Parse(CollectionCatalog.Entry.Format(16, "_a9"), "other"));
        Assert.Equal((1, "name"), CollectionCatalog.Entry.Parse([1], "name"));
        Assert.Equal((0, "name"), CollectionCatalog.Entry.Parse(null, "name"));
        Assert.Equal((0, "name"), CollectionCatalog.Entry.Parse([], "name"));
        Assert.Throws<ArgumentOutOfRangeException>(() => CollectionCatalog.Entry.Format(0, "a"));
        Assert.Throws<ArgumentOutOfRangeException>(() => CollectionCatalog.Entry.Format(CollectionCatalog.MaxShards + 1, "a"));
        // A '-' would let one collection's storage names run into another's (ShardKeys.Storage joins with '-').
        Assert.Throws<ArgumentException>(() => CollectionCatalog.Entry.Format(1, "a-1"));
        Assert.Throws<ArgumentException>(() => CollectionCatalog.Entry.Format(1, "1a"));
        Assert.Throws<ArgumentException>(() => CollectionCatalog.Entry.Format(1, ""));
    }

    /// <summary>Answers once <paramref name="watcher"/>'s watch (updates only, from when it subscribed) delivers changes:
    /// a probe key is put until the watcher has seen one of its puts.</summary>
    internal static async Task WatchingAsync(INatsKVStore bucket, CollectionCatalog watcher)
    {
        using var net = new CancellationTokenSource(SafetyNet);
        while (watcher.RevisionOf("probe", "watch") == 0)
        {
            await bucket.PutAsync("probe.watch", new byte[] { 1 }, cancellationToken: net.Token);
            await Task.Delay(20, net.Token);
        }
    }

    /// <summary>Puts <paramref name="value"/> under the collection's key and answers its revision once the watcher has
    /// seen it.</summary>
    private static async Task<ulong> PutUntilWatchedAsync(INatsKVStore bucket, CollectionCatalog watcher, string database, string collection, byte[] value)
    {
        var revision = await bucket.PutAsync($"{database}.{collection}", value);
        await WaitAsync(() => watcher.RevisionOf(database, collection) == revision);
        return revision;
    }

    /// <summary>Waits until <paramref name="done"/> holds (the watch delivers asynchronously); the safety net only stops a
    /// test that would otherwise hang.</summary>
    internal static async Task WaitAsync(Func<bool> done)
    {
        using var net = new CancellationTokenSource(SafetyNet);
        while (!done())
        {
            await Task.Delay(20, net.Token);
        }
    }
}
