using Microsoft.Extensions.DependencyInjection;
using NATS.Client.KeyValueStore;
using Quiver.Server.Hosting;
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
        var bucket = await Retry.UntilAsync(TimeSpan.FromSeconds(30), c => kv.CreateOrUpdateStoreAsync(
            new NatsKVConfig(Bucket(config.Cluster)) { NumberOfReplicas = config.Replicas, History = 1 }, c).AsTask(), ct).ConfigureAwait(false);
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
                security._revision = stored is { } old
                    ? await bucket.UpdateAsync(Key, initial, old.Revision, cancellationToken: ct).ConfigureAwait(false)
                    : await bucket.CreateAsync(Key, initial, cancellationToken: ct).ConfigureAwait(false);
                break;
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
                if (failed is not NatsKVWrongLastRevisionException || conflicts >= MaxConflicts)
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
        var stored = await ReadAsync(ct).ConfigureAwait(false);
        return stored is { } entry && Apply(entry.Value, entry.Revision, always: true);
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

    private async Task<(byte[] Value, ulong Revision)?> ReadAsync(CancellationToken ct)
    {
        var entry = await _bucket.TryGetEntryAsync<byte[]>(Key, cancellationToken: ct).ConfigureAwait(false);
        return entry.Success && entry.Value.Value is { Length: > 0 } value ? (value, entry.Value.Revision) : null;
    }

    /// <summary>The store's save: compare-and-set on the revision this copy came from. Runs inside
    /// <see cref="ChangeAsync"/>, which holds <see cref="_turn"/>.</summary>
    private void Save(byte[] state)
    {
        try
        {
            _revision = _bucket.UpdateAsync(Key, state, _revision).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is NatsKVException or NATS.Client.Core.NatsException or TimeoutException or OperationCanceledException)
        {
            _failed = e;
            throw NotStored(e);
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
                    if (entry.Operation != NatsKVOperation.Put || entry.Value is not { Length: > 0 } value)
                    {
                        continue;
                    }

                    await _turn.WaitAsync(ct).ConfigureAwait(false);
                    try
                    {
                        if (entry.Revision > _revision)
                        {
                            Apply(value, entry.Revision, always: false);
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

    /// <summary>Registers what the standalone server's gate and RBAC handlers (gRPC and REST) need: this state, the
    /// gate over it, a call pipeline and a <see cref="MilvusGrpcService"/> that serves only the RBAC RPCs (it has no
    /// engine: a node's collections live in its shards).</summary>
    public void Register(IServiceCollection services)
    {
        services.AddSingleton(this);
        services.AddSingleton(Store);
        services.AddSingleton(new ServerOptions { Security = Options });
        services.AddSingleton(_ => new AuditLog(null));
        services.AddSingleton<ISecurityGate>(sp => new SecurityGate(Options, Store, sp.GetRequiredService<AuditLog>()));
        services.AddSingleton<ICallObserver, NoCallObserver>();
        services.AddSingleton<CallPipeline>();
        services.AddSingleton(new InFlightBytes(Options.MaxMessageBytes * 4L));
        services.AddSingleton(_ => new MemoryReclaimer(TimeSpan.FromSeconds(2)));
        services.AddSingleton(sp => new MilvusGrpcService(null!, sp.GetRequiredService<ServerOptions>(), sp));
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
}
