using NATS.Client.KeyValueStore;
using Quiver.Server.Milvus;
using Quiver.Server.Security;

namespace Quiver.Cluster.Nodes;

/// <summary>
/// The cluster's users, roles, grants and privilege groups: one JSON document (the standalone server's
/// <c>users.json</c>) under the key <see cref="Key"/> of the replicated bucket <c>&lt;cluster&gt;-security</c>, held in
/// memory by every node in a <see cref="SecurityStore"/> and checked there by the standalone server's
/// <see cref="SecurityGate"/>.
/// </summary>
/// <remarks>
/// How a change reaches every node: a node changes its copy and writes the whole document with compare-and-set on the
/// revision it holds; when another node wrote first, the write is refused, the node reads the stored document and runs
/// the change again, so no change is lost and every node applies them in the bucket's order. The other nodes follow
/// the key with a watch, which pushes each revision to them as soon as JetStream stores it (one message on loopback),
/// and forget every remembered credential when it arrives. A refusal (unknown credential, missing privilege) is checked
/// once more against the stored document before it is answered, so a user, role or grant created through one node is
/// honoured by every other node from the moment its creation was acknowledged, without waiting for the watch. A
/// revocation or a dropped user takes effect on another node when the watch delivers it.
/// Server trap (as for the membership table, <see cref="KvMembershipTable"/>): nats-server before 2.9.21 may store two
/// updates made against the same revision, the later one built on a document without the earlier one's change. So
/// every stored value starts with the revision it was written to land at (8 bytes, little-endian); a value stored at
/// any other revision is skipped by readers and the watch (they walk back through the key's
/// <see cref="KvMembershipTable.History"/> revisions to the last one that landed where it meant to), and the node that
/// wrote it runs its change again, as after a refused write. Reads never take this node's copy back to an older
/// revision (a read served by a lagging replica).
/// </remarks>
internal sealed class ClusterSecurity : IAsyncDisposable
{
    /// <summary>The key of the document in the bucket.</summary>
    public const string Key = "state";

    /// <summary>How many times a change is run again after another node's change was stored first.</summary>
    private const int MaxConflicts = 64;

    private readonly INatsKVStore _bucket;
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task _watch = Task.CompletedTask;
    private ulong _revision;

    /// <summary>Why the last save of the change in progress failed; null when it did not (set under <see cref="_turn"/>).</summary>
    private Exception? _failed;

    private ClusterSecurity(INatsKVStore bucket, SecurityOptions options)
    {
        _bucket = bucket;
        Options = options;
    }

    /// <summary>The settings the gate enforces (authentication on or off, the standalone server's request limits).</summary>
    public SecurityOptions Options { get; }

    /// <summary>This node's copy of the state.</summary>
    public SecurityStore Store { get; private set; } = null!;

    /// <summary>The bucket's name for <paramref name="cluster"/>.</summary>
    public static string Bucket(string cluster) => $"{cluster}-security";

    /// <summary>Opens the bucket and reads the state; the first node of a cluster stores the initial state (the role
    /// <c>public</c>'s grants and, with authentication on, <c>root</c> with the configured password).</summary>
    public static async Task<ClusterSecurity> OpenAsync(INatsKVContext kv, NodeConfig config, CancellationToken ct)
    {
        var bucket = await KvBuckets.OpenAsync(kv, Bucket(config.Cluster), config.Replicas, TimeSpan.FromSeconds(30), ct, KvMembershipTable.History).ConfigureAwait(false);
        var options = new SecurityOptions { AuthEnabled = config.AuthEnabled, RootPassword = config.RootPassword };
        var security = new ClusterSecurity(bucket, options);
        var where = $"the cluster's bucket '{Bucket(config.Cluster)}'";
        while (true)
        {
            var stored = await Retry.UntilAsync(TimeSpan.FromSeconds(30), security.ReadAsync, ct).ConfigureAwait(false);
            var (store, initial) = SecurityStore.Shared(stored?.Value, options, where, security.Save);
            security.Store = store;
            if (initial is null)
            {
                security._revision = stored!.Value.Revision;
                break;
            }

            try
            {
                var expected = stored?.Revision ?? 0;
                var written = stored is { } old
                    ? await bucket.UpdateAsync(Key, Landing(initial, expected + 1), old.Revision, cancellationToken: ct).ConfigureAwait(false)
                    : await bucket.CreateAsync(Key, Landing(initial, 1), cancellationToken: ct).ConfigureAwait(false);
                if (written == expected + 1)
                {
                    security._revision = written;
                    break;
                }

                // Stored over another node's initial state (the server trap above): readers skip it; read again.
            }
            catch (Exception e) when (e is NatsKVCreateException or NatsKVWrongLastRevisionException)
            {
                // Another node stored its initial state first: use that one.
            }
        }

        security._watch = Task.Run(() => security.WatchAsync(security._stop.Token), CancellationToken.None);
        return security;
    }

    /// <summary>Runs <paramref name="change"/> (a handler that changes the state and saves it; a gRPC handler, or a whole
    /// REST endpoint whose answer the caller buffers) until it is stored: after another node's change was stored first,
    /// again on the state read anew. A change that cannot be stored (NATS unreachable) is undone here and refused as
    /// retriable (Milvus code 2).</summary>
    public async Task<T> ChangeAsync<T>(Func<Task<T>> change, CancellationToken ct)
    {
        await _turn.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            for (var conflicts = 0; ; conflicts++)
            {
                _failed = null;
                T result;
                try
                {
                    // A blocking save inside the store's lock (SecurityStore calls it synchronously): run off the
                    // request's thread. Changes of users and grants are rare administrative calls.
                    result = await Task.Run(change, CancellationToken.None).ConfigureAwait(false);
                }
                catch (MilvusException) when (_failed is not null)
                {
                    result = default!;
                }

                if (_failed is not { } failed)
                {
                    return result;
                }

                // The change is in this node's copy but not in the bucket: put the stored state back.
                await RefreshHeldAsync(ct).ConfigureAwait(false);
                if (failed is not (NatsKVWrongLastRevisionException or WrittenOverException) || conflicts >= MaxConflicts)
                {
                    throw NotStored(failed);
                }
            }
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>Reads the stored state and puts it in place when it is newer than this node's copy; true when it was.</summary>
    public async Task<bool> RefreshAsync(CancellationToken ct)
    {
        await _turn.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await RefreshHeldAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _turn.Release();
        }
    }

    private async Task<bool> RefreshHeldAsync(CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (await ReadAsync(ct).ConfigureAwait(false) is not { } entry)
            {
                return false;
            }

            // A read older than this copy came from a replica that lags: read again until it caught up (a few
            // seconds at most), rather than take the copy back.
            if (entry.Revision >= _revision || attempt >= 20)
            {
                return Apply(entry.Value, entry.Revision, always: true);
            }

            await Task.Delay(Retry.Pause, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Puts <paramref name="state"/> in place when its revision differs from the copy's (or, with
    /// <paramref name="always"/>, whenever the copy may hold an unsaved change). Called holding <see cref="_turn"/>.</summary>
    private bool Apply(byte[] state, ulong revision, bool always)
    {
        if (revision == _revision && !always)
        {
            return false;
        }

        var newer = revision != _revision;
        Store.Replace(state);
        _revision = revision;
        return newer;
    }

    /// <summary>The stored state (the latest value that landed at the revision it named) and the key's current
    /// revision, which the next write must find; null when nothing is stored.</summary>
    private async Task<(byte[] Value, ulong Revision)?> ReadAsync(CancellationToken ct)
    {
        var entry = await _bucket.TryGetEntryAsync<byte[]>(Key, cancellationToken: ct).ConfigureAwait(false);
        if (!entry.Success || entry.Value.Value is not { Length: > 0 } value)
        {
            return null;
        }

        var head = entry.Value.Revision;
        var revision = head;
        while (Landed(value, revision) is not { } state)
        {
            // Written over a change it did not see: the state is what stood before it.
            if (revision <= 1 || head - revision >= KvMembershipTable.History - 1)
            {
                throw new InvalidOperationException($"the security state's revisions {revision} to {head} were all written over changes they did not see; no earlier revision is kept");
            }

            revision--;
            var earlier = await _bucket.TryGetEntryAsync<byte[]>(Key, revision, cancellationToken: ct).ConfigureAwait(false);
            if (!earlier.Success || earlier.Value.Value is not { Length: > 0 } older)
            {
                return null;
            }

            value = older;
        }

        return (Landed(value, revision)!, head);
    }

    /// <summary><paramref name="state"/> prefixed with the revision it is written to land at.</summary>
    private static byte[] Landing(byte[] state, ulong revision)
    {
        var value = new byte[8 + state.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(value, revision);
        state.CopyTo(value, 8);
        return value;
    }

    /// <summary>The state in <paramref name="value"/> if it was stored at the revision it named, else null.</summary>
    private static byte[]? Landed(byte[] value, ulong revision) =>
        value.Length >= 8 && System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(value) == revision ? value[8..] : null;

    /// <summary>The store's save: compare-and-set on the revision this copy came from. Runs inside
    /// <see cref="ChangeAsync"/>, which holds <see cref="_turn"/>.</summary>
    private void Save(byte[] state)
    {
        var expected = _revision;
        var value = Landing(state, expected + 1);
        try
        {
            var written = _bucket.UpdateAsync(Key, value, expected).AsTask().GetAwaiter().GetResult();
            if (written != expected + 1)
            {
                // Stored over another node's change (the server trap above): readers skip it; run the change again.
                _failed = new WrittenOverException(expected, written);
                throw NotStored(_failed);
            }

            _revision = written;
        }
        catch (Exception e) when ((e is NatsKVWrongLastRevisionException || (e is NATS.Client.Core.NatsException or TimeoutException && e is not NatsKVException))
            && Outcome(expected, value) is { } stored)
        {
            // No answer (a loaded server, a leader moving), or a refusal of the client's own retry of a publish that was
            // stored but not answered: the revision it was to land at says what happened.
            if (stored)
            {
                _revision = expected + 1;
                return;
            }

            _failed = new WrittenOverException(expected, expected + 1);
            throw NotStored(_failed);
        }
        catch (Exception e) when (e is NatsKVException or NATS.Client.Core.NatsException or TimeoutException or OperationCanceledException)
        {
            _failed = e;
            throw NotStored(e);
        }
    }

    /// <summary>After a write of <paramref name="value"/> against <paramref name="expected"/> went unanswered or was
    /// refused as stale: true when
    /// it is stored at the revision it named, false when another value is, null when that revision holds nothing yet
    /// (the outcome is unknown).</summary>
    private bool? Outcome(ulong expected, byte[] value)
    {
        try
        {
            var entry = _bucket.TryGetEntryAsync<byte[]>(Key, expected + 1).AsTask().GetAwaiter().GetResult();
            return entry.Success ? entry.Value.Value is { } stored && stored.AsSpan().SequenceEqual(value) : null;
        }
        catch (Exception e) when (e is NATS.Client.Core.NatsException or TimeoutException)
        {
            return null;
        }
    }

    private async Task WatchAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await foreach (var entry in _bucket.WatchAsync<byte[]>(Key, opts: new NatsKVWatchOpts { UpdatesOnly = true }, cancellationToken: ct).ConfigureAwait(false))
                {
                    if (entry.Operation != NatsKVOperation.Put || entry.Value is not { Length: > 0 } value || Landed(value, entry.Revision) is not { } state)
                    {
                        continue;
                    }

                    await _turn.WaitAsync(ct).ConfigureAwait(false);
                    try
                    {
                        if (entry.Revision > _revision)
                        {
                            Apply(state, entry.Revision, always: false);
                        }
                    }
                    finally
                    {
                        _turn.Release();
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // The watch broke (a server failed over, the connection is reconnecting): read the state again so that
                // nothing changed meanwhile is missed, then watch again.
                await Task.Delay(Retry.Pause, ct).ConfigureAwait(false);
                try
                {
                    await RefreshAsync(ct).ConfigureAwait(false);
                }
                catch (Exception) when (!ct.IsCancellationRequested)
                {
                    // Still unreachable; the next round tries again.
                }
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _watch.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>The refusal of a change the bucket did not store (docs/errors.md, <c>cluster-security-not-stored</c>).</summary>
    internal static MilvusException NotStored(Exception cause) => new(MilvusCode.ServiceUnavailable,
        $"the change of users, roles or grants was not stored in the cluster's key-value store ({cause.Message}); retry", retriable: true);

    /// <summary>A write stored at a later revision than the one it named: another node's write came in between, and
    /// readers skip this one.</summary>
    private sealed class WrittenOverException(ulong expected, ulong written)
        : Exception($"written at revision {written} over another node's change, not at {expected + 1}");
}
