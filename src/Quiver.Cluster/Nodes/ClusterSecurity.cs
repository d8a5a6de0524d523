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
/// The key is a <see cref="KvLandedKey"/>: nats-server before 2.9.21 may store two updates made against the same
/// revision, so every value names the revision it was written to land at; a value stored at any other revision is
/// skipped by readers and the watch, and the node that wrote it runs its change again, as after a refused write. Reads
/// go to the bucket's stream leader, and never take this node's copy back to an older revision.
/// </remarks>
internal sealed class ClusterSecurity : IAsyncDisposable
{
    /// <summary>The key of the document in the bucket.</summary>
    public const string Key = "state";

    /// <summary>How many times a change is run again after another node's change was stored first.</summary>
    private const int MaxConflicts = 64;

    private readonly KvLandedKey _key;
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task _watch = Task.CompletedTask;
    private ulong _revision;

    /// <summary>Why the last save of the change in progress failed; null when it did not (set under <see cref="_turn"/>).</summary>
    private Exception? _failed;

    private ClusterSecurity(INatsKVStore bucket, SecurityOptions options)
    {
        _key = new KvLandedKey(bucket, Key);
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
        var bucket = await KvBuckets.OpenAsync(kv, Bucket(config.Cluster), config.Replicas, TimeSpan.FromSeconds(30), ct, KvLandedKey.History).ConfigureAwait(false);
        var options = new SecurityOptions { AuthEnabled = config.AuthEnabled, RootPassword = config.RootPassword };
        var security = new ClusterSecurity(bucket, options);
        var where = $"the cluster's bucket '{Bucket(config.Cluster)}'";
        while (true)
        {
            var stored = await Retry.UntilAsync(TimeSpan.FromSeconds(30), security._key.ReadAsync, ct).ConfigureAwait(false);
            var (store, initial) = SecurityStore.Shared(stored.State, options, where, security.Save);
            security.Store = store;
            if (initial is null)
            {
                security._revision = stored.Head;
                break;
            }

            if (await Retry.UntilAsync(TimeSpan.FromSeconds(30), c => security._key.WriteAsync(initial, stored.Head, c), ct).ConfigureAwait(false))
            {
                security._revision = stored.Head + 1;
                break;
            }

            // Another node stored its initial state first: read again and use that one.
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
                if (failed is not WrittenOverException || conflicts >= MaxConflicts)
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
            if (await _key.ReadAsync(ct).ConfigureAwait(false) is not { State: { } state } entry)
            {
                return false;
            }

            // Reads go to the stream's leader, which holds every acknowledged write; a read older than this copy can
            // only come from a leader just elected that is still applying its log: read again rather than take the
            // copy back.
            if (entry.Head >= _revision || attempt >= 20)
            {
                return Apply(state, entry.Head, always: true);
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

    /// <summary>The store's save: compare-and-set on the revision this copy came from. Runs inside
    /// <see cref="ChangeAsync"/>, which holds <see cref="_turn"/>, on a thread of its own (the store saves synchronously).</summary>
    private void Save(byte[] state)
    {
        var expected = _revision;
        bool landed;
        try
        {
            landed = _key.WriteAsync(state, expected, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is NatsKVException or NATS.Client.Core.NatsException or TimeoutException or OperationCanceledException)
        {
            _failed = e;
            throw NotStored(e);
        }

        if (!landed)
        {
            // Another node's change was stored first (or this one was stored over it and does not count): run it again.
            _failed = new WrittenOverException(expected);
            throw NotStored(_failed);
        }

        _revision = expected + 1;
    }

    private async Task WatchAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await foreach (var entry in _key.Store.WatchAsync<byte[]>(Key, opts: new NatsKVWatchOpts { UpdatesOnly = true }, cancellationToken: ct).ConfigureAwait(false))
                {
                    if (entry.Operation != NatsKVOperation.Put || entry.Value is not { Length: > 0 } value || KvLandedKey.Landed(value, entry.Revision) is not { } state)
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

    /// <summary>A write that did not land at the revision it named: another node's change was stored first (the write
    /// was refused, or stored over that change and skipped by readers).</summary>
    private sealed class WrittenOverException(ulong expected)
        : Exception($"another node's change was stored at revision {expected + 1} first");
}
