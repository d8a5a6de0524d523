namespace Quiver.Shards;

internal sealed partial class Shard
{
    /// <summary>Sets and removes properties of an index (<see cref="Indexing.IndexProperties"/>), durably. NotFound when the
    /// collection has no index of that name.</summary>
    public async Task AlterIndexPropertiesAsync(
        string indexName, IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string> remove, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var values = Indexing.IndexProperties.Check(set, remove);
        await _maintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var index = Meta.Indexes.FirstOrDefault(i => i.Name == indexName)
                ?? throw new QuiverException(QuiverErrorCode.NotFound, $"collection '{Meta.Name}' has no index named '{indexName}'");
            var properties = new Dictionary<string, string>(index.Properties, StringComparer.Ordinal);
            foreach (var key in remove)
            {
                properties.Remove(key);
            }

            foreach (var (key, value) in values)
            {
                properties[key] = value;
            }

            var altered = index with { Properties = properties };
            await PersistMetaAsync(Meta with { Indexes = [.. Meta.Indexes.Select(i => i.Id == index.Id ? altered : i)] }, cancellationToken)
                .ConfigureAwait(false);
        }
        finally
        {
            _maintenanceGate.Release();
        }
    }
}
