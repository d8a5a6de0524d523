using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using ProtoStatus = Quiver.Protocol.Common.Status;

namespace Quiver.Cluster.Tests;

/// <summary>Reads routed by the catalog entry a node remembers after its collection was dropped and created again through
/// another node, beyond <see cref="AReadByARememberedEntry_AfterADropAndCreateThroughAnotherNode_IsAnsweredByTheNewCollection"/>:
/// a read naming an alias, a read that reaches the dropped shard's grain while it closes, and one that reaches the dropped
/// id after its grain closed, which must create no storage under that id. Over gRPC and REST, on 1 and 3 shards. The first
/// node's catalog never watches the bucket, so nothing reaches it but what it reads; the grains' seams
/// (<see cref="NodeContext.ShardDropStep"/>, <see cref="NodeContext.ShardDeactivated"/>) place each read, with no timing.
/// Oracle: the rows sent to the new collection, exactly.</summary>
public sealed partial class InProcessClusterTests
{
    private static readonly long[] OldKeys = [.. Enumerable.Range(0, 40).Select(i => (long)i)];
    private static readonly long[] NewKeys = [.. Enumerable.Range(100, 20).Select(i => (long)i)];

    [NatsFact]
    public async Task AReadNamingAnAlias_AfterTheCollectionAndAliasWereDroppedAndCreatedThroughAnotherNode_IsAnsweredByTheNewCollection()
    {
        await using var cluster = await StartAsync();
        var (first, second, otherCatalog) = await TwoAccessLayersAsync(cluster);
        await using var _ = otherCatalog;
        await using var rest = await RestNodeAsync(cluster, first);
        foreach (var (overRest, shards) in Transports())
        {
            var name = $"aliased_{(overRest ? "rest" : "grpc")}_{shards}";
            var alias = $"alias_of_{name}";
            await CreateFilledAsync(first, name, shards, OldKeys);
            AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(first, "CreateAlias", new CreateAliasRequest { CollectionName = name, Alias = alias })));
            Assert.Equal(OldKeys, await ReadKeysAsync(first, rest, overRest, alias));
            var remembered = (await _context!.Catalog.EntryAsync("default", name, CancellationToken.None)).Id;

            // Through the other node: the alias and the collection dropped, both created again, the collection with other rows.
            AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(second, "DropAlias", new DropAliasRequest { Alias = alias })));
            AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(second, "DropCollection", new DropCollectionRequest { CollectionName = name })));
            await CreateFilledAsync(second, name, shards, NewKeys);
            AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(second, "CreateAlias", new CreateAliasRequest { CollectionName = name, Alias = alias })));
            Assert.Equal(remembered, (await _context!.Catalog.EntryAsync("default", name, CancellationToken.None)).Id);

            // The read naming the alias answers the new collection after one re-read of its entry; then none.
            var retries = Retries(first, rest, overRest);
            Assert.Equal(NewKeys, await ReadKeysAsync(first, rest, overRest, alias));
            Assert.Equal(retries + 1, Retries(first, rest, overRest));
            Assert.NotEqual(remembered, (await _context!.Catalog.EntryAsync("default", name, CancellationToken.None)).Id);
            Assert.Equal(NewKeys, await ReadKeysAsync(first, rest, overRest, alias));
            Assert.Equal(retries + 1, Retries(first, rest, overRest));
        }
    }

    [NatsFact]
    public async Task AReadReachingTheDroppedShardsGrainWhileItCloses_IsRoutedAgainByTheCurrentEntry()
    {
        await using var cluster = await StartAsync();
        var (first, second, otherCatalog) = await TwoAccessLayersAsync(cluster);
        await using var _ = otherCatalog;
        await using var rest = await RestNodeAsync(cluster, first);
        // Every dropped shard's grain stops once it answers calls that it was dropped and closed its engine, as when deleting
        // its storage outlasts the drop's wait for it: the drop goes on (the storage is left) and the grain stays, closing.
        _context!.ShardDropStep = key => Task.FromException(new TimeoutException($"the test holds '{key}' closing"));
        var closing = new List<string>();
        foreach (var (overRest, shards) in Transports())
        {
            var name = $"closing_{(overRest ? "rest" : "grpc")}_{shards}";
            await CreateFilledAsync(first, name, shards, OldKeys);
            Assert.Equal(OldKeys, await ReadKeysAsync(first, rest, overRest, name));
            var remembered = (await _context.Catalog.EntryAsync("default", name, CancellationToken.None)).Id;
            AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(second, "DropCollection", new DropCollectionRequest { CollectionName = name })));
            await CreateFilledAsync(second, name, shards, NewKeys);

            // Each old shard's grain is still there and answers that it was dropped.
            var keys = ShardKeysOf(remembered, shards);
            closing.AddRange(keys);
            foreach (var key in keys)
            {
                var refused = await Assert.ThrowsAsync<QuiverException>(() => cluster.Client.GetGrain<IShardGrain>(key).ReadyAsync());
                Assert.Equal(ShardGrain.Dropped(key).Message, refused.Message);
            }

            var retries = Retries(first, rest, overRest);
            Assert.Equal(NewKeys, await ReadKeysAsync(first, rest, overRest, name));
            Assert.Equal(retries + 1, Retries(first, rest, overRest));
        }

        // The storage the held drops left is deleted now.
        _context.ShardDropStep = null;
        foreach (var key in closing)
        {
            await cluster.Client.GetGrain<IShardStorageGrain>(key).DropStorageAsync();
        }
    }

    [NatsFact]
    public async Task AReadByARememberedEntry_AfterTheDroppedShardsGrainClosed_CreatesNoStorageUnderTheDroppedId()
    {
        await using var cluster = await StartAsync();
        var (first, second, otherCatalog) = await TwoAccessLayersAsync(cluster);
        await using var _ = otherCatalog;
        await using var rest = await RestNodeAsync(cluster, first);
        var deactivated = new ConcurrentDictionary<string, TaskCompletionSource>(StringComparer.Ordinal);
        _context!.ShardDeactivated = key => deactivated.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        foreach (var (overRest, shards) in Transports())
        {
            var name = $"gone_{(overRest ? "rest" : "grpc")}_{shards}";
            await CreateFilledAsync(first, name, shards, OldKeys);
            Assert.Equal(OldKeys, await ReadKeysAsync(first, rest, overRest, name));
            var remembered = (await _context.Catalog.EntryAsync("default", name, CancellationToken.None)).Id;
            var keys = ShardKeysOf(remembered, shards);
            AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(second, "DropCollection", new DropCollectionRequest { CollectionName = name })));
            await CreateFilledAsync(second, name, shards, NewKeys);
            // Each old shard's grain has gone (the wait only bounds a hang), so the read below activates each anew.
            await Task.WhenAll(keys.Select(k => deactivated.GetOrAdd(k, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task)).WaitAsync(TimeSpan.FromMinutes(3));
            foreach (var key in keys)
            {
                Assert.Empty(await StorageOf(key));
            }

            var retries = Retries(first, rest, overRest);
            Assert.Equal(NewKeys, await ReadKeysAsync(first, rest, overRest, name));
            Assert.Equal(retries + 1, Retries(first, rest, overRest));

            // Nothing of the dropped id came back: no stream, bucket or object store, no placement record, no folder.
            foreach (var key in keys)
            {
                Assert.Empty(await StorageOf(key));
            }
        }
    }

    /// <summary>Each transport (gRPC, then REST) with a collection of 1 and of 3 shards.</summary>
    private static (bool OverRest, int Shards)[] Transports() => [(false, 1), (false, 3), (true, 1), (true, 3)];

    /// <summary>The grain keys of the <paramref name="shards"/> shards of storage id <paramref name="id"/> in the default database.</summary>
    private static string[] ShardKeysOf(string id, int shards) =>
        [.. Enumerable.Range(0, shards).Select(s => s == 0 ? $"default/{id}" : $"default/{id}/{s}")];

    /// <summary>What exists of shard <paramref name="key"/>'s storage: its JetStream streams (logs, buckets, object store),
    /// its placement record and its folders under any silo's data path.</summary>
    private static async Task<List<string>> StorageOf(string key)
    {
        var name = ShardKeys.Storage(_context!.Config.Cluster, key);
        var found = await ShardStorage.StreamsAsync(_context.JetStream, name, CancellationToken.None);
        if (await KvLeaderReads.ValueAsync(_context.Placement, key, CancellationToken.None) is not null)
        {
            found.Add($"placement record {key}");
        }

        var data = Path.GetFullPath(_context.Config.DataPath);
        if (Directory.Exists(data))
        {
            found.AddRange(Directory.EnumerateDirectories(data, $"{name}-*", SearchOption.AllDirectories).Where(d => Path.GetFileName(d).Length == name.Length + 33));
        }

        return found;
    }

    /// <summary>Every key of <paramref name="name"/> (a collection or an alias) through the first node, by a strong query
    /// over gRPC (<paramref name="first"/>) or REST (<paramref name="rest"/>), in order.</summary>
    private static async Task<long[]> ReadKeysAsync(MilvusRouting first, RestNode rest, bool overRest, string name) => overRest
        ? [.. Keys(await rest.CallAsync("/entities/query", new JsonObject { ["collectionName"] = name, ["filter"] = "id >= 0", ["outputFields"] = new JsonArray("id"), ["limit"] = 100, ["consistencyLevel"] = "Strong" })).Order()]
        : await IdsAsync(first, name);

    /// <summary>How many reads the first node routed again, over the transport named.</summary>
    private static int Retries(MilvusRouting first, RestNode rest, bool overRest) => overRest ? rest.Routing.StaleEntryRetries : first.StaleEntryRetries;
}
