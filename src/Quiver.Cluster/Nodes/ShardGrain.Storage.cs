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

        await Task.Run(() => ShardStorage.DeleteAsync(node, key, CancellationToken.None)).ConfigureAwait(true);
        DeactivateOnIdle();
    }

    /// <summary>The answer to a call that reaches the shard's grain after its collection was dropped and before the grain
    /// deactivated (docs/errors.md, <c>cluster-shard-dropped</c>): retriable, since the collection may be created again.</summary>
    internal static QuiverException Dropped(string key) =>
        new(QuiverErrorCode.Unavailable, $"the shard of '{key}' was dropped; its grain is closing");
}
