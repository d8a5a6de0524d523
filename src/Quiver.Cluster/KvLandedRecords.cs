using System.Security.Cryptography;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster;

/// <summary>What <see cref="KvLandedRecords.ReadAsync"/> found: the latest value of a key that landed where it was
/// written to land (<paramref name="Value"/>, the JSON its writer gave, with the stamp's members; at
/// <paramref name="Revision"/>), and the key's current revision (<paramref name="Head"/>), which the next write names.</summary>
internal readonly record struct LandedRecord(byte[] Value, ulong Revision, ulong Head);

/// <summary>
/// Records (JSON objects), one per key, in a KV bucket that holds many keys, changed only by compare-and-set, whose
/// every acknowledged write stands, on the nats-server Debian ships: <see cref="KvLandedKey"/> for a bucket of many keys.
/// </summary>
/// <remarks>
/// <para>Server trap: before nats-server 2.9.21 (Debian ships 2.9.10) the expected-revision check of a KV update is a
/// pre-check outside the replicated write (nats-server issue 4320), so two writers' updates made against the same
/// revision can both be stored: with plain compare-and-set, two nodes taking one job over would both be told they own
/// it. Each value therefore names the revision it was written over (member <c>"over"</c>) and carries a random tag
/// (<c>"tag"</c>: two writers of the same record against the same revision are told apart when a write's outcome is
/// settled by comparing bytes). A value landed when it is the key's first entry after the revision it names, so of the
/// writes racing over one revision exactly one landed: the first stored. A key's revisions are the bucket stream's
/// sequence numbers, shared with the bucket's other keys, so whether another entry of the key stands between is read
/// from the stream's leader, revision by revision (<see cref="KvLeaderReads.NextAsync"/>: one get per write of another
/// key in between), not computed as <see cref="KvLandedKey"/> computes it.</para>
/// <para>Readers take the latest value that landed, skipping the ones that did not; a writer is told whether its value
/// landed (<see cref="WriteAsync"/>), and one that did not reads again. The bucket must keep enough revisions per key
/// to walk back past the values of every writer that raced one write (<see cref="KvLandedKey.History"/>). A value
/// without the stamp (written before records were stamped) counts as landed, and so does a delete (it names no
/// revision): a value written over a revision before it did not land, and a record whose latest landed entry is a delete
/// reads as none. Reads go to the stream's leader
/// (<see cref="KvLeaderReads"/>).</para>
/// </remarks>
internal static class KvLandedRecords
{
    /// <summary>How long a write that gets no answer, and after whose revision nothing is stored, is sent again before
    /// its caller is told the outcome is unknown.</summary>
    private static readonly TimeSpan UnansweredWindow = TimeSpan.FromSeconds(30);

    /// <summary><paramref name="record"/> (a JSON object) stamped to land over <paramref name="over"/> (the key's current
    /// revision; 0 for a key never written), with a fresh tag. Stamp once per attempt and send the same bytes again
    /// when the attempt is retried: a retry is then settled by its bytes.</summary>
    public static byte[] Stamp(ReadOnlySpan<byte> record, ulong over)
    {
        var json = JsonNode.Parse(record)!.AsObject();
        json["over"] = over;
        json["tag"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        return System.Text.Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    /// <summary>The revision a stored value names, or null when it has none (written before records were stamped).</summary>
    public static ulong? Over(ReadOnlySpan<byte> value) =>
        JsonNode.Parse(value) is JsonObject json && json["over"] is JsonValue over ? over.GetValue<ulong>() : null;

    /// <summary>The latest value of <paramref name="key"/> that landed, and the key's current revision; null when the key
    /// was never written or its latest entry is a delete.</summary>
    /// <exception cref="InvalidOperationException">No value that landed is among the revisions the bucket keeps.</exception>
    public static async Task<LandedRecord?> ReadAsync(INatsKVStore store, string key, CancellationToken ct)
    {
        var head = await KvLeaderReads.GetAsync(store, key, 0, ct).ConfigureAwait(false);
        if (head.Value is null)
        {
            return null;
        }

        var entry = head;
        while (true)
        {
            var over = Over(entry.Value!);
            if (over is not { } after || !await AnyBetweenAsync(store, key, after, entry.Revision, ct).ConfigureAwait(false))
            {
                return new LandedRecord(entry.Value!, entry.Revision, head.Revision);
            }

            // Not landed: another value came first after the revision it names. The latest value that landed before it
            // is the last, walking forward from that revision, that is the first after its own (each entry's predecessor
            // is the one before it in the walk), or else the latest that landed at or before that revision.
            KvRead? found = null;
            var previous = after;
            var next = await KvLeaderReads.NextAsync(store, key, after + 1, entry.Revision - 1, ct).ConfigureAwait(false);
            while (next.Revision != 0)
            {
                // A delete always counts (it names no revision; a value written over one that came before it did not land).
                if (next.Deleted || (next.Value is not null && (Over(next.Value) is not { } nextOver || nextOver == previous)))
                {
                    found = next;
                }

                previous = next.Revision;
                next = await KvLeaderReads.NextAsync(store, key, next.Revision + 1, entry.Revision - 1, ct).ConfigureAwait(false);
            }

            if (found is { } landed)
            {
                return landed.Deleted ? null : new LandedRecord(landed.Value!, landed.Revision, head.Revision);
            }

            var earlier = after == 0 ? default : await KvLeaderReads.GetAsync(store, key, after, ct).ConfigureAwait(false);
            if (earlier.Deleted)
            {
                return null;
            }

            if (earlier.Value is null)
            {
                throw new InvalidOperationException(
                    $"the key '{key}' of bucket '{store.Bucket}' holds no value that landed over the revision it named, up to revision {head.Revision}; no earlier revision is kept");
            }

            entry = earlier;
        }
    }

    /// <summary>Replaces the record <paramref name="key"/> with <paramref name="record"/> if its latest landed value is
    /// still the one at <paramref name="revision"/> (the value its caller last wrote or read), answering the revision the
    /// new value landed at, or null when another writer's value landed since. A write that did not land because a value
    /// that did not land either came between (a writer that raced this one over the same revision: both stored, on
    /// nats-server 2.9.10) is written again over it; a write whose answer was lost is settled by its bytes; NATS errors
    /// are retried for up to <paramref name="timeout"/>.</summary>
    public static async Task<ulong?> ReplaceAsync(INatsKVStore store, string key, byte[] record, ulong revision, TimeSpan timeout, CancellationToken ct)
    {
        var over = revision;
        while (true)
        {
            var stamped = Stamp(record, over);
            if (await Retry.UntilAsync(timeout, c => WriteAsync(store, key, stamped, over, c), ct).ConfigureAwait(false) is { } landed)
            {
                return landed;
            }

            var now = await Retry.UntilAsync(timeout, c => ReadAsync(store, key, c), ct).ConfigureAwait(false);
            if (now is not { } stands || stands.Revision != revision)
            {
                return null;
            }

            over = stands.Head;
        }
    }

    /// <summary>Writes <paramref name="stamped"/> (<see cref="Stamp"/>ed over <paramref name="over"/>) if the key is at
    /// revision <paramref name="over"/> (0: a create): answers the revision it landed at, or null when another write came first (the key
    /// moved on, or this one was stored after another's over the same revision and does not count): read again. NATS
    /// errors (no answer and the outcome unknown) are the caller's to retry with the same bytes: a retry is settled by
    /// them, so it never answers null for a write that landed.</summary>
    public static async Task<ulong?> WriteAsync(INatsKVStore store, string key, byte[] stamped, ulong over, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var written = over == 0
                    ? await store.CreateAsync(key, stamped, cancellationToken: ct).ConfigureAwait(false)
                    : await store.UpdateAsync(key, stamped, over, cancellationToken: ct).ConfigureAwait(false);
                return await AnyBetweenAsync(store, key, over, written, ct).ConfigureAwait(false) ? null : written;
            }
            catch (Exception e) when (e is NatsKVWrongLastRevisionException or NatsKVCreateException)
            {
                // Another write came first, or this is a retry (the client's or ours) of a publish of these bytes that was stored.
                return await OutcomeAsync(store, key, stamped, over, ct).ConfigureAwait(false) is { } landed && landed != 0 ? landed : null;
            }
            catch (Exception e) when (e is NatsException or TimeoutException && e is not NatsKVException && !ct.IsCancellationRequested)
            {
                ulong? known;
                try
                {
                    known = await OutcomeAsync(store, key, stamped, over, ct).ConfigureAwait(false);
                }
                catch (Exception read) when (read is NatsException or TimeoutException)
                {
                    known = 0;
                }

                if (known is null)
                {
                    return null;
                }

                if (known != 0)
                {
                    return known;
                }

                if (clock.Elapsed >= UnansweredWindow)
                {
                    throw;
                }

                // Nothing after the revision yet: the write was lost on its way, or is still on it. The same bytes over the
                // same revision land only once, so send them again.
                await Task.Delay(Retry.Pause, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>After a write of <paramref name="stamped"/> over <paramref name="over"/>: the revision it landed at when
    /// it is the key's first entry after <paramref name="over"/>, null when another entry is, 0 when none is yet.</summary>
    private static async Task<ulong?> OutcomeAsync(INatsKVStore store, string key, byte[] stamped, ulong over, CancellationToken ct)
    {
        var head = await KvLeaderReads.GetAsync(store, key, 0, ct).ConfigureAwait(false);
        var first = head.Revision > over ? await KvLeaderReads.NextAsync(store, key, over + 1, head.Revision, ct).ConfigureAwait(false) : default;
        if (first.Revision == 0)
        {
            return 0;
        }

        return first.Value is { } bytes && bytes.AsSpan().SequenceEqual(stamped) ? first.Revision : null;
    }

    /// <summary>Whether the key has an entry stored after <paramref name="over"/> and before <paramref name="revision"/>
    /// (then the value at <paramref name="revision"/>, written over <paramref name="over"/>, did not land).</summary>
    private static async Task<bool> AnyBetweenAsync(INatsKVStore store, string key, ulong over, ulong revision, CancellationToken ct) =>
        revision > over + 1 && (await KvLeaderReads.NextAsync(store, key, over + 1, revision - 1, ct).ConfigureAwait(false)).Revision != 0;
}

/// <summary>A record's latest landed value is no longer the one its writer built on: another writer's value landed
/// since (<see cref="KvLandedRecords"/>; for an import job, another node took the job over).</summary>
internal sealed class KvRecordMovedException(string key) : Exception($"the record '{key}' was changed by another writer");
