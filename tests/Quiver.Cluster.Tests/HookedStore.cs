using System.Reflection;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster.Tests;

/// <summary>A KV store whose calls go to a hook first: the hook answers the calls it takes (a non-null result, such as
/// the write's task), and the store answers the rest (<see cref="LostAnswers.Forward"/>).</summary>
public class HookedStore : DispatchProxy
{
    private INatsKVStore _inner = null!;
    private Func<INatsKVStore, MethodInfo, object?[], object?> _hook = null!;

    internal static INatsKVStore Over(INatsKVStore inner, Func<INatsKVStore, MethodInfo, object?[], object?> hook)
    {
        var store = Create<INatsKVStore, HookedStore>();
        var proxy = (HookedStore)(object)store;
        (proxy._inner, proxy._hook) = (inner, hook);
        return store;
    }

    /// <inheritdoc/>
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        ArgumentNullException.ThrowIfNull(args);
        return _hook(_inner, targetMethod, args) ?? LostAnswers.Forward(_inner, targetMethod, args);
    }
}
