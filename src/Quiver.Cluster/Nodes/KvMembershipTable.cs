using NATS.Client.KeyValueStore;
using Orleans.Serialization;

namespace Quiver.Cluster.Nodes;

/// <summary>Orleans's membership table as one key of a JetStream KV bucket (3 replicas, the same servers as the log and
/// the catalog), so a cluster runs on one store. The whole table (its version, its etag and every silo's row) is one
/// value; every change reads it, checks the etags Orleans expects and writes it back by compare-and-set on the key's
/// revision, retrying when another silo's write came in between. The table etag moves only with a row's insert or
/// update, never with a heartbeat (<see cref="UpdateIAmAlive"/>), as Orleans's contract asks; rows keep their own etag.
/// A table of a few hundred silos stays far below the server's message limit.
/// The key is a <see cref="KvLandedKey"/>: before nats-server 2.9.21 (Debian ships 2.9.10) two silos' updates racing
/// within milliseconds can both be stored, the later one built on a table that lacks the earlier one's change (a status
/// update lost this way left a live silo "Joining" for good), so every value names the revision it must land at and
/// readers skip a value stored at any other. The silo whose write was skipped applies its change again on the table as
/// read; one write at a time per process keeps a silo's own changes in order. A write retried after a timeout is settled
/// by the revision it named, so an update that was stored answers true. Reads go to the bucket's stream leader.
/// The key is <c>silos</c>; tables written before it was (key <c>members</c>, without revision stamps) are not read, so
/// a cluster moves to this version with every node stopped, as docs/cluster-deploy.md says.</summary>
internal sealed class KvMembershipTable(INatsKVStore store, Serializer serializer) : IMembershipTable
{
    private const string Key = "silos";
    private static readonly TimeSpan RetryTimeout = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _writes = new(1, 1);
    private readonly KvLandedKey _key = new(store, Key);

    /// <summary>The bucket the table lives in, as every node and tool opens it.</summary>
    public static NatsKVConfig Bucket(string name, int replicas) => new(name) { NumberOfReplicas = replicas, History = KvLandedKey.History };

    /// <inheritdoc/>
    public async Task InitializeMembershipTable(bool tryInitTableVersion)
    {
        if (!tryInitTableVersion)
        {
            return;
        }

        var body = serializer.SerializeToArray(new MembershipDocument());
        await Retry.UntilAsync(RetryTimeout, async c =>
        {
            // Written only where nothing was ever written: false means another silo created it first, and the table
            // exists, which is all this asks.
            var table = await _key.ReadAsync(c).ConfigureAwait(false);
            return table.Head != 0 || await _key.WriteAsync(body, 0, c).ConfigureAwait(false);
        }, CancellationToken.None).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task DeleteMembershipTableEntries(string clusterId) =>
        Retry.UntilAsync(RetryTimeout, async c =>
        {
            await _key.Store.PurgeAsync(Key, cancellationToken: c).ConfigureAwait(false);
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
    private async Task<(MembershipDocument Doc, ulong Revision)> ReadAsync()
    {
        var read = await Retry.UntilAsync(RetryTimeout, _key.ReadAsync, CancellationToken.None).ConfigureAwait(false);
        return (read.State is { Length: > 0 } state ? serializer.Deserialize<MembershipDocument>(state)! : new MembershipDocument(), read.Head);
    }

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

                var body = serializer.SerializeToArray(doc);
                if (await Retry.UntilAsync(RetryTimeout, c => _key.WriteAsync(body, revision, c), CancellationToken.None).ConfigureAwait(false))
                {
                    return true;
                }

                // Another silo wrote first: read again and re-check against what it wrote.
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
