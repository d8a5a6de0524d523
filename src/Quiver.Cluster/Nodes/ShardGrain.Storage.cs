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
        var host = _host;
        _host = null;
        if (host is not null)
        {
            // Off the grain's scheduler, as opening it is: closing checkpoints the engine into JetStream, deleted next.
            await Task.Run(() => host.DisposeAsync().AsTask()).ConfigureAwait(true);
        }

        await Task.Run(() => ShardStorage.DeleteAsync(node, key, CancellationToken.None)).ConfigureAwait(true);
        DeactivateOnIdle();
    }
}
