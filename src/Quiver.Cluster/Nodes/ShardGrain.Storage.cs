namespace Quiver.Cluster.Nodes;

/// <summary>A shard grain's end: after its collection was dropped, the grain closes its engine, deletes the shard's
/// JetStream streams and buckets (<see cref="ShardStorage"/>) and deactivates, so a collection created again under the
/// same name activates a fresh grain over empty storage.</summary>
internal interface IShardStorageGrain : IGrainWithStringKey
{
    /// <summary>Closes the shard's engine, deletes its streams, buckets and placement record, and deactivates.</summary>
    Task DropStorageAsync();
}

internal sealed partial class ShardGrain : IShardStorageGrain
{
    /// <inheritdoc/>
    public async Task DropStorageAsync()
    {
        var key = this.GetPrimaryKeyString();
        // First the id is recorded as dropped, so that once this grain has gone, a call routed by a node's remembered entry
        // of the dropped collection activates a grain that opens nothing (ShardGrain.OpenAsync).
        var (database, id) = IdOf(key);
        await Task.Run(() => node.Catalog.MarkDroppedAsync(database, id, CancellationToken.None)).ConfigureAwait(true);
        ShardHost? host = null;
        try
        {
            host = await Opening.ConfigureAwait(true);
        }
        catch (Exception)
        {
            // The open failed: nothing to close.
        }

        // Calls that reach the grain before it deactivates are answered that the shard is gone.
        var dropped = Task.FromException<ShardHost>(Dropped(key));
        _ = dropped.Exception;
        Opening = dropped;
        if (host is not null)
        {
            // Off the grain's scheduler, as opening it is: closing checkpoints the engine into JetStream, deleted next.
            await Task.Run(() => host.DisposeAsync().AsTask()).ConfigureAwait(true);
        }

        if (node.ShardDropStep is { } step)
        {
            await step(key).ConfigureAwait(true);
        }

        await Task.Run(() => ShardStorage.DeleteAsync(node, key, CancellationToken.None)).ConfigureAwait(true);
        DeactivateOnIdle();
    }

    /// <summary>The answer to a call that reaches the shard's grain after its collection was dropped and before the grain
    /// deactivated (docs/errors.md, <c>cluster-shard-dropped</c>): retriable, since the collection may be created again.</summary>
    internal static QuiverException Dropped(string key) =>
        new(QuiverErrorCode.Unavailable, $"the shard of '{key}' {DroppedWords}");

    /// <summary>The words of <see cref="Dropped"/> after the shard's key.</summary>
    private const string DroppedWords = "was dropped; its grain is closing";

    /// <summary>True when <paramref name="reason"/>, the message of a refusal, is <see cref="Dropped"/>'s: the call reached
    /// a dropped collection's shard (a node routing a read by a remembered entry routes it again by the current one).
    /// Only the message crosses between nodes (<see cref="GrainBoundary"/>), so it is told by its words.</summary>
    internal static bool SaysDropped(string? reason) =>
        reason is not null && reason.StartsWith("the shard of '", StringComparison.Ordinal) && reason.EndsWith(DroppedWords, StringComparison.Ordinal);

    /// <summary>The database and storage id of shard grain <paramref name="key"/> (<c>{database}/{id}[/{shard}]</c>).</summary>
    internal static (string Database, string Id) IdOf(string key)
    {
        var parts = key.Split('/');
        return (parts[0], parts[1]);
    }
}
