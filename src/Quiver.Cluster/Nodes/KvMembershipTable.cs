using NATS.Client.KeyValueStore;
using Orleans.Serialization;

namespace Quiver.Cluster.Nodes;

/// <summary>Orleans's membership table as one key of a JetStream KV bucket (3 replicas, the same servers as the log and
/// the catalog), so a cluster runs on one store. The whole table (its version, its etag and every silo's row) is one
/// value; every change reads it, checks the etags Orleans expects and writes it back by compare-and-set on the key's
/// revision, retrying when another silo's write came in between. The table etag moves only with a row's insert or
/// update, never with a heartbeat (<see cref="UpdateIAmAlive"/>), as Orleans's contract asks; rows keep their own etag.
/// A table of a few hundred silos stays far below the server's message limit.
/// Server trap: before nats-server 2.9.21 (Debian ships 2.9.10) the expected-revision check of a KV update is a
/// pre-check outside the replicated write (nats-server issue 4320), so two silos' updates racing within milliseconds
/// can both be stored, the later one built on a table that lacks the earlier one's change (a status update lost this
/// way left a live silo "Joining" for good). So every write names the revision it must land at
/// (<see cref="MembershipDocument.Landing"/>); a value stored at any other revision was written over a change it did not
/// see, and readers skip it, walking back through the key's history (<see cref="History"/> revisions) to the latest
/// value that landed where it meant to. The silo whose write was skipped sees it from the revision it got and applies
/// its change again on the table as read; one write at a time per process keeps a silo's own changes in order.</summary>
internal sealed class KvMembershipTable(INatsKVStore store, Serializer serializer) : IMembershipTable
{
    /// <summary>How many revisions of the table the bucket keeps: enough to walk back past the values of every silo
    /// that raced one write (KV's maximum).</summary>
    public const int History = 64;

    private const string Key = "members";
    private static readonly TimeSpan RetryTimeout = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _writes = new(1, 1);

    /// <summary>The bucket the table lives in, as every node and tool opens it.</summary>
    public static NatsKVConfig Bucket(string name, int replicas) => new(name) { NumberOfReplicas = replicas, History = History };

    /// <inheritdoc/>
    public async Task InitializeMembershipTable(bool tryInitTableVersion)
    {
        if (!tryInitTableVersion)
        {
            return;
        }

        var body = serializer.SerializeToArray(new MembershipDocument { Landing = 1 });
        await Retry.UntilAsync(RetryTimeout, async c =>
        {
            try
            {
                await store.CreateAsync(Key, body, cancellationToken: c).ConfigureAwait(false);
            }
            catch (NatsKVCreateException)
            {
                // Another silo created it first: the table exists, which is all this asks.
            }

            return true;
        }, CancellationToken.None).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task DeleteMembershipTableEntries(string clusterId) =>
        Retry.UntilAsync(RetryTimeout, async c =>
        {
            await store.PurgeAsync(Key, cancellationToken: c).ConfigureAwait(false);
            return true;
        }, CancellationToken.None);

    /// <inheritdoc/>
    public Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate) =>
        ChangeAsync(doc =>
        {
            var kept = doc.Rows.Where(r => r.Entry.Status != SiloStatus.Dead || Later(r.Entry.StartTime, r.Entry.IAmAliveTime) >= beforeDate.UtcDateTime).ToList();
            var changed = kept.Count != doc.Rows.Count;
            doc.Rows = kept;
            return changed;
        });

    /// <inheritdoc/>
    public async Task<MembershipTableData> ReadRow(SiloAddress key)
    {
        var (doc, _) = await ReadAsync().ConfigureAwait(false);
        var row = doc.Rows.FirstOrDefault(r => r.Entry.SiloAddress.Equals(key));
        return row is null
            ? new MembershipTableData(doc.TableVersion)
            : new MembershipTableData(Tuple.Create(row.Entry, row.Etag), doc.TableVersion);
    }

    /// <inheritdoc/>
    public async Task<MembershipTableData> ReadAll()
    {
        var (doc, _) = await ReadAsync().ConfigureAwait(false);
        return new MembershipTableData([.. doc.Rows.Select(r => Tuple.Create(r.Entry, r.Etag))], doc.TableVersion);
    }

    /// <inheritdoc/>
    public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion) =>
        ChangeAsync(doc =>
        {
            if (doc.TableEtag != tableVersion.VersionEtag || doc.Rows.Any(r => r.Entry.SiloAddress.Equals(entry.SiloAddress)))
            {
                return false;
            }

            doc.Rows.Add(new MembershipRow { Entry = entry, Etag = "1" });
            doc.Advance(tableVersion);
            return true;
        });

    /// <inheritdoc/>
    public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion) =>
        ChangeAsync(doc =>
        {
            var row = doc.Rows.FirstOrDefault(r => r.Entry.SiloAddress.Equals(entry.SiloAddress));
            if (doc.TableEtag != tableVersion.VersionEtag || row is null || row.Etag != etag)
            {
                return false;
            }

            row.Entry = entry;
            row.Etag = NextEtag(row.Etag);
            doc.Advance(tableVersion);
            return true;
        });

    /// <inheritdoc/>
    public Task UpdateIAmAlive(MembershipEntry entry) =>
        ChangeAsync(doc =>
        {
            var row = doc.Rows.FirstOrDefault(r => r.Entry.SiloAddress.Equals(entry.SiloAddress));
            if (row is null)
            {
                throw new InvalidOperationException($"silo {entry.SiloAddress} has no row in the membership table");
            }

            row.Entry.IAmAliveTime = entry.IAmAliveTime;
            return true;
        });

    /// <summary>The counter after <paramref name="etag"/>: row and table etags are decimal counters.</summary>
    internal static string NextEtag(string etag) => (long.Parse(etag, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static DateTime Later(DateTime a, DateTime b) => a > b ? a : b;

    /// <summary>The table as it stands (the latest value that landed at the revision it named) and the key's current
    /// revision, which the next write must find (0: the key was never written).</summary>
    private async Task<(MembershipDocument Doc, ulong Revision)> ReadAsync() =>
        await Retry.UntilAsync(RetryTimeout, async c =>
        {
            ulong head;
            MembershipDocument? doc;
            try
            {
                var entry = await store.GetEntryAsync<byte[]>(Key, cancellationToken: c).ConfigureAwait(false);
                (head, doc) = (entry.Revision, Parse(entry.Value));
            }
            catch (NatsKVKeyNotFoundException)
            {
                return (new MembershipDocument(), 0UL);
            }
            catch (NatsKVKeyDeletedException deleted)
            {
                // Purged (DeleteMembershipTableEntries): an empty table, written next over the purge's revision.
                return (new MembershipDocument(), deleted.Revision);
            }

            var revision = head;
            while (doc is { Landing: not 0 } && doc.Landing != revision)
            {
                // Written over a change it did not see (the server trap above): the table is what stood before it.
                if (revision <= 1 || head - revision >= History - 1)
                {
                    throw new InvalidOperationException($"the membership table's revisions {revision} to {head} were all written over changes they did not see; no earlier revision is kept");
                }

                revision--;
                try
                {
                    doc = Parse((await store.GetEntryAsync<byte[]>(Key, revision, cancellationToken: c).ConfigureAwait(false)).Value);
                }
                catch (NatsKVKeyDeletedException)
                {
                    doc = null;
                }
            }

            return (doc ?? new MembershipDocument(), head);
        }, CancellationToken.None).ConfigureAwait(false);

    private MembershipDocument? Parse(byte[]? value) => value is { Length: > 0 } ? serializer.Deserialize<MembershipDocument>(value) : null;

    /// <summary>Reads the table, lets <paramref name="change"/> edit it (false: nothing to write, the answer is false) and
    /// writes it back if the key is still at the revision read. A write by another silo in between (refused, or stored at a
    /// later revision than the one named, which readers skip) starts it over on the table as it then stands.</summary>
    private async Task<bool> ChangeAsync(Func<MembershipDocument, bool> change)
    {
        await _writes.WaitAsync().ConfigureAwait(false);
        try
        {
            while (true)
            {
                var (doc, revision) = await ReadAsync().ConfigureAwait(false);
                if (!change(doc))
                {
                    return false;
                }

                doc.Landing = revision + 1;
                var body = serializer.SerializeToArray(doc);
                var written = await Retry.UntilAsync(RetryTimeout, async c =>
                {
                    try
                    {
                        return revision == 0
                            ? await store.CreateAsync(Key, body, cancellationToken: c).ConfigureAwait(false)
                            : await store.UpdateAsync(Key, body, revision, cancellationToken: c).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is NatsKVCreateException or NatsKVWrongLastRevisionException)
                    {
                        // Another silo wrote first: read again and re-check against what it wrote.
                        return 0UL;
                    }
                }, CancellationToken.None).ConfigureAwait(false);
                if (written == revision + 1)
                {
                    return true;
                }
            }
        }
        finally
        {
            _writes.Release();
        }
    }
}

/// <summary>The membership table as stored: Orleans's own serializer writes it.</summary>
[GenerateSerializer]
internal sealed class MembershipDocument
{
    /// <summary>The table version Orleans last wrote.</summary>
    [Id(0)]
    public int Version { get; set; }

    /// <summary>The table's etag: a counter moved by every insert and update of a row.</summary>
    [Id(1)]
    public string TableEtag { get; set; } = "0";

    /// <summary>One row per silo generation.</summary>
    [Id(2)]
    public List<MembershipRow> Rows { get; set; } = [];

    /// <summary>The key revision this value was written to land at: a value stored at another revision was written over
    /// a change it did not see and does not count (0: written before this field existed, taken as it stands).</summary>
    [Id(3)]
    public ulong Landing { get; set; }

    /// <summary>The table version as Orleans reads it.</summary>
    public TableVersion TableVersion => new(Version, TableEtag);

    /// <summary>Takes the version Orleans wrote and moves the etag.</summary>
    public void Advance(TableVersion written)
    {
        Version = written.Version;
        TableEtag = KvMembershipTable.NextEtag(TableEtag);
    }
}

/// <summary>One silo's row and its etag.</summary>
[GenerateSerializer]
internal sealed class MembershipRow
{
    /// <summary>The silo's entry.</summary>
    [Id(0)]
    public MembershipEntry Entry { get; set; } = new();

    /// <summary>The row's etag, a counter.</summary>
    [Id(1)]
    public string Etag { get; set; } = "1";
}
