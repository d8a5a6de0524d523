using System.Buffers.Binary;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster;

/// <summary>What <see cref="KvLandedKey.ReadAsync"/> found.</summary>
/// <param name="State">The latest state that landed where it was written to land; null when none is stored (the key
/// was never written, or its latest entry is a delete or purge).</param>
/// <param name="Head">The key's current revision, which the next write must find (0: never written).</param>
internal readonly record struct LandedRead(byte[]? State, ulong Head);

/// <summary>
/// One KV key changed only by compare-and-set, whose every acknowledged write stands, on the nats-server Debian ships.
/// </summary>
/// <remarks>
/// <para>Server trap: before nats-server 2.9.21 (Debian ships 2.9.10) the expected-revision check of a KV update is a
/// pre-check outside the replicated write (nats-server issue 4320), so two writers' updates made against the same
/// revision can both be stored, the later one built on a state without the earlier one's change. Every value therefore
/// starts with the revision it was written to land at (8 bytes, little-endian), followed by the state. A value stored at
/// any other revision was written over a change it did not see: readers skip it, walking back through the key's history
/// (the bucket must keep <see cref="History"/> revisions) to the latest value that landed where it meant to, and its
/// writer is told it did not land (<see cref="WriteAsync"/> answers false), so it reads again and runs its change again.</para>
/// <para>Unanswered writes: a write that gets no answer (a loaded server, a leader moving), or whose answer is a refusal
/// of the NATS client's own retry of a publish that was in fact stored, is settled by reading the revision it named:
/// stored there with these exact bytes, it landed; anything else there, it did not; nothing there yet, the same write is
/// sent again (it can land only once) for up to 30 s, after which the outcome is unknown and the NATS error is the
/// caller's.</para>
/// <para>The bucket must hold this key alone: a key's revisions are the bucket stream's sequence numbers, so the next
/// revision is the current one plus one only when no other key of the bucket is written. Reads go to the stream's
/// leader (<see cref="KvLeaderReads"/>), so a write acknowledged anywhere is seen by the next read anywhere.</para>
/// </remarks>
internal sealed class KvLandedKey(INatsKVStore store, string key)
{
    /// <summary>How many revisions the key's bucket keeps: enough to walk back past the values of every writer that
    /// raced one write (KV's maximum).</summary>
    public const int History = 64;

    /// <summary>How long a write that gets no answer, and whose revision stays empty, is sent again before its caller is
    /// told the outcome is unknown.</summary>
    private static readonly TimeSpan UnansweredWindow = TimeSpan.FromSeconds(30);

    /// <summary>The bucket.</summary>
    public INatsKVStore Store => store;

    /// <summary>The key.</summary>
    public string Key => key;

    /// <summary><paramref name="state"/> prefixed with the revision it is written to land at.</summary>
    public static byte[] Stamp(ReadOnlySpan<byte> state, ulong revision)
    {
        var value = new byte[8 + state.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(value, revision);
        state.CopyTo(value.AsSpan(8));
        return value;
    }

    /// <summary>The state in <paramref name="value"/> if it was stored at the revision it names, else null.</summary>
    public static byte[]? Landed(ReadOnlySpan<byte> value, ulong revision) =>
        value.Length >= 8 && BinaryPrimitives.ReadUInt64LittleEndian(value) == revision ? value[8..].ToArray() : null;

    /// <summary>The latest state that landed and the key's current revision.</summary>
    /// <exception cref="InvalidOperationException">Every revision the bucket keeps was written over another change
    /// (more racing writers than <see cref="History"/>), or a value has no revision stamp (not written by this class).</exception>
    public async Task<LandedRead> ReadAsync(CancellationToken ct)
    {
        var head = await KvLeaderReads.GetAsync(store, key, 0, ct).ConfigureAwait(false);
        if (head.Value is null)
        {
            return new LandedRead(null, head.Revision);
        }

        var entry = head;
        while (true)
        {
            if (entry.Deleted)
            {
                // A delete or purge below the head: what stands is what was written after it, and none of that landed;
                // nothing is stored.
                return new LandedRead(null, head.Revision);
            }

            if (entry.Value is { } value && Landed(value, entry.Revision) is { } state)
            {
                return new LandedRead(state, head.Revision);
            }

            var earlier = entry.Revision - 1;
            if (entry.Value is null || earlier == 0 || head.Revision - earlier >= History)
            {
                throw new InvalidOperationException(
                    $"the key '{key}' of bucket '{store.Bucket}' holds no value that landed at the revision it named, from revision {entry.Revision} to {head.Revision}; no earlier revision is kept");
            }

            entry = await KvLeaderReads.GetAsync(store, key, earlier, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Writes <paramref name="state"/> if the key is at revision <paramref name="expected"/> (0: never written
    /// or deleted with no revision known). True when it landed at <paramref name="expected"/> + 1; false when another
    /// write came first (the key moved on, or this one was stored over another's change and does not count): read again.
    /// NATS errors (no answer and the outcome unknown) are the caller's to retry: a retry with the same arguments is
    /// settled by the revision, so it never answers false for a write that landed.</summary>
    public async Task<bool> WriteAsync(ReadOnlyMemory<byte> state, ulong expected, CancellationToken ct)
    {
        var value = Stamp(state.Span, expected + 1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var written = await store.UpdateAsync(key, value, expected, cancellationToken: ct).ConfigureAwait(false);
                return written == expected + 1;
            }
            catch (NatsKVWrongLastRevisionException)
            {
                // Another write came first, or this is a retry (the client's or ours) of a publish of this value that was stored.
                return await OutcomeAsync(expected, value, ct).ConfigureAwait(false) ?? false;
            }
            catch (Exception e) when (e is NatsException or TimeoutException && e is not NatsKVException && !ct.IsCancellationRequested)
            {
                if (await TryOutcomeAsync(expected, value, ct).ConfigureAwait(false) is { } known)
                {
                    return known;
                }

                if (clock.Elapsed >= UnansweredWindow)
                {
                    throw;
                }

                // Nothing at the revision yet: the write was lost on its way, or is still on it. The same bytes against the
                // same revision can land only once, so send them again (a loaded machine drops requests; CI saw one).
                await Task.Delay(Retry.Pause, ct).ConfigureAwait(false);
            }
        }
    }


    /// <summary>After a write of <paramref name="value"/> against <paramref name="expected"/>: true when it is stored
    /// at the revision it named, false when something else is, null when that revision holds nothing yet.</summary>
    private async Task<bool?> OutcomeAsync(ulong expected, byte[] value, CancellationToken ct)
    {
        var stored = await KvLeaderReads.GetAsync(store, key, expected + 1, ct).ConfigureAwait(false);
        return stored.Revision == 0 ? null : stored.Value is { } bytes && bytes.AsSpan().SequenceEqual(value);
    }

    private async Task<bool?> TryOutcomeAsync(ulong expected, byte[] value, CancellationToken ct)
    {
        try
        {
            return await OutcomeAsync(expected, value, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or TimeoutException)
        {
            return null;
        }
    }
}
