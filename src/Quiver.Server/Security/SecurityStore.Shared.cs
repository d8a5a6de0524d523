using System.Text.Json;

namespace Quiver.Server.Security;

/// <summary>A store whose state lives elsewhere than the data folder: a cluster node's, kept in the cluster's key-value
/// store so that every node answers and enforces the same users, roles and grants. Each change is handed whole to the
/// save callback, which may refuse it (another node changed the state first); the owner then puts the newer state in
/// with <see cref="Replace"/> and runs the change again.</summary>
internal sealed partial class SecurityStore
{
    /// <summary>A store over <paramref name="state"/> (null: none stored yet) that writes every change through
    /// <paramref name="saveTo"/>. Returns the state to store first when there was none (the role <c>public</c>'s grants
    /// and, with authentication on, <c>root</c>), else null.</summary>
    public static (SecurityStore Store, byte[]? Initial) Shared(byte[]? state, SecurityOptions options, string where, Action<byte[]> saveTo)
    {
        var data = state is null ? new SecurityData() : Read(state, where);
        var seeded = false;
        if (state is null)
        {
            SeedPublicRole(data);
            seeded = true;
        }
        seeded |= AddRootIfNone(data, options, where);
        var store = new SecurityStore(where, data, saveTo);
        return (store, seeded ? store.Snapshot() : null);
    }

    /// <summary>Puts <paramref name="state"/> in place of the current state (another node's change, or the stored state
    /// after a refused save) and forgets every remembered credential.</summary>
    public void Replace(byte[] state)
    {
        var data = Read(state, _path);
        lock (_lock)
        {
            _data = data;
        }
        Invalidate();
    }

    /// <summary>The current state as stored.</summary>
    public byte[] Snapshot()
    {
        lock (_lock)
        {
            return JsonSerializer.SerializeToUtf8Bytes(_data, SecurityJson.Default.SecurityData);
        }
    }

    private static SecurityData Read(byte[] state, string where)
    {
        try
        {
            return JsonSerializer.Deserialize(state, SecurityJson.Default.SecurityData) ?? throw new InvalidDataException("it is empty");
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            throw new InvalidOperationException($"the security state in {where} is damaged: {e.Message}", e);
        }
    }
}
