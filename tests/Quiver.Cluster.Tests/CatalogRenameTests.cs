using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>The catalog's rename (<see cref="CollectionCatalog.BeginRenameAsync"/>, <see cref="CollectionCatalog.FinishRenameAsync"/>)
/// on a real 3-server JetStream: two catalogs on one bucket are two nodes, and the rename's step seam holds it at each of
/// its writes, so another node reads (or races) it there, with no timing. Oracle: a model of the rename as one moment,
/// the compare-and-set of the source's key: before it every reader finds the old name only, after it the new name only,
/// with the same shard count and storage id, listings and aliases included.</summary>
[Collection("Nats")]
public sealed class CatalogRenameTests(NatsFixture nats)
{
    [NatsFact]
    public async Task ARename_IsOneMomentForEveryReader_NeverBothNamesNorNeither_AtEachOfItsWrites()
    {
        var cluster = NatsFixture.Unique("catren");
        await using var renamer = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        await using var reader = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        var bucket = await nats.KeyValue.GetStoreAsync($"{cluster}-catalog");
        // A collection as an earlier session recorded it: the shard count alone (its id is its name, not reserved).
        await bucket.PutAsync("db1.old", new byte[] { 2 });
        await renamer.AddAsync("db1", "other", 1, CancellationToken.None);
        await renamer.SetAliasAsync("db1", "al", "old", CancellationToken.None);
        // The reader remembers the old name as live, as a node that routed a call to it has.
        Assert.Equal((2, "old"), await reader.EntryAsync("db1", "old", CancellationToken.None));

        var seen = new List<string>();
        renamer.RenameStep = async step =>
        {
            seen.Add(step);
            await AssertOnlyAsync(reader, step == "pending" ? "old" : "new");
        };

        Assert.Equal((RenameStart.Started, 2, "old"), await renamer.BeginRenameAsync("db1", "old", "new", CancellationToken.None));
        await renamer.FinishRenameAsync("db1", "old", "new", CancellationToken.None);
        Assert.Equal(new[] { "pending", "renamed", "aliases", "plain" }, seen);
        await AssertOnlyAsync(reader, "new");
        await AssertOnlyAsync(renamer, "new");

        // The records are tidied up: the old name's key is gone (free for a create), the new one is plain, the alias
        // names the new name, and the id is reserved, so the old name created again gets another id.
        Assert.Null((await KvLeaderReads.GetAsync(bucket, "db1.old")).Value);
        Assert.Equal([2, .. "old"u8.ToArray()], (await KvLeaderReads.GetAsync(bucket, "db1.new")).Value);
        Assert.Equal("new"u8.ToArray(), (await KvLeaderReads.GetAsync(bucket, "-alias.db1.al")).Value);
        Assert.NotNull((await KvLeaderReads.GetAsync(bucket, "-id.db1.old")).Value);
        Assert.StartsWith("old_", await reader.NewIdAsync("db1", "old", CancellationToken.None), StringComparison.Ordinal);
    }

    [NatsFact]
    public async Task AWatchingNode_ForgetsTheOldName_AtTheMoment_AndFindsTheNewOne()
    {
        var cluster = NatsFixture.Unique("catrenw");
        await using var renamer = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        await using var watcher = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        watcher.StartWatching();
        var bucket = await nats.KeyValue.GetStoreAsync($"{cluster}-catalog");
        await CatalogStorageIdTests.WatchingAsync(bucket, watcher);
        await renamer.AddAsync("db1", "a", 3, CancellationToken.None, id: "a_1");
        await CatalogStorageIdTests.WaitAsync(() => watcher.RevisionOf("db1", "a") > 0);

        var moment = 0UL;
        renamer.RenameStep = async step =>
        {
            if (step == "renamed")
            {
                moment = (await KvLeaderReads.GetAsync(bucket, "db1.a")).Revision;
                // The watch delivers the moment's write: the old name is no longer remembered, the new one is found.
                await CatalogStorageIdTests.WaitAsync(() => watcher.RevisionOf("db1", "a") == 0);
                await AssertOnlyAsync(watcher, "b", "a", "b", 3, "a_1", rememberedOnly: true);
            }
        };

        Assert.Equal((RenameStart.Started, 3, "a_1"), await renamer.BeginRenameAsync("db1", "a", "b", CancellationToken.None));
        Assert.True(moment > 0);
        await renamer.FinishRenameAsync("db1", "a", "b", CancellationToken.None);
        var plain = (await KvLeaderReads.GetAsync(bucket, "db1.b")).Revision;
        await CatalogStorageIdTests.WaitAsync(() => watcher.RevisionOf("db1", "b") == plain);
        await AssertOnlyAsync(watcher, "b", "a", "b", 3, "a_1", rememberedOnly: true);
    }

    [NatsFact]
    public async Task ARenameAndACreateOfItsTarget_FromTwoNodes_ExactlyOneGetsTheName_InEitherOrder()
    {
        var cluster = NatsFixture.Unique("catrace");
        await using var renamer = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        await using var creator = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        var bucket = await nats.KeyValue.GetStoreAsync($"{cluster}-catalog");

        // The create records the target first: the rename finds it taken and changes nothing.
        await renamer.AddAsync("db1", "x", 1, CancellationToken.None);
        Assert.True(await creator.AddAsync("db1", "y", 2, CancellationToken.None, id: "y"));
        Assert.Equal(RenameStart.TargetExists, (await renamer.BeginRenameAsync("db1", "x", "y", CancellationToken.None)).Outcome);
        Assert.Equal((1, "x"), await creator.EntryAsync("db1", "x", CancellationToken.None, fresh: true));
        Assert.Equal((2, "y"), await creator.EntryAsync("db1", "y", CancellationToken.None, fresh: true));

        // The rename's pending record comes first: the create, which saw no collection of that name (a pending record
        // is none), loses at its create-only record, as the second of two creates does; the rename goes on.
        await renamer.AddAsync("db1", "p", 1, CancellationToken.None);
        bool? created = null;
        renamer.RenameStep = async step =>
        {
            if (step == "pending")
            {
                Assert.Equal((0, "q"), await creator.EntryAsync("db1", "q", CancellationToken.None, fresh: true));
                created = await creator.AddAsync("db1", "q", 4, CancellationToken.None, id: "q");
            }
        };
        Assert.Equal((RenameStart.Started, 1, "p"), await renamer.BeginRenameAsync("db1", "p", "q", CancellationToken.None));
        Assert.False(created);
        await renamer.FinishRenameAsync("db1", "p", "q", CancellationToken.None);
        await AssertOnlyAsync(creator, "q", "p", "q", 1, "p");
        Assert.Equal(new[] { "q", "x", "y" }, await creator.ListAsync("db1", CancellationToken.None));
    }

    [NatsFact]
    public async Task ASourceDroppedOrTouchedBeforeTheMoment_GivesTheRenameUp_OrIsReadAgain()
    {
        var cluster = NatsFixture.Unique("catrend");
        await using var renamer = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        await using var other = await CollectionCatalog.OpenAsync(nats.KeyValue, cluster, 3, CancellationToken.None);
        var bucket = await nats.KeyValue.GetStoreAsync($"{cluster}-catalog");

        // Dropped through another node while the pending record stands: nothing is renamed, the pending record goes,
        // and neither name is a collection (the source was dropped).
        await renamer.AddAsync("db1", "gone", 2, CancellationToken.None);
        renamer.RenameStep = step => step == "pending" ? other.RemoveAsync("db1", "gone", CancellationToken.None) : Task.CompletedTask;
        Assert.Equal(RenameStart.SourceMissing, (await renamer.BeginRenameAsync("db1", "gone", "kept", CancellationToken.None)).Outcome);
        Assert.Null((await KvLeaderReads.GetAsync(bucket, "db1.kept")).Value);
        Assert.Equal(0, await other.ShardsAsync("db1", "gone", CancellationToken.None, fresh: true));
        Assert.Equal(0, await other.ShardsAsync("db1", "kept", CancellationToken.None, fresh: true));

        // Touched (a schema change through another node) while the pending record stands: the same collection at a later
        // revision, so the rename goes on.
        await renamer.AddAsync("db1", "s", 2, CancellationToken.None, id: "s_9");
        renamer.RenameStep = step => step == "pending" ? other.TouchAsync("db1", "s", CancellationToken.None) : Task.CompletedTask;
        Assert.Equal((RenameStart.Started, 2, "s_9"), await renamer.BeginRenameAsync("db1", "s", "t", CancellationToken.None));
        renamer.RenameStep = null;
        // Touched again between the moment and the tidy-up (the new name's pending record): read again and made plain.
        await other.TouchAsync("db1", "t", CancellationToken.None);
        await renamer.FinishRenameAsync("db1", "s", "t", CancellationToken.None);
        await AssertOnlyAsync(other, "t", "s", "t", 2, "s_9");
        Assert.Equal([2, .. "s_9"u8.ToArray()], (await KvLeaderReads.GetAsync(bucket, "db1.t")).Value);

        // A missing source, and a source that is itself a rename's target not tidied up yet: that rename (its renamer
        // stopped after its moment) is finished first, then renamed again (CatalogRenameRecoveryTests).
        Assert.Equal(RenameStart.SourceMissing, (await renamer.BeginRenameAsync("db1", "never", "n2", CancellationToken.None)).Outcome);
        await renamer.AddAsync("db1", "u", 1, CancellationToken.None);
        Assert.Equal(RenameStart.Started, (await renamer.BeginRenameAsync("db1", "u", "v", CancellationToken.None)).Outcome);
        Assert.Equal((RenameStart.Started, 1, "u"), await other.BeginRenameAsync("db1", "v", "w", CancellationToken.None));
        Assert.Equal(RenameStart.SourceMissing, (await other.BeginRenameAsync("db1", "u", "x", CancellationToken.None)).Outcome);
        Assert.Null((await KvLeaderReads.GetAsync(bucket, "db1.u")).Value);
        Assert.Null((await KvLeaderReads.GetAsync(bucket, "db1.x")).Value);
    }

    [Fact]
    public void ARenamesRecords_AreNoCollection_ToAnyReaderOfTheShardCount_AndParseBack()
    {
        var pending = CollectionCatalog.Entry.FormatPending(5, "from", "from_0a1b2c3d");
        var renamed = CollectionCatalog.Entry.FormatRenamed("to");
        // A 0 first: no shard count, so a value that reads the first byte as the count finds no collection.
        Assert.Equal(0, pending[0]);
        Assert.Equal(0, renamed[0]);
        Assert.Equal((0, "to"), CollectionCatalog.Entry.Parse(pending, "to"));
        Assert.Equal((0, "from"), CollectionCatalog.Entry.Parse(renamed, "from"));
        Assert.Equal((5, "from", "from_0a1b2c3d"), CollectionCatalog.Entry.PendingOf(pending)!.Value);
        Assert.Equal("to", CollectionCatalog.Entry.RenamedTo(renamed));
        Assert.Null(CollectionCatalog.Entry.PendingOf(renamed));
        Assert.Null(CollectionCatalog.Entry.RenamedTo(pending));
        Assert.Null(CollectionCatalog.Entry.PendingOf(CollectionCatalog.Entry.Format(5, "from")));
        Assert.Null(CollectionCatalog.Entry.RenamedTo(CollectionCatalog.Entry.Format(5, "to")));
        Assert.True(CollectionCatalog.Entry.IsPlain([1]));
        Assert.False(CollectionCatalog.Entry.IsPlain(pending));
        Assert.False(CollectionCatalog.Entry.IsPlain(null));
    }

    /// <summary>Asserts that <paramref name="catalog"/> finds, of the names <c>old</c> and <c>new</c> of the first test's
    /// collection (two shards, id <c>old</c>), <paramref name="live"/> only: read fresh and remembered, listed, and as the
    /// alias <c>al</c>'s collection.</summary>
    private static Task AssertOnlyAsync(CollectionCatalog catalog, string live) =>
        AssertOnlyAsync(catalog, live, "old", "new", 2, "old", alias: "al", listed: ["other"]);

    /// <summary>Asserts that, of <paramref name="from"/> and <paramref name="to"/>, <paramref name="catalog"/> finds
    /// <paramref name="live"/> only, with <paramref name="shards"/> and <paramref name="id"/>: read fresh (unless
    /// <paramref name="rememberedOnly"/>) and as remembered, listed beside <paramref name="listed"/>, and as
    /// <paramref name="alias"/>'s collection.</summary>
    private static async Task AssertOnlyAsync(CollectionCatalog catalog, string live, string from, string to, int shards, string id,
        bool rememberedOnly = false, string? alias = null, string[]? listed = null)
    {
        var gone = live == from ? to : from;
        foreach (var read in rememberedOnly ? [false] : new[] { true, false })
        {
            Assert.Equal((shards, id), await catalog.EntryAsync("db1", live, CancellationToken.None, read));
            Assert.Equal((0, gone), await catalog.EntryAsync("db1", gone, CancellationToken.None, read));
        }

        if (listed is not null)
        {
            Assert.Equal(listed.Append(live).Order(StringComparer.Ordinal).ToArray(), await catalog.ListAsync("db1", CancellationToken.None));
            Assert.Contains(("db1", live, shards), await catalog.AllAsync(CancellationToken.None));
            Assert.DoesNotContain(("db1", gone, shards), await catalog.AllAsync(CancellationToken.None));
        }

        if (alias is not null)
        {
            Assert.Equal(live, await catalog.AliasTargetAsync("db1", alias, CancellationToken.None));
            Assert.Equal(new[] { alias }, await catalog.AliasesAsync("db1", live, CancellationToken.None));
        }
    }
}
