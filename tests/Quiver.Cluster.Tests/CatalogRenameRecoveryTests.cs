using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>A rename whose renamer stops between its catalog writes (<see cref="CollectionCatalog.BeginRenameAsync"/>,
/// <see cref="CollectionCatalog.FinishRenameAsync"/>), as when its node dies, on a real 3-server JetStream: the step seam
/// throws after the chosen write, so the renamer writes nothing more, with no timing. Another catalog on the same bucket
/// (another node) then settles the records (<see cref="CollectionCatalog.SettleAsync"/>) by its start's sweep, by a
/// create of either name or by a rename. Oracle: a model of the rename as one moment. A rename whose records remain is
/// carried on to its end, where readers find the new name only, with the same shard count and id, the alias moved, the
/// old name free for a create and no record left. A rename whose source no longer holds the collection leaves nothing.</summary>
[Collection("Nats")]
public sealed class CatalogRenameRecoveryTests(NatsFixture nats)
{
    private static readonly string[] Steps = ["pending", "renamed", "aliases", "plain"];

    [NatsFact]
    public async Task ARenamerStoppedAfterAnyWrite_IsFinishedByTheNextNodesSweep()
    {
        var cluster = NatsFixture.Unique("catrec");
        await using var renamer = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        var bucket = await nats.KeyValue.GetStoreAsync($"{cluster}-catalog");
        foreach (var step in Steps)
        {
            await StopAtAsync(renamer, step, $"a_{step}", $"b_{step}", id: $"a_{step}_1");
        }

        await using var next = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        Assert.Equal(Steps.Length, await next.SettleRenamesAsync(CancellationToken.None));
        foreach (var step in Steps)
        {
            await AssertRenamedAsync(next, bucket, $"a_{step}", $"b_{step}", $"a_{step}_1");
        }

        Assert.Equal(0, await next.SettleRenamesAsync(CancellationToken.None));
        Assert.Equal(Steps.Select(s => $"b_{s}").Order(StringComparer.Ordinal).ToArray(), await next.ListAsync("db1", CancellationToken.None));
    }

    [NatsFact]
    public async Task ARenamerStoppedAfterAnyWrite_IsFinishedByTheNextCreateOrRenameOfEitherName()
    {
        var cluster = NatsFixture.Unique("catrecw");
        await using var renamer = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        await using var next = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        var bucket = await nats.KeyValue.GetStoreAsync($"{cluster}-catalog");
        foreach (var step in Steps)
        {
            // A create of the new name: the rename is carried on, so the name is taken by the renamed collection (after
            // "plain" the old name's record is left to the sweep or a create of the old name: it blocks nothing else).
            await StopAtAsync(renamer, step, $"c_{step}", $"d_{step}", id: $"c_{step}_1");
            Assert.False(await next.AddAsync("db1", $"d_{step}", 1, CancellationToken.None, id: $"d_{step}_9"));
            Assert.Equal((3, $"c_{step}_1"), await next.EntryAsync("db1", $"d_{step}", CancellationToken.None, fresh: true));
            Assert.Equal((0, $"c_{step}"), await next.EntryAsync("db1", $"c_{step}", CancellationToken.None, fresh: true));
            Assert.Equal($"d_{step}", await next.AliasTargetAsync("db1", $"al_c_{step}", CancellationToken.None));

            // A create of the old name. After the moment the rename is carried on, and the old name is free for the
            // create. Before it the old name still holds the collection, so the create is refused as a create of an
            // existing name (the rename is left to the sweep below).
            await StopAtAsync(renamer, step, $"e_{step}", $"f_{step}", id: $"e_{step}_1");
            var created = await next.AddAsync("db1", $"e_{step}", 1, CancellationToken.None, id: $"e_{step}_9");
            Assert.Equal(step != "pending", created);
            Assert.Equal(step == "pending" ? (0, $"f_{step}") : (3, $"e_{step}_1"), await next.EntryAsync("db1", $"f_{step}", CancellationToken.None, fresh: true));
            Assert.Equal(step == "pending" ? (3, $"e_{step}_1") : (1, $"e_{step}_9"), await next.EntryAsync("db1", $"e_{step}", CancellationToken.None, fresh: true));

            // A rename of the old name to a third. After the stopped rename's moment, it is carried on first, so the old
            // name is missing. Before it, the old name still holds the collection, and this rename takes it: the stopped
            // one's pending record can then no longer happen and is given up.
            await StopAtAsync(renamer, step, $"g_{step}", $"h_{step}", id: $"g_{step}_1");
            var third = await next.BeginRenameAsync("db1", $"g_{step}", $"i_{step}", CancellationToken.None);
            if (step == "pending")
            {
                Assert.Equal((RenameStart.Started, 3, $"g_{step}_1"), third);
                await next.FinishRenameAsync("db1", $"g_{step}", $"i_{step}", CancellationToken.None);
                Assert.True(await next.SettleAsync("db1", $"h_{step}", CancellationToken.None));
                Assert.Null((await KvLeaderReads.GetAsync(bucket, $"db1.h_{step}")).Value);
                Assert.Equal((3, $"g_{step}_1"), await next.EntryAsync("db1", $"i_{step}", CancellationToken.None, fresh: true));
            }
            else
            {
                Assert.Equal(RenameStart.SourceMissing, third.Outcome);
                await AssertRenamedAsync(next, bucket, $"g_{step}", $"h_{step}", $"g_{step}_1");
                Assert.Null((await KvLeaderReads.GetAsync(bucket, $"db1.i_{step}")).Value);
            }

            // A rename of the new name to a third: carried on first, then renamed again.
            await StopAtAsync(renamer, step, $"j_{step}", $"k_{step}", id: $"j_{step}_1");
            Assert.Equal((RenameStart.Started, 3, $"j_{step}_1"), await next.BeginRenameAsync("db1", $"k_{step}", $"l_{step}", CancellationToken.None));
            await next.FinishRenameAsync("db1", $"k_{step}", $"l_{step}", CancellationToken.None);
            Assert.Equal((3, $"j_{step}_1"), await next.EntryAsync("db1", $"l_{step}", CancellationToken.None, fresh: true));
            Assert.Equal((0, $"k_{step}"), await next.EntryAsync("db1", $"k_{step}", CancellationToken.None, fresh: true));
            Assert.Null((await KvLeaderReads.GetAsync(bucket, $"db1.k_{step}")).Value);
        }

        // What the sweep settles: the records a create or rename of the new name leaves after "plain" (the old names
        // c_plain and j_plain keep theirs, which no reader takes as a collection), and the rename of e_pending.
        Assert.Equal(3, await next.SettleRenamesAsync(CancellationToken.None));
        Assert.Null((await KvLeaderReads.GetAsync(bucket, "db1.c_plain")).Value);
        Assert.Null((await KvLeaderReads.GetAsync(bucket, "db1.j_plain")).Value);
        await AssertRenamedAsync(next, bucket, "e_pending", "f_pending", "e_pending_1");
        Assert.Equal(0, await next.SettleRenamesAsync(CancellationToken.None));
    }

    [NatsFact]
    public async Task ARenamerStillAtWork_AndANodeSettlingItsRecords_AtEachWrite_EndInOneRename()
    {
        var cluster = NatsFixture.Unique("catrecl");
        await using var renamer = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        await using var other = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        var bucket = await nats.KeyValue.GetStoreAsync($"{cluster}-catalog");
        foreach (var step in Steps)
        {
            var (from, to, id) = ($"m_{step}", $"n_{step}", $"m_{step}_1");
            await renamer.AddAsync("db1", from, 3, CancellationToken.None, id);
            await renamer.SetAliasAsync("db1", $"al_{from}", from, CancellationToken.None);
            var settled = 0;
            // The other node settles while the renamer is held after this write, then the renamer goes on with its
            // next write, which the other node may have made already.
            renamer.RenameStep = async s => settled += s == step ? await other.SettleRenamesAsync(CancellationToken.None) : 0;
            Assert.Equal((RenameStart.Started, 3, id), await renamer.BeginRenameAsync("db1", from, to, CancellationToken.None));
            await renamer.FinishRenameAsync("db1", from, to, CancellationToken.None);
            renamer.RenameStep = null;
            Assert.Equal(1, settled);
            await AssertRenamedAsync(other, bucket, from, to, id);
            await AssertRenamedAsync(renamer, bucket, from, to, id);
        }
    }

    [NatsFact]
    public async Task ARecordWhoseRenameCanNoLongerHappen_IsGivenUp_AndBothNamesAreFree()
    {
        var cluster = NatsFixture.Unique("catrecs");
        await using var renamer = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        await using var other = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        var bucket = await nats.KeyValue.GetStoreAsync($"{cluster}-catalog");

        // Stopped after its pending record, then the source dropped through another node: nothing to rename.
        await StopAtAsync(renamer, "pending", "p", "q", id: "p_1");
        await other.RemoveAsync("db1", "p", CancellationToken.None);
        Assert.Equal(1, await other.SettleRenamesAsync(CancellationToken.None));
        Assert.Null((await KvLeaderReads.GetAsync(bucket, "db1.q")).Value);
        Assert.True(await other.AddAsync("db1", "q", 1, CancellationToken.None, id: "q"));

        // Stopped after its pending record, then the source dropped and created again (another id): the pending record
        // is given up by the next create of its name, which then takes it.
        await StopAtAsync(renamer, "pending", "r", "s", id: "r_1");
        await other.RemoveAsync("db1", "r", CancellationToken.None);
        Assert.True(await other.AddAsync("db1", "r", 2, CancellationToken.None, id: "r_2"));
        Assert.True(await other.AddAsync("db1", "s", 1, CancellationToken.None, id: "s"));
        Assert.Equal((2, "r_2"), await other.EntryAsync("db1", "r", CancellationToken.None, fresh: true));

        // Stopped after the moment, then the new name dropped: the old name's record is given up, the name is free.
        await StopAtAsync(renamer, "renamed", "t", "u", id: "t_1");
        await other.RemoveAsync("db1", "u", CancellationToken.None);
        Assert.True(await other.AddAsync("db1", "t", 1, CancellationToken.None, id: "t_2"));
        Assert.Equal((0, "u"), await other.EntryAsync("db1", "u", CancellationToken.None, fresh: true));
        Assert.Equal(0, await other.SettleRenamesAsync(CancellationToken.None));
        Assert.Equal(new[] { "q", "r", "s", "t" }, await other.ListAsync("db1", CancellationToken.None));
    }

    /// <summary>Creates <paramref name="from"/> (3 shards, storage <paramref name="id"/>, with the alias
    /// <c>al_{from}</c>) and renames it to <paramref name="to"/> as the RPC does, the renamer stopping (throwing) right
    /// after its write <paramref name="step"/>, so that nothing after it is written.</summary>
    private static async Task StopAtAsync(CollectionCatalog renamer, string step, string from, string to, string id)
    {
        Assert.True(await renamer.AddAsync("db1", from, 3, CancellationToken.None, id));
        await renamer.SetAliasAsync("db1", $"al_{from}", from, CancellationToken.None);
        renamer.RenameStep = s => s == step ? throw new RenamerStopped() : Task.CompletedTask;
        await Assert.ThrowsAsync<RenamerStopped>(async () =>
        {
            Assert.Equal(RenameStart.Started, (await renamer.BeginRenameAsync("db1", from, to, CancellationToken.None)).Outcome);
            await renamer.FinishRenameAsync("db1", from, to, CancellationToken.None);
        });
        renamer.RenameStep = null;
    }

    /// <summary>Asserts the end of a rename of <paramref name="from"/> (3 shards, storage <paramref name="id"/>, alias
    /// <c>al_{from}</c>) to <paramref name="to"/>: the new name found with its count and id, the old name not; the new
    /// key plain, the old key gone; the alias stored as naming the new name.</summary>
    private static async Task AssertRenamedAsync(CollectionCatalog catalog, NATS.Client.KeyValueStore.INatsKVStore bucket, string from, string to, string id)
    {
        Assert.Equal((3, id), await catalog.EntryAsync("db1", to, CancellationToken.None, fresh: true));
        Assert.Equal((0, from), await catalog.EntryAsync("db1", from, CancellationToken.None, fresh: true));
        Assert.Equal(CollectionCatalog.Entry.Format(3, id), (await KvLeaderReads.GetAsync(bucket, $"db1.{to}")).Value);
        Assert.Null((await KvLeaderReads.GetAsync(bucket, $"db1.{from}")).Value);
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(to), (await KvLeaderReads.GetAsync(bucket, $"-alias.db1.al_{from}")).Value);
    }

    private sealed class RenamerStopped : Exception;
}
