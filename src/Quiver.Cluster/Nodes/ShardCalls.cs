using System.Collections.Concurrent;
using System.Diagnostics;

namespace Quiver.Cluster.Nodes;

/// <summary>How the access layer calls a shard grain, whichever transport the client used (gRPC or REST v2). While the
/// shard's node is dying and Orleans has not yet voted it out and moved the shard, calls to it fail: a call that never
/// left this node is sent again, as is any read-only one, until the shard answers or <see cref="MoveTimeout"/> passes;
/// a write that may have reached the dying node is not repeated here (it may have been applied) and fails with
/// <see cref="ShardUnreachableException"/>, which each transport answers as Milvus code 2 (service unavailable,
/// retriable).</summary>
internal static class ShardCalls
{
    /// <summary>How long a call waits for its shard to become reachable again (its node died and Orleans is moving it).</summary>
    public static readonly TimeSpan MoveTimeout = TimeSpan.FromSeconds(90);

    /// <summary>At most this many shard keys are remembered as seen active (then the memory starts over).</summary>
    private const int MaxSeen = 65_536;

    /// <summary>Shard keys this process has seen active since their last failed call (see <see cref="InvokeAsync"/>).</summary>
    private static readonly ConcurrentDictionary<string, bool> SeenActive = new(StringComparer.Ordinal);

    /// <summary>Runs <paramref name="call"/> on the shard grain <paramref name="key"/>; <paramref name="method"/> names
    /// the call in the refusal, <paramref name="readOnly"/> says whether it changes nothing (safe to send twice).</summary>
    public static async Task<T> InvokeAsync<T>(IGrainFactory grains, string key, string method, bool readOnly, Func<IShardGrain, Task<T>> call, CancellationToken ct)
    {
        if (!readOnly && !SeenActive.ContainsKey(key))
        {
            // The shard's first write here (a create, a write after the shard moved): its activation opens the engine
            // over JetStream, which under load has taken longer than Orleans's 30-s response timeout, and a write that
            // times out cannot be sent again (it may have run). Activation is waited for as a call that changes nothing.
            await InvokeAsync(grains, key, method, readOnly: true, async g =>
            {
                await g.ReadyAsync().ConfigureAwait(false);
                return true;
            }, ct).ConfigureAwait(false);
            if (SeenActive.Count >= MaxSeen)
            {
                SeenActive.Clear();
            }

            SeenActive[key] = true;
        }

        if (method.EndsWith("DropCollection", StringComparison.Ordinal) || method.EndsWith("/collections/drop", StringComparison.Ordinal))
        {
            // The shard's grain closes after a drop; a collection created again under the name activates a new one.
            SeenActive.TryRemove(key, out _);
        }

        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await call(grains.GetGrain<IShardGrain>(key)).WaitAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsMoving(ex, readOnly) && clock.Elapsed < MoveTimeout && !ct.IsCancellationRequested)
            {
                SeenActive.TryRemove(key, out _);
                await Task.Delay(Retry.Pause, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException)
            {
                SeenActive.TryRemove(key, out _);
                throw new ShardUnreachableException(Reason(key, method, IsMoving(ex, readOnly)), ex);
            }
        }
    }

    /// <summary>The refusal's message: a call that surely did not run says so; a write that may have run says that
    /// the client cannot know whether it was applied.</summary>
    internal static string Reason(string key, string method, bool surelyNotApplied) => surelyNotApplied
        ? $"{method}: the shard of '{key}' did not become reachable within {MoveTimeout.TotalSeconds:0} s (its node stopped answering and the shard has not moved yet); retry later"
        : $"{method}: the node holding the shard of '{key}' stopped answering while the call was in flight, so it may or may not have been applied; retry once the shard has moved (upsert and delete are safe to repeat; check before repeating an insert)";

    /// <summary>True when the call failed because its shard's node is unreachable and may be sent again: for a write
    /// only when the message was rejected without being run (<see cref="OrleansMessageRejectionException"/>, such as
    /// an activation that is gone), and for read-only calls on any such failure. <see cref="SiloUnavailableException"/>
    /// derives from the rejection but also breaks calls already delivered to a silo declared dead, which may have run:
    /// repeating such a write could store its rows twice, so it is the client's to retry.</summary>
    private static bool IsMoving(Exception ex, bool readOnly) => ex switch
    {
        SiloUnavailableException => readOnly,
        OrleansMessageRejectionException => true,
        TimeoutException or OrleansException => readOnly,
        // An activation Orleans cancelled (or a shard's open stopped by its deactivation): the call did not run.
        OperationCanceledException => readOnly,
        _ => false,
    };
}

/// <summary>A call whose shard did not answer: its node is dying or the shard is still moving (see
/// <see cref="ShardCalls"/>). The message says whether the call may have been applied.</summary>
internal sealed class ShardUnreachableException(string message, Exception inner) : Exception(message, inner);
