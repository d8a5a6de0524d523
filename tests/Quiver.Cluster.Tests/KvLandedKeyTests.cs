using System.Text;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster.Tests;

/// <summary>The KV key whose compare-and-set writes stand on nats-server 2.9.10 (<see cref="KvLandedKey"/>), and the
/// leader reads under it (<see cref="KvLeaderReads"/>). Oracles: the revisions and values the server stores, read
/// through NATS.Net's own KV API.</summary>
[Collection("Nats")]
public sealed class KvLandedKeyTests(NatsFixture nats)
{
    private const string Key = "k";

    private async Task<INatsKVStore> BucketAsync() =>
        await nats.KeyValue.CreateStoreAsync(new NatsKVConfig(NatsFixture.Unique("landed")) { NumberOfReplicas = 3, History = KvLandedKey.History });

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string? Text(byte[]? state) => state is null ? null : Encoding.UTF8.GetString(state);

    [NatsFact]
    public async Task WriteWhoseAnswerWasLost_AnswersLanded_AndARetryToo()
    {
        foreach (var loss in new[] { LostAnswers.Loss.Timeout, LostAnswers.Loss.Resent })
        {
            var bucket = await BucketAsync();
            var (store, proxy) = LostAnswers.Over(bucket);
            var key = new KvLandedKey(store, Key);
            Assert.True(await key.WriteAsync(Bytes("a"), 0, CancellationToken.None));

            // The second write is stored and its answer lost: the revision it named holds these bytes, so it landed.
            proxy.LoseNext(loss);
            Assert.True(await key.WriteAsync(Bytes("b"), 1, CancellationToken.None));
            Assert.Equal(1, proxy.Lost);

            // A caller that retries the same write after the lost answer is told the same.
            Assert.True(await key.WriteAsync(Bytes("b"), 1, CancellationToken.None));

            // Another value against the same revision did not land: "b" is there.
            Assert.False(await key.WriteAsync(Bytes("c"), 1, CancellationToken.None));
            var read = await key.ReadAsync(CancellationToken.None);
            Assert.Equal("b", Text(read.State));
            var stored = await bucket.GetEntryAsync<byte[]>(Key);
            Assert.Equal(2UL, stored.Revision);
            Assert.Equal(2UL, read.Head);
            Assert.Equal("b", Text(KvLandedKey.Landed(stored.Value, stored.Revision)));
        }
    }

    /// <summary>CI saw a security change refused as "not stored" on a loaded machine (NATS answered nothing and the
    /// revision held nothing yet): an unanswered write whose revision is still empty is sent again, which is safe (the
    /// same bytes against the same revision land once), rather than given up at once.</summary>
    [NatsFact]
    public async Task WriteThatNeverReachedTheServer_IsSentAgain_AndLandsOnce()
    {
        var bucket = await BucketAsync();
        var (store, proxy) = LostAnswers.Over(bucket);
        var key = new KvLandedKey(store, Key);
        Assert.True(await key.WriteAsync(Bytes("a"), 0, CancellationToken.None));

        proxy.LoseNext(LostAnswers.Loss.Dropped);
        Assert.True(await key.WriteAsync(Bytes("b"), 1, CancellationToken.None));
        Assert.Equal(1, proxy.Lost);
        var stored = await bucket.GetEntryAsync<byte[]>(Key);
        Assert.Equal(2UL, stored.Revision);
        Assert.Equal("b", Text(KvLandedKey.Landed(stored.Value, stored.Revision)));

        // Against a revision already taken, the resent write is told it did not land.
        proxy.LoseNext(LostAnswers.Loss.Dropped);
        Assert.False(await key.WriteAsync(Bytes("c"), 1, CancellationToken.None));
        Assert.Equal("b", Text((await key.ReadAsync(CancellationToken.None)).State));
    }

    [NatsFact]
    public async Task ValueStoredOverAChangeItDidNotSee_IsSkipped_AndItsWriterToldItDidNotLand()
    {
        var bucket = await BucketAsync();
        var key = new KvLandedKey(bucket, Key);
        Assert.Equal(new LandedRead(null, 0), await key.ReadAsync(CancellationToken.None));
        Assert.True(await key.WriteAsync(Bytes("a"), 0, CancellationToken.None));

        // The server trap: two writers both built on revision 1, and both stored (at 2 and 3).
        Assert.Equal(2UL, await bucket.PutAsync(Key, KvLandedKey.Stamp(Bytes("b"), 2)));
        Assert.Equal(3UL, await bucket.PutAsync(Key, KvLandedKey.Stamp(Bytes("c"), 2)));
        var read = await key.ReadAsync(CancellationToken.None);
        Assert.Equal("b", Text(read.State));
        Assert.Equal(3UL, read.Head);

        // A writer that read revision 1 is refused; one that read the head lands.
        Assert.False(await key.WriteAsync(Bytes("d"), 1, CancellationToken.None));
        Assert.True(await key.WriteAsync(Bytes("d"), 3, CancellationToken.None));
        var d = await key.ReadAsync(CancellationToken.None);
        Assert.Equal("d", Text(d.State));
        Assert.Equal(4UL, d.Head);

        // A purge leaves nothing stored; the next write lands after the purge's revision.
        await bucket.PurgeAsync(Key);
        var purged = await key.ReadAsync(CancellationToken.None);
        Assert.Null(purged.State);
        Assert.Equal(5UL, purged.Head);
        Assert.True(await key.WriteAsync(Bytes("e"), purged.Head, CancellationToken.None));
        Assert.Equal("e", Text((await key.ReadAsync(CancellationToken.None)).State));
    }

    [NatsFact]
    public async Task LeaderReads_AnswerAsTheKvApi_ForPutsDeletesPurgesAndMissingKeys()
    {
        var bucket = await BucketAsync();
        Assert.Equal(default, await KvLeaderReads.GetAsync(bucket, "never", 0, CancellationToken.None));
        await bucket.PutAsync("x", Bytes("one"));
        await bucket.PutAsync("y", Bytes("other"));
        await bucket.PutAsync("x", Bytes("two"));
        await bucket.DeleteAsync("y");
        await bucket.PutAsync("z", Bytes("three"));
        await bucket.PurgeAsync("z");

        foreach (var k in new[] { "x", "y", "z", "never" })
        {
            var leader = await KvLeaderReads.GetAsync(bucket, k, 0, CancellationToken.None);
            var api = await bucket.TryGetEntryAsync<byte[]>(k);
            switch (api.Success ? null : api.Error)
            {
                case null:
                    Assert.Equal(api.Value.Revision, leader.Revision);
                    Assert.Equal(api.Value.Value, leader.Value);
                    Assert.False(leader.Deleted);
                    break;
                case NatsKVKeyDeletedException deleted:
                    Assert.Equal(deleted.Revision, leader.Revision);
                    Assert.True(leader.Deleted);
                    Assert.Null(leader.Value);
                    break;
                default:
                    Assert.IsType<NatsKVKeyNotFoundException>(api.Error);
                    Assert.Equal(default, leader);
                    break;
            }
        }

        // At a revision: the entry stored there if it is the key's, else nothing.
        Assert.Equal("one", Text((await KvLeaderReads.GetAsync(bucket, "x", 1, CancellationToken.None)).Value));
        Assert.Equal(default, await KvLeaderReads.GetAsync(bucket, "x", 2, CancellationToken.None));
        Assert.Equal("two", Text((await KvLeaderReads.GetAsync(bucket, "x", 3, CancellationToken.None)).Value));
        Assert.True((await KvLeaderReads.GetAsync(bucket, "y", 4, CancellationToken.None)).Deleted);
        Assert.Equal(default, await KvLeaderReads.GetAsync(bucket, "x", 99, CancellationToken.None));
    }

    [NatsFact]
    public async Task ManifestWriteWhoseAnswerWasLost_Stands()
    {
        foreach (var loss in new[] { LostAnswers.Loss.Timeout, LostAnswers.Loss.Resent })
        {
            var bucket = await nats.KeyValue.CreateStoreAsync(new NatsKVConfig(NatsFixture.Unique("meta")) { NumberOfReplicas = 3 });
            var (store, proxy) = LostAnswers.Over(bucket);
            var meta = KvMetaStore.Over(store, "manifest", TimeSpan.FromSeconds(30));
            meta.Write(new Quiver.Catalog.ManifestData { NextId = 1 });
            proxy.LoseNext(loss);
            meta.Write(new Quiver.Catalog.ManifestData { NextId = 2 });
            Assert.Equal(1, proxy.Lost);
            Assert.Equal((await bucket.GetEntryAsync<byte[]>("manifest")).Revision, meta.Revision);
            meta.Write(new Quiver.Catalog.ManifestData { NextId = 3 });
            Assert.Equal(3, KvMetaStore.Over(bucket, "manifest", TimeSpan.FromSeconds(30)).Read()!.NextId);
        }
    }

    private static byte[] Record(string name) => Encoding.UTF8.GetBytes($$"""{"name":"{{name}}"}""");

    private static string? Name(LandedRecord? read) =>
        read is { } landed ? System.Text.Json.Nodes.JsonNode.Parse(landed.Value)!["name"]!.GetValue<string>() : null;

    /// <summary>Records of a many-keys bucket (<see cref="KvLandedRecords"/>): a record is written (revision 1), then deleted over it (2; a shard done with a job), and a value written
    /// over revision 1 by a writer that had not seen the delete is stored after it (3: its pre-check passed before the
    /// delete was stored). The delete landed, the late value did not: the record reads as none, and a value written over
    /// the head lands. Before deletes counted in the walk, the reader skipped the delete and answered the value at
    /// revision 1, a record already deleted.</summary>
    [NatsFact]
    public async Task AValueStoredAfterADeleteItDidNotSee_DidNotLand_TheRecordIsGone()
    {
        var store = await BucketAsync();
        var first = KvLandedRecords.Stamp(Record("first"), 0);
        Assert.Equal(1UL, await KvLandedRecords.WriteAsync(store, Key, first, 0, CancellationToken.None));
        Assert.Equal("first", Name(await KvLandedRecords.ReadAsync(store, Key, CancellationToken.None)));

        await store.DeleteAsync(Key, new NatsKVDeleteOpts { Revision = 1 });
        Assert.Equal(3UL, await store.PutAsync(Key, KvLandedRecords.Stamp(Record("late"), 1)));

        Assert.Null(await KvLandedRecords.ReadAsync(store, Key, CancellationToken.None));
        var next = KvLandedRecords.Stamp(Record("next"), 3);
        Assert.Equal(4UL, await KvLandedRecords.WriteAsync(store, Key, next, 3, CancellationToken.None));
        var read = await KvLandedRecords.ReadAsync(store, Key, CancellationToken.None);
        Assert.Equal(("next", 4UL, 4UL), (Name(read), read!.Value.Revision, read.Value.Head));
    }
}
