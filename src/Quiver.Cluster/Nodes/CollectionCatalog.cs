using System.Collections.Concurrent;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster.Nodes;

/// <summary>Which collections the cluster holds and in how many shards, so that any node routes a call to the
/// collection's shards: one key <c>{database}.{collection}</c> per collection in KV bucket <c>{cluster}-catalog</c>,
/// whose value is the shard count as one byte (1 to <see cref="MaxShards"/>; sessions before shards wrote 1), then the
/// collection's storage id in UTF-8 (<see cref="Entry"/>; absent in values written before storage ids, where the id is
/// the name: existing clusters need no migration). Its stored things (grain keys, streams, buckets) are named from the id,
/// so a rename moves the name to another key (<see cref="BeginRenameAsync"/>) while they keep theirs (docs/cluster.md,
/// "Storage ids"). The shards' own engines stay the authority on the collection (schema, partitions, indexes); this only says which shards
/// exist. A node remembers the counts it read, each with its key's revision, and keeps them current by watching the
/// bucket (<see cref="StartWatching"/>): a drop or a create through another node replaces or forgets the count here as
/// soon as JetStream delivers the change (a deleted key is remembered as a tombstone with its revision, so a read that
/// raced the delete cannot put the old count back). Writes and collection changes ask for the key's current value
/// (<c>fresh</c>) rather than the remembered one, so a collection dropped and created again with another shard count
/// through another node is never written by the old count.</summary>
internal sealed class CollectionCatalog : IAsyncDisposable
{
    /// <summary>A key the bucket always holds, so that listing keys never waits on an empty bucket.</summary>
    private const string Marker = "catalog";

    private static readonly TimeSpan RetryTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The marker key's value (the client reads an empty value as none).</summary>
    private static readonly byte[] Present = [1];

    /// <summary>A storage id's reservation value once its collection was dropped (<see cref="MarkDroppedAsync"/>): a 0 byte
    /// and <c>d</c>, which no reservation's value (<c>{collection}/{nonce}</c>) starts with.</summary>
    private static readonly byte[] DroppedId = [0, (byte)'d'];

    /// <summary>The most shards a collection may have: Milvus's own limit of <c>shards_num</c> (its proxy's
    /// <c>maxShardNum</c> default).</summary>
    public const int MaxShards = 16;

    private readonly INatsKVStore _store;

    /// <summary>The shard count and storage id last seen per key with the revision that said so; a count of 0 is a
    /// deleted key. <c>From</c> is the old name when the entry was read from a rename's pending record past its moment
    /// (<see cref="RenamingFrom"/>), else null.</summary>
    private readonly ConcurrentDictionary<string, (int Shards, string Id, ulong Revision, string? From)> _known = new(StringComparer.Ordinal);

    private readonly CancellationTokenSource _stop = new();
    private Task _watch = Task.CompletedTask;
    private Task _sweep = Task.CompletedTask;

    private CollectionCatalog(INatsKVStore store) => _store = store;

    /// <summary>Opens (creating if missing) the catalog bucket of <paramref name="cluster"/>.</summary>
    public static async Task<CollectionCatalog> OpenAsync(INatsKVContext kv, string cluster, int replicas, CancellationToken ct)
    {
        var store = await KvBuckets.OpenAsync(kv, $"{cluster}-catalog", replicas, RetryTimeout, ct).ConfigureAwait(false);
        await Retry.UntilAsync(RetryTimeout, c => store.PutAsync(Marker, Present, cancellationToken: c).AsTask(), ct).ConfigureAwait(false);
        return new CollectionCatalog(store);
    }

    /// <summary>True when the cluster holds <paramref name="collection"/> in <paramref name="database"/>.</summary>
    public async Task<bool> ContainsAsync(string database, string collection, CancellationToken ct) =>
        await ShardsAsync(database, collection, ct).ConfigureAwait(false) > 0;

    /// <summary>The number of shards of <paramref name="collection"/> in <paramref name="database"/>; 0 when the cluster
    /// does not hold it. The remembered count unless <paramref name="fresh"/>, which reads the key's current value.</summary>
    public async Task<int> ShardsAsync(string database, string collection, CancellationToken ct, bool fresh = false) =>
        (await EntryAsync(database, collection, ct, fresh).ConfigureAwait(false)).Shards;

    /// <summary>The shard count and storage id of <paramref name="collection"/> in <paramref name="database"/>; a count of
    /// 0 (and the name as id) when the cluster does not hold it. The remembered entry unless <paramref name="fresh"/>,
    /// which reads the key's current value.</summary>
    public async Task<(int Shards, string Id)> EntryAsync(string database, string collection, CancellationToken ct, bool fresh = false)
    {
        var key = Key(database, collection);
        if (!fresh && _known.TryGetValue(key, out var known) && known.Shards > 0)
        {
            return (known.Shards, known.Id);
        }

        var (shards, id, _) = await ReadAsync(database, collection, ct).ConfigureAwait(false);
        return (shards, id);
    }

    /// <summary>The revision of the collection's key as the bucket's stream leader holds it now (0 when the cluster does
    /// not hold the collection), remembered as a fresh <see cref="EntryAsync"/> is: unlike <see cref="RevisionOf"/>, a
    /// change another node made and was acknowledged for is seen without waiting for the watch to deliver it.</summary>
    public async Task<ulong> CurrentRevisionAsync(string database, string collection, CancellationToken ct) =>
        (await ReadAsync(database, collection, ct).ConfigureAwait(false)).Revision;

    /// <summary>The key's entry read from the stream's leader (a collection another node created and acknowledged a
    /// moment ago is found) and remembered: the entry now remembered, with the revision read (0 when none is held).</summary>
    private async Task<(int Shards, string Id, ulong Revision)> ReadAsync(string database, string collection, CancellationToken ct)
    {
        var key = Key(database, collection);
        var entry = await Retry.UntilAsync(RetryTimeout, c => KvLeaderReads.GetAsync(_store, key, 0, c), ct).ConfigureAwait(false);
        string? from = null;
        if (Entry.PendingOf(entry.Value) is { } pending)
        {
            (entry, from) = await RenamedAsync(database, collection, entry, pending, ct).ConfigureAwait(false);
        }

        var (shards, id) = Entry.Parse(entry.Value, collection);
        if (shards > 0)
        {
            var (kept, keptId) = Remember(key, shards, id, entry.Revision, from);
            return (kept, keptId, kept > 0 ? entry.Revision : 0);
        }

        if (_known.ContainsKey(key))
        {
            // Dropped or renamed away: a remembered read after this fresh one does not find the collection again (names
            // never seen are not remembered, so looking up names that do not exist fills nothing).
            Remember(key, 0, collection, entry.Revision);
        }

        return (0, collection, 0);
    }

    /// <summary>The entry a reader takes for <paramref name="collection"/>, whose key holds a rename's pending record
    /// (<see cref="BeginRenameAsync"/>): the collection's plain entry (same revision) once the source's key says it was
    /// renamed to this name (the rename's moment has passed), else none. When the source's key is gone the rename either
    /// finished (this key was made plain before the source's key was deleted) or was given up, so the key is read again:
    /// a reader never finds neither name nor both. <c>From</c> is the old name when the entry is read from the pending
    /// record (the rename is past its moment and not finished).</summary>
    private async Task<(KvRead Entry, string? From)> RenamedAsync(string database, string collection, KvRead entry, (int Shards, string From, string Id) pending, CancellationToken ct)
    {
        var source = await Retry.UntilAsync(RetryTimeout, c => KvLeaderReads.GetAsync(_store, Key(database, pending.From), 0, c), ct).ConfigureAwait(false);
        if (Entry.RenamedTo(source.Value) == collection)
        {
            return (entry with { Value = Entry.Format(pending.Shards, pending.Id) }, pending.From);
        }

        if (source.Value is not null)
        {
            return default;
        }

        var again = await Retry.UntilAsync(RetryTimeout, c => KvLeaderReads.GetAsync(_store, Key(database, collection), 0, c), ct).ConfigureAwait(false);
        return (Entry.IsPlain(again.Value) ? again : default, null);
    }

    /// <summary>The old name of <paramref name="collection"/> when this node last read its entry from a rename's pending
    /// record past the rename's moment: the rename is not finished, so its shards' engines may still name the collection
    /// after the old name; the caller settles the rename (<see cref="SettleAsync"/>) before routing a call. Null
    /// otherwise (no lookup of the store: a dictionary read).</summary>
    public string? RenamingFrom(string database, string collection) =>
        _known.TryGetValue(Key(database, collection), out var known) && known.Shards > 0 ? known.From : null;

    /// <summary>The revision of the collection's key this node last read or was told of by the watch (0 when it knows
    /// none). The key is written again at every create and every change of the collection's schema, properties or
    /// indexes (<see cref="TouchAsync"/>), so a schema a node read while the key stood at this revision is current while it
    /// still stands there.</summary>
    public ulong RevisionOf(string database, string collection) =>
        _known.TryGetValue(Key(database, collection), out var known) && known.Shards > 0 ? known.Revision : 0;

    /// <summary>Writes the collection's key again with the value it holds (compare-and-set on its revision), so that its
    /// revision moves on and every node's schema read under an older one is read again (<see cref="RevisionOf"/>);
    /// nothing when the key is gone (the collection was dropped meanwhile).</summary>
    public async Task TouchAsync(string database, string collection, CancellationToken ct)
    {
        var key = Key(database, collection);
        await Retry.UntilAsync(RetryTimeout, async c =>
        {
            while (true)
            {
                var entry = await KvLeaderReads.GetAsync(_store, key, 0, c).ConfigureAwait(false);
                if (entry.Value is not { Length: > 0 } value)
                {
                    return true;
                }

                try
                {
                    var revision = await _store.UpdateAsync(key, value, entry.Revision, cancellationToken: c).ConfigureAwait(false);
                    var (shards, id) = Entry.Parse(value, collection);
                    Remember(key, shards, id, revision);
                    return true;
                }
                catch (NatsKVWrongLastRevisionException)
                {
                    // Another node wrote the key since the read: read it again.
                }
            }
        }, ct).ConfigureAwait(false);
    }

    /// <summary>Keeps the remembered counts current from the bucket's changes (puts and deletes after now) until
    /// disposed; a watch that breaks (its NATS server went away) starts again after forgetting every count, since
    /// changes may have been missed meanwhile.</summary>
    public void StartWatching() => _watch = Task.Run(() => WatchAsync(_stop.Token));

    /// <summary>Settles, once, the rename records a renamer left behind (<see cref="SettleRenamesAsync"/>), in the
    /// background: a node starts this once it serves (the shard side, <see cref="RenameShards"/>, calls the shards). A
    /// sweep that fails (NATS unreachable for longer than its retries) leaves them to the next create or rename of either
    /// name, or the next call on the new name, which settle them too.</summary>
    public void StartSettling()
    {
        _sweep = Task.Run(async () =>
        {
            try
            {
                await SettleRenamesAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Left to the next create or rename of the names concerned (SettleAsync).
            }
        });
    }

    private async Task WatchAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await foreach (var entry in _store.WatchAsync<byte[]>(opts: new NatsKVWatchOpts { UpdatesOnly = true }, cancellationToken: ct).ConfigureAwait(false))
                {
                    if (entry.Key == Marker || entry.Key.StartsWith('-'))
                    {
                        continue;
                    }

                    var dot = entry.Key.IndexOf('.', StringComparison.Ordinal);
                    var (shards, id) = entry.Operation == NatsKVOperation.Put ? Entry.Parse(entry.Value, entry.Key[(dot + 1)..]) : (0, entry.Key[(dot + 1)..]);
                    Remember(entry.Key, shards, id, entry.Revision);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // The watch broke (a server failed over, the connection is reconnecting): whatever changed meanwhile is
                // unknown, so nothing remembered is trusted; lookups read the bucket again.
                _known.Clear();
                await Task.Delay(Retry.Pause, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Records <paramref name="shards"/> (0: deleted) and storage <paramref name="id"/> for <paramref name="key"/>
    /// unless a later revision is already known; answers the entry now remembered.</summary>
    private (int Shards, string Id) Remember(string key, int shards, string id, ulong revision, string? from = null)
    {
        var kept = _known.AddOrUpdate(key, (shards, id, revision, from), (_, old) => revision >= old.Revision ? (shards, id, revision, from) : old);
        return (kept.Shards, kept.Id);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await BackgroundLoop.StopAsync(_stop, Task.WhenAll(_watch, _sweep)).ConfigureAwait(false);
    }

    /// <summary>Records that the cluster holds <paramref name="collection"/> in <paramref name="shards"/> shards, its
    /// stored things named from storage id <paramref name="id"/> (its name unless given), unless the key exists: false
    /// when another collection holds the name (another node's create of the same name won the race). Create-only, so two
    /// nodes racing a create can never both be told they created it; a retry of this very write, stored without its
    /// answer reaching this node, is recognized by its value (ids are unique, <see cref="NewIdAsync"/>).</summary>
    public async Task<bool> AddAsync(string database, string collection, int shards, CancellationToken ct, string? id = null)
    {
        id ??= collection;
        var key = Key(database, collection);
        var value = Entry.Format(shards, id);
        var (added, revision) = await CreateOnlyAsync(key, value, ct).ConfigureAwait(false);
        if (!added && await SettleAsync(database, collection, ct).ConfigureAwait(false))
        {
            // The name was held by a rename's record, now finished (the name may be taken by the renamed collection) or
            // given up.
            (added, revision) = await CreateOnlyAsync(key, value, ct).ConfigureAwait(false);
        }

        if (added)
        {
            Remember(key, shards, id, revision);
        }

        return added;
    }

    /// <summary>A storage id for a new collection <paramref name="collection"/> in <paramref name="database"/> that no
    /// collection has had before in this cluster, reserved for good (create-only key <c>-id.{database}.{id}</c>): two
    /// nodes racing a create of one name get two ids, and a name dropped and created again gets a new id, so the old
    /// collection's storage (if its drop could not delete it) never resurfaces. The name itself when free (the first
    /// collection of that name: its storage is named as before storage ids), else the name (cut to fit) and 8 random hex
    /// digits. An id a collection of an earlier session holds without a reservation (its id is its name) is skipped.</summary>
    public async Task<string> NewIdAsync(string database, string collection, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var id = attempt == 0 ? collection
                : $"{collection[..Math.Min(collection.Length, 255 - 9)]}_{System.Security.Cryptography.RandomNumberGenerator.GetHexString(8, lowercase: true)}";
            if (await EntryAsync(database, id, ct, fresh: true).ConfigureAwait(false) is (> 0, var held) && held == id)
            {
                continue;
            }

            // The value names the collection and carries a nonce, so this node's retry of its own reservation is told
            // from another node's reservation of the same id.
            var value = System.Text.Encoding.UTF8.GetBytes($"{collection}/{Guid.NewGuid():N}");
            if ((await CreateOnlyAsync(IdKey(database, id), value, ct).ConfigureAwait(false)).Created)
            {
                return id;
            }

            ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Gives up the reservation of storage id <paramref name="id"/> (<see cref="NewIdAsync"/>) after the create it
    /// was reserved for was refused: nothing was recorded under it, so a later create may take it (the name's first id
    /// stays the name, and a shard a refused create activated is used again rather than left behind).</summary>
    public Task ReleaseIdAsync(string database, string id, CancellationToken ct) =>
        Retry.UntilAsync(RetryTimeout, async c =>
        {
            await _store.DeleteAsync(IdKey(database, id), cancellationToken: c).ConfigureAwait(false);
            return true;
        }, ct);

    /// <summary>Records that storage id <paramref name="id"/> belongs to a dropped collection: its reservation key
    /// (<see cref="NewIdAsync"/>) is set to <see cref="DroppedId"/>, written for a collection of an earlier session too
    /// (its id is its name, not reserved), so no later create takes the id. A shard grain of the id checks it before it
    /// opens (<see cref="IsDroppedAsync"/>): a read that a node routes by a remembered entry of the dropped collection
    /// activates no engine and creates no storage under the id. A refused create gives its id up afterwards
    /// (<see cref="ReleaseIdAsync"/>), which removes the record: nothing was recorded under it.</summary>
    public Task MarkDroppedAsync(string database, string id, CancellationToken ct) =>
        Retry.UntilAsync(RetryTimeout, c => _store.PutAsync(IdKey(database, id), DroppedId, cancellationToken: c).AsTask(), ct);

    /// <summary>True when storage id <paramref name="id"/> of <paramref name="database"/> belongs to a dropped collection
    /// (<see cref="MarkDroppedAsync"/>), read from the bucket's stream leader.</summary>
    public async Task<bool> IsDroppedAsync(string database, string id, CancellationToken ct) =>
        await Retry.UntilAsync(RetryTimeout, c => KvLeaderReads.ValueAsync(_store, IdKey(database, id), c), ct).ConfigureAwait(false) is { } value
        && value.AsSpan().SequenceEqual(DroppedId);

    /// <summary>Creates <paramref name="key"/> with <paramref name="value"/> unless it holds a value: true with the new
    /// revision, or false when it exists. A create the NATS client sent again after its first try was stored without an
    /// answer finds its own value there, and counts as created.</summary>
    private async Task<(bool Created, ulong Revision)> CreateOnlyAsync(string key, byte[] value, CancellationToken ct) =>
        await Retry.UntilAsync(RetryTimeout, async c =>
        {
            try
            {
                return (true, await _store.CreateAsync(key, value, cancellationToken: c).ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is NatsKVCreateException or NatsKVWrongLastRevisionException)
            {
                var now = await KvLeaderReads.GetAsync(_store, key, 0, c).ConfigureAwait(false);
                return now.Value is { } stored && stored.AsSpan().SequenceEqual(value) ? (true, now.Revision) : (false, 0UL);
            }
        }, ct).ConfigureAwait(false);

    /// <summary>Forgets <paramref name="collection"/> after its shard dropped it.</summary>
    public async Task RemoveAsync(string database, string collection, CancellationToken ct)
    {
        var key = Key(database, collection);
        _known.TryRemove(key, out _);
        await Retry.UntilAsync(RetryTimeout, async c =>
        {
            await _store.DeleteAsync(key, cancellationToken: c).ConfigureAwait(false);
            return true;
        }, ct).ConfigureAwait(false);
    }

    /// <summary>The collections of <paramref name="database"/>, by name.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(string database, CancellationToken ct)
    {
        var prefix = database + ".";
        var keys = await Retry.UntilAsync(RetryTimeout, async c =>
        {
            var names = new List<string>();
            await foreach (var key in _store.GetKeysAsync(cancellationToken: c).ConfigureAwait(false))
            {
                if (key.StartsWith(prefix, StringComparison.Ordinal))
                {
                    names.Add(key[prefix.Length..]);
                }
            }

            names.Sort(StringComparer.Ordinal);
            return names;
        }, ct).ConfigureAwait(false);
        // A rename's records (a pending target, a renamed source) are keys too: a name is listed when a reader finds it.
        var listed = new List<string>(keys.Count);
        foreach (var name in keys)
        {
            if (await ShardsAsync(database, name, ct).ConfigureAwait(false) > 0)
            {
                listed.Add(name);
            }
        }

        return listed;
    }

    /// <summary>Every collection of every database with its shard count, by database then name.</summary>
    public async Task<IReadOnlyList<(string Database, string Collection, int Shards)>> AllAsync(CancellationToken ct)
    {
        var keys = await CollectionKeysAsync(ct).ConfigureAwait(false);
        var all = new List<(string, string, int)>();
        foreach (var key in keys.Order(StringComparer.Ordinal))
        {
            var dot = key.IndexOf('.', StringComparison.Ordinal);
            var (database, collection) = (key[..dot], key[(dot + 1)..]);
            if (await ShardsAsync(database, collection, ct).ConfigureAwait(false) is > 0 and var shards)
            {
                all.Add((database, collection, shards));
            }
        }

        return all;
    }

    /// <summary>The keys of collections (and of rename records), <c>{database}.{collection}</c>, as they stand.</summary>
    private Task<List<string>> CollectionKeysAsync(CancellationToken ct) =>
        Retry.UntilAsync(RetryTimeout, async c =>
        {
            var found = new List<string>();
            await foreach (var key in _store.GetKeysAsync(cancellationToken: c).ConfigureAwait(false))
            {
                if (key.IndexOf('.', StringComparison.Ordinal) > 0 && !key.StartsWith('-'))
                {
                    found.Add(key);
                }
            }

            return found;
        }, ct);

    /// <summary>Every collection of every database by its storage id, with its shard count, by database then name.</summary>
    public async Task<IReadOnlyList<(string Database, string Id, int Shards)>> AllIdsAsync(CancellationToken ct)
    {
        var ids = new List<(string, string, int)>();
        foreach (var (database, collection, _) in await AllAsync(ct).ConfigureAwait(false))
        {
            if (await EntryAsync(database, collection, ct).ConfigureAwait(false) is (> 0 and var shards, var id))
            {
                ids.Add((database, id, shards));
            }
        }

        return ids;
    }

    /// <summary>The shard count of the collection whose storage id is <paramref name="id"/> in <paramref name="database"/>
    /// (0 when none): a grain keyed by the id finds its collection this way, since the catalog is keyed by name. The
    /// collection of that name first (whose id is its name unless it was renamed), else every collection of the database.</summary>
    public async Task<int> ShardsOfIdAsync(string database, string id, CancellationToken ct)
    {
        if (await EntryAsync(database, id, ct).ConfigureAwait(false) is (> 0 and var shards, var named) && named == id)
        {
            return shards;
        }

        foreach (var name in await ListAsync(database, ct).ConfigureAwait(false))
        {
            if (await EntryAsync(database, name, ct).ConfigureAwait(false) is (> 0 and var count, var other) && other == id)
            {
                return count;
            }
        }

        return 0;
    }

    /// <summary>The collection <paramref name="alias"/> names in <paramref name="database"/>, or null. Never cached:
    /// another node may drop or move the alias at any time. An alias of a collection renamed a moment ago names the new
    /// name: the source's key says where it went until the rename moved the alias (<see cref="FinishRenameAsync"/>).</summary>
    public async Task<string?> AliasTargetAsync(string database, string alias, CancellationToken ct)
    {
        var target = await StoredAliasTargetAsync(database, alias, ct).ConfigureAwait(false);
        if (target is null || RevisionOf(database, target) > 0)
        {
            return target;
        }

        var source = await Retry.UntilAsync(RetryTimeout, c => KvLeaderReads.GetAsync(_store, Key(database, target), 0, c), ct).ConfigureAwait(false);
        return Entry.RenamedTo(source.Value) ?? target;
    }

    /// <summary>The collection name <paramref name="alias"/>'s key holds, or null.</summary>
    private async Task<string?> StoredAliasTargetAsync(string database, string alias, CancellationToken ct) =>
        await Retry.UntilAsync(RetryTimeout, async c =>
            await KvLeaderReads.ValueAsync(_store, AliasKey(database, alias), c).ConfigureAwait(false) is { Length: > 0 } value
                ? System.Text.Encoding.UTF8.GetString(value)
                : null, ct).ConfigureAwait(false);

    /// <summary>Test seam, null in production: awaited with <c>pending</c> after a rename created its target's pending
    /// record and with <c>renamed</c> after its moment (<see cref="BeginRenameAsync"/>), and with <c>aliases</c> and
    /// <c>plain</c> as <see cref="FinishRenameAsync"/> moves the aliases and makes the target's key plain, so a test can
    /// read the catalog, or race another node, at each step.</summary>
    internal Func<string, Task>? RenameStep { get; set; }

    /// <summary>Starts renaming <paramref name="from"/> to <paramref name="to"/> in <paramref name="database"/>, which
    /// NATS KV cannot do in one write: first <paramref name="to"/>'s key is created create-only as a pending record
    /// naming the source, its shard count and storage id (readers take it as no collection, and a create of that name
    /// through another node loses to it, or wins against it, as two creates do); then the source's key is set, compare-
    /// and-set, to a record saying it was renamed to <paramref name="to"/>: that write is the rename's moment, after which
    /// readers find the new name and not the old (<see cref="EntryAsync"/>), never both, never neither. The storage id
    /// keeps its key (a collection of an earlier session, whose id is its name, gets the id reserved first, so the old
    /// name created again gets another). <see cref="FinishRenameAsync"/> then tidies up. Answers
    /// <see cref="RenameStart.Started"/> with the collection's shard count and id, or why it did not start (the source
    /// does not exist, or is the target of a rename not finished yet; the target's key is taken); a source changed by
    /// another node meanwhile (a schema change) is read again, one dropped gives the pending record up.</summary>
    public async Task<(RenameStart Outcome, int Shards, string Id)> BeginRenameAsync(string database, string from, string to, CancellationToken ct)
    {
        // An earlier rename's records that its renamer left on either name (it stopped between its writes) are finished,
        // or given up where their rename can no longer happen, before this one reads them (<see cref="SettleAsync"/>).
        await SettleAsync(database, from, ct).ConfigureAwait(false);
        await SettleAsync(database, to, ct).ConfigureAwait(false);
        var fromKey = Key(database, from);
        var source = await Retry.UntilAsync(RetryTimeout, c => KvLeaderReads.GetAsync(_store, fromKey, 0, c), ct).ConfigureAwait(false);
        if (!Entry.IsPlain(source.Value))
        {
            return (Entry.PendingOf(source.Value) is not null && await ShardsAsync(database, from, ct, fresh: true).ConfigureAwait(false) > 0
                ? RenameStart.SourceRenaming : RenameStart.SourceMissing, 0, from);
        }

        var (shards, id) = Entry.Parse(source.Value, from);
        // Created, or held already: ids are unique, so a reservation of this id is this collection's.
        await CreateOnlyAsync(IdKey(database, id), System.Text.Encoding.UTF8.GetBytes($"{from}/{Guid.NewGuid():N}"), ct).ConfigureAwait(false);
        var toKey = Key(database, to);
        var (created, pendingRevision) = await CreateOnlyAsync(toKey, Entry.FormatPending(shards, from, id), ct).ConfigureAwait(false);
        if (!created)
        {
            return (RenameStart.TargetExists, 0, from);
        }

        await StepAsync("pending").ConfigureAwait(false);
        if (!await MomentAsync(database, from, to, id, source, ct).ConfigureAwait(false))
        {
            // Another node may have finished this very rename meanwhile (SettleAsync), deleting the source's record:
            // the new name's key then holds the collection's plain entry (ids are unique).
            var target = await Retry.UntilAsync(RetryTimeout, c => KvLeaderReads.GetAsync(_store, toKey, 0, c), ct).ConfigureAwait(false);
            if (!Entry.IsPlain(target.Value) || Entry.Parse(target.Value, to).Id != id)
            {
                await DeleteAtAsync(toKey, pendingRevision, ct).ConfigureAwait(false);
                return (RenameStart.SourceMissing, 0, from);
            }
        }

        await StepAsync("renamed").ConfigureAwait(false);
        return (RenameStart.Started, shards, id);
    }

    /// <summary>The rename's moment (<see cref="BeginRenameAsync"/>): <paramref name="from"/>'s key, read as
    /// <paramref name="source"/>, set compare-and-set to the record saying it was renamed to <paramref name="to"/>. True
    /// once the key holds that record (this write, or the same write by another node finishing the rename), false when
    /// the key no longer holds the collection of storage id <paramref name="id"/> (dropped, or renamed elsewhere); a
    /// schema change's touch of the same collection is read again.</summary>
    private Task<bool> MomentAsync(string database, string from, string to, string id, KvRead source, CancellationToken ct)
    {
        var fromKey = Key(database, from);
        var renamed = Entry.FormatRenamed(to);
        return Retry.UntilAsync(RetryTimeout, async c =>
        {
            while (true)
            {
                try
                {
                    Remember(fromKey, 0, from, await _store.UpdateAsync(fromKey, renamed, source.Revision, cancellationToken: c).ConfigureAwait(false));
                    return true;
                }
                catch (NatsKVWrongLastRevisionException)
                {
                    var now = await KvLeaderReads.GetAsync(_store, fromKey, 0, c).ConfigureAwait(false);
                    if (now.Value is { } stored && stored.AsSpan().SequenceEqual(renamed))
                    {
                        // This very write, stored without its answer reaching this node, or made by another node that
                        // finishes the rename (SettleAsync).
                        return true;
                    }

                    if (!Entry.IsPlain(now.Value) || Entry.Parse(now.Value, from).Id != id)
                    {
                        return false;
                    }

                    // Touched by a schema change through another node: the same collection, at a later revision.
                    source = now;
                }
            }
        }, ct);
    }

    /// <summary>Finishes or gives up the rename whose record <paramref name="name"/>'s key holds, left there by a renamer
    /// that stopped between its writes (its node died) or still at work (every step here is one it makes too, and each
    /// is a compare-and-set or a create that lands once, so the two never disagree). A pending record whose source still
    /// holds the same collection is carried on: the moment is made (<see cref="MomentAsync"/>) and the rename finished
    /// (<see cref="FinishRenameAsync"/>); a rename's client was answered nothing, so the rename taking effect is one of
    /// the outcomes it must expect (a NATS write that timed out is the same). Rolling back instead is not safe: a
    /// renamer still at work would make its moment after the pending record was gone, and neither name would be found.
    /// A pending record whose source no longer holds that collection (dropped, or renamed elsewhere) is deleted at its
    /// revision; a renamed record is finished when its target still holds the pending record naming it, and deleted
    /// (at its revision) otherwise: the rename was tidied up up to that key, or the new name dropped since. True when the
    /// key held a rename's record.</summary>
    public async Task<bool> SettleAsync(string database, string name, CancellationToken ct)
    {
        var key = Key(database, name);
        var entry = await Retry.UntilAsync(RetryTimeout, c => KvLeaderReads.GetAsync(_store, key, 0, c), ct).ConfigureAwait(false);
        if (Entry.PendingOf(entry.Value) is { } pending)
        {
            var source = await Retry.UntilAsync(RetryTimeout, c => KvLeaderReads.GetAsync(_store, Key(database, pending.From), 0, c), ct).ConfigureAwait(false);
            var carried = Entry.RenamedTo(source.Value) == name
                || (Entry.IsPlain(source.Value) && Entry.Parse(source.Value, pending.From).Id == pending.Id
                    && await MomentAsync(database, pending.From, name, pending.Id, source, ct).ConfigureAwait(false));
            if (carried)
            {
                await CompleteRenameAsync(database, pending.From, name, pending.Shards, pending.Id, ct).ConfigureAwait(false);
            }
            else
            {
                await DeleteAtAsync(key, entry.Revision, ct).ConfigureAwait(false);
            }

            return true;
        }

        if (Entry.RenamedTo(entry.Value) is { } to)
        {
            var target = await Retry.UntilAsync(RetryTimeout, c => KvLeaderReads.GetAsync(_store, Key(database, to), 0, c), ct).ConfigureAwait(false);
            if (Entry.PendingOf(target.Value) is { } held && held.From == name)
            {
                await CompleteRenameAsync(database, name, to, held.Shards, held.Id, ct).ConfigureAwait(false);
            }
            else
            {
                await DeleteAtAsync(key, entry.Revision, ct).ConfigureAwait(false);
            }

            return true;
        }

        return false;
    }

    /// <summary>Settles every rename record the catalog holds (<see cref="SettleAsync"/>): a node runs this as it starts,
    /// so records a renamer left behind never outlive the next node's start; between starts, the next create or rename
    /// of either name settles them. Answers how many keys held one.</summary>
    public async Task<int> SettleRenamesAsync(CancellationToken ct)
    {
        var keys = await CollectionKeysAsync(ct).ConfigureAwait(false);
        var settled = 0;
        foreach (var key in keys)
        {
            var dot = key.IndexOf('.', StringComparison.Ordinal);
            if (await SettleAsync(key[..dot], key[(dot + 1)..], ct).ConfigureAwait(false))
            {
                settled++;
            }
        }

        return settled;
    }

    /// <summary>The shard side of a rename, run between its moment and <see cref="FinishRenameAsync"/> with the database,
    /// the old and new names, the shard count and the storage id: the node renames the collection in each shard's engine
    /// and has the shards' loaded replicas take it (<see cref="ShardRename"/>). It must be repeatable (a renamer and a
    /// node settling its records may both run it). Null: the catalog alone (the catalog's own tests).</summary>
    internal Func<string, string, string, int, string, CancellationToken, Task>? RenameShards { get; set; }

    /// <summary>Carries a rename past its moment to its end: the shard side (<see cref="RenameShards"/>), then
    /// <see cref="FinishRenameAsync"/>. The new name's key stays a pending record until the shards are renamed, so a node
    /// reading it settles the rename before it routes a call there (<see cref="RenamingFrom"/>).</summary>
    public async Task CompleteRenameAsync(string database, string from, string to, int shards, string id, CancellationToken ct)
    {
        if (RenameShards is { } renameShards)
        {
            await renameShards(database, from, to, shards, id, ct).ConfigureAwait(false);
        }

        await FinishRenameAsync(database, from, to, ct).ConfigureAwait(false);
    }

    /// <summary>Finishes a rename <see cref="BeginRenameAsync"/> started: the aliases of <paramref name="from"/> are
    /// moved to <paramref name="to"/>, then <paramref name="to"/>'s pending record is made a plain entry (compare-and-set,
    /// read again if a schema change touched it; nothing when the collection was dropped meanwhile), then the source's
    /// renamed record is deleted, which frees the old name. Readers find the same collection under the new name at every
    /// step.</summary>
    public async Task FinishRenameAsync(string database, string from, string to, CancellationToken ct)
    {
        foreach (var alias in await AliasKeysAsync(database, ct).ConfigureAwait(false))
        {
            if (await StoredAliasTargetAsync(database, alias, ct).ConfigureAwait(false) == from)
            {
                await SetAliasAsync(database, alias, to, ct).ConfigureAwait(false);
            }
        }

        await StepAsync("aliases").ConfigureAwait(false);
        var toKey = Key(database, to);
        await Retry.UntilAsync(RetryTimeout, async c =>
        {
            while (true)
            {
                var now = await KvLeaderReads.GetAsync(_store, toKey, 0, c).ConfigureAwait(false);
                if (Entry.PendingOf(now.Value) is not { } pending || pending.From != from)
                {
                    // Made plain already (this write's answer was lost), or the collection was dropped meanwhile.
                    return true;
                }

                try
                {
                    var revision = await _store.UpdateAsync(toKey, Entry.Format(pending.Shards, pending.Id), now.Revision, cancellationToken: c).ConfigureAwait(false);
                    Remember(toKey, pending.Shards, pending.Id, revision);
                    return true;
                }
                catch (NatsKVWrongLastRevisionException)
                {
                    // Touched meanwhile: read it again.
                }
            }
        }, ct).ConfigureAwait(false);
        await StepAsync("plain").ConfigureAwait(false);
        var fromKey = Key(database, from);
        var source = await Retry.UntilAsync(RetryTimeout, c => KvLeaderReads.GetAsync(_store, fromKey, 0, c), ct).ConfigureAwait(false);
        if (Entry.RenamedTo(source.Value) == to)
        {
            await DeleteAtAsync(fromKey, source.Revision, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes <paramref name="key"/> if it still stands at <paramref name="revision"/> (nothing when another
    /// write came after).</summary>
    private Task DeleteAtAsync(string key, ulong revision, CancellationToken ct) =>
        Retry.UntilAsync(RetryTimeout, async c =>
        {
            try
            {
                await _store.DeleteAsync(key, new NatsKVDeleteOpts { Revision = revision }, cancellationToken: c).ConfigureAwait(false);
            }
            catch (NatsKVWrongLastRevisionException)
            {
                // Written since, or deleted already by this very call's earlier try.
            }

            return true;
        }, ct);

    private Task StepAsync(string step) => RenameStep?.Invoke(step) ?? Task.CompletedTask;

    /// <summary>Records that <paramref name="alias"/> names <paramref name="collection"/> in <paramref name="database"/>.</summary>
    public Task SetAliasAsync(string database, string alias, string collection, CancellationToken ct) =>
        Retry.UntilAsync(RetryTimeout, c => _store.PutAsync(AliasKey(database, alias), System.Text.Encoding.UTF8.GetBytes(collection), cancellationToken: c).AsTask(), ct);

    /// <summary>Forgets <paramref name="alias"/>.</summary>
    public Task RemoveAliasAsync(string database, string alias, CancellationToken ct) =>
        Retry.UntilAsync(RetryTimeout, async c =>
        {
            await _store.DeleteAsync(AliasKey(database, alias), cancellationToken: c).ConfigureAwait(false);
            return true;
        }, ct);

    /// <summary>The aliases of <paramref name="database"/> (of <paramref name="collection"/> only, unless null), by name.</summary>
    public async Task<IReadOnlyList<string>> AliasesAsync(string database, string? collection, CancellationToken ct)
    {
        var names = new List<string>();
        foreach (var alias in await AliasKeysAsync(database, ct).ConfigureAwait(false))
        {
            if (collection is null || await AliasTargetAsync(database, alias, ct).ConfigureAwait(false) == collection)
            {
                names.Add(alias);
            }
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>The names of <paramref name="database"/>'s aliases, as their keys stand.</summary>
    private async Task<List<string>> AliasKeysAsync(string database, CancellationToken ct)
    {
        var prefix = AliasKey(database, "");
        return await Retry.UntilAsync(RetryTimeout, async c =>
        {
            var found = new List<string>();
            await foreach (var key in _store.GetKeysAsync(cancellationToken: c).ConfigureAwait(false))
            {
                if (key.StartsWith(prefix, StringComparison.Ordinal))
                {
                    found.Add(key[prefix.Length..]);
                }
            }

            return found;
        }, ct).ConfigureAwait(false);
    }

    private static string Key(string database, string collection) => $"{database}.{collection}";

    /// <summary>A storage id's reservation key (<see cref="NewIdAsync"/>), '-' first as an alias's.</summary>
    private static string IdKey(string database, string id) => $"-id.{database}.{id}";

    /// <summary>An alias's key: '-' first, which no database name starts with, so <see cref="ListAsync"/> never sees it.</summary>
    private static string AliasKey(string database, string alias) => $"-alias.{database}.{alias}";

    /// <summary>A catalog key's value: the shard count as one byte, then the storage id in UTF-8. A value of one byte
    /// (written before storage ids) has the collection's name as its id; a node of an earlier session reads the first
    /// byte only, so it routes a collection created by a newer node as before, as long as its id is its name.</summary>
    internal static class Entry
    {
        /// <summary>The value recording <paramref name="shards"/> shards (1 to <see cref="MaxShards"/>) and storage
        /// <paramref name="id"/> (a valid Milvus name, <see cref="ShardKeys.IsValidName"/>).</summary>
        public static byte[] Format(int shards, string id)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(shards, MaxShards);
            if (!ShardKeys.IsValidName(id))
            {
                throw new ArgumentException($"'{id}' cannot be a storage id: a letter or '_' first, then letters, digits and '_', at most 255", nameof(id));
            }

            var value = new byte[1 + System.Text.Encoding.UTF8.GetByteCount(id)];
            value[0] = (byte)shards;
            System.Text.Encoding.UTF8.GetBytes(id, value.AsSpan(1));
            return value;
        }

        /// <summary>The shard count and storage id <paramref name="value"/> records for the collection named
        /// <paramref name="name"/>: (0, name) for no value (a deleted key) and for a rename's record (read through
        /// <see cref="PendingOf"/> and <see cref="RenamedTo"/>), the name as id for a value of one byte.</summary>
        public static (int Shards, string Id) Parse(byte[]? value, string name) =>
            !IsPlain(value) ? (0, name)
            : (Math.Min((int)value![0], MaxShards), value.Length > 1 ? System.Text.Encoding.UTF8.GetString(value, 1, value.Length - 1) : name);

        /// <summary>True when <paramref name="value"/> records a collection (a shard count first), not a rename's record
        /// (a 0 first, which no shard count is) nor a deleted key.</summary>
        public static bool IsPlain(byte[]? value) => value is { Length: > 0 } && value[0] > 0;

        /// <summary>A rename's pending record on its target's key (<see cref="BeginRenameAsync"/>): 0, 'p', the shard
        /// count, then <c>{from}/{id}</c> in UTF-8 ('/' is in no Milvus name).</summary>
        public static byte[] FormatPending(int shards, string from, string id) =>
            [0, (byte)'p', (byte)shards, .. System.Text.Encoding.UTF8.GetBytes($"{from}/{id}")];

        /// <summary>The shard count, source and storage id a pending record holds, or null for any other value.</summary>
        public static (int Shards, string From, string Id)? PendingOf(byte[]? value)
        {
            if (value is not [0, (byte)'p', var shards, ..] || shards is 0 or > MaxShards)
            {
                return null;
            }

            var text = System.Text.Encoding.UTF8.GetString(value, 3, value.Length - 3);
            var slash = text.IndexOf('/', StringComparison.Ordinal);
            return slash > 0 ? (shards, text[..slash], text[(slash + 1)..]) : null;
        }

        /// <summary>A renamed record on a rename's source key: 0, 'r', then the new name in UTF-8.</summary>
        public static byte[] FormatRenamed(string to) => [0, (byte)'r', .. System.Text.Encoding.UTF8.GetBytes(to)];

        /// <summary>The name a renamed record says its collection was renamed to, or null for any other value.</summary>
        public static string? RenamedTo(byte[]? value) =>
            value is [0, (byte)'r', _, ..] ? System.Text.Encoding.UTF8.GetString(value, 2, value.Length - 2) : null;
    }
}

/// <summary>How <see cref="CollectionCatalog.BeginRenameAsync"/> ended.</summary>
internal enum RenameStart
{
    /// <summary>The rename's moment passed: readers find the new name.</summary>
    Started,

    /// <summary>The source is not a collection (or was dropped meanwhile).</summary>
    SourceMissing,

    /// <summary>The source is the new name of a rename whose records are not tidied up yet.</summary>
    SourceRenaming,

    /// <summary>The target's key is taken: a collection, a rename's record, or another node's create that won.</summary>
    TargetExists,
}
