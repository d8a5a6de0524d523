using System.Reflection;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster.Tests;

/// <summary>A KV store whose next update, once armed (<see cref="LoseNext"/>), is stored but answered as if it were not: the update reaches the server,
/// and then the caller sees a timeout (<see cref="Loss.Timeout"/>, a lost acknowledgement), or the refusal the NATS client
/// gets when it resends a publish that was in fact stored (<see cref="Loss.Resent"/>: the resend is refused as stale);
/// or it is not stored at all and the caller sees a timeout (<see cref="Loss.Dropped"/>).
/// Every other call goes to the real store.</summary>
public class LostAnswers : DispatchProxy
{
    /// <summary>How an update's answer is lost.</summary>
    public enum Loss
    {
        /// <summary>No answer: a timeout.</summary>
        Timeout,

        /// <summary>The update is sent again with the same expected revision and the refusal of the resend is the answer.</summary>
        Resent,

        /// <summary>The update never reaches the server (not stored) and the caller sees a timeout: a request lost on a
        /// loaded machine.</summary>
        Dropped,
    }

    private INatsKVStore _inner = null!;
    private int _next = -1;

    /// <summary>How many updates had their answer lost.</summary>
    public int Lost { get; private set; }

    /// <summary><paramref name="inner"/>, answering every call as it does until an update is armed to lose its answer.</summary>
    public static (INatsKVStore Store, LostAnswers Proxy) Over(INatsKVStore inner)
    {
        var store = Create<INatsKVStore, LostAnswers>();
        var proxy = (LostAnswers)(object)store;
        proxy._inner = inner;
        return (store, proxy);
    }

    /// <summary>The next update (<c>UpdateAsync</c>) is stored and its answer lost as <paramref name="loss"/> says.</summary>
    public void LoseNext(Loss loss) => Volatile.Write(ref _next, (int)loss);

    /// <inheritdoc/>
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.Name == nameof(INatsKVStore.UpdateAsync) && Interlocked.Exchange(ref _next, -1) is >= 0 and var armed)
        {
            return new ValueTask<ulong>(LoseAsync(targetMethod, args!, (Loss)armed));
        }

        return Forward(_inner, targetMethod, args);
    }

    /// <summary>Calls <paramref name="method"/> on <paramref name="inner"/>, throwing what it throws (a store proxy's
    /// calls that it leaves alone).</summary>
    internal static object? Forward(INatsKVStore inner, MethodInfo method, object?[]? args)
    {
        try
        {
            return method.Invoke(inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    private async Task<ulong> LoseAsync(MethodInfo update, object?[] args, Loss loss)
    {
        if (loss == Loss.Dropped)
        {
            Lost++;
            throw new TimeoutException("the update was lost on its way (test)");
        }

        await (ValueTask<ulong>)update.Invoke(_inner, args)!;
        Lost++;
        if (loss == Loss.Timeout)
        {
            throw new TimeoutException("the acknowledgement was lost (test)");
        }

        // The resend of the same publish finds the key one revision further on.
        await (ValueTask<ulong>)update.Invoke(_inner, args)!;
        throw new InvalidOperationException("the resend of a stored update was not refused");
    }
}
