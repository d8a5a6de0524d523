using Quiver.Client;

namespace Quiver.Typed;

/// <summary>The <see cref="IQuiverClient"/> that <see cref="QuiverServiceCollectionExtensions.AddQuiver(Microsoft.Extensions.DependencyInjection.IServiceCollection)"/>
/// registers: resolving it does no I/O and never blocks; each call first awaits the data source's client (opened by the
/// first call, embedded or remote, with that call's cancellation token), then makes the call on it. Disposing it does
/// nothing: the data source owns the client and the container disposes the data source.</summary>
internal sealed class DeferredQuiverClient(QuiverDataSource source) : IQuiverClient
{
    private ValueTask<IQuiverClient> ClientAsync(CancellationToken cancellationToken) => source.GetClientAsync(cancellationToken);

    public async Task CreateDatabaseAsync(string name, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).CreateDatabaseAsync(name, cancellationToken).ConfigureAwait(false);

    public async Task DropDatabaseAsync(string name, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).DropDatabaseAsync(name, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<string>> ListDatabasesAsync(CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).ListDatabasesAsync(cancellationToken).ConfigureAwait(false);

    public async Task CreateCollectionAsync(string name, CollectionSchema schema, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).CreateCollectionAsync(name, schema, database, cancellationToken).ConfigureAwait(false);

    public async Task DropCollectionAsync(string name, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).DropCollectionAsync(name, database, cancellationToken).ConfigureAwait(false);

    public async Task<bool> HasCollectionAsync(string name, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).HasCollectionAsync(name, database, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<string>> ListCollectionsAsync(string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).ListCollectionsAsync(database, cancellationToken).ConfigureAwait(false);

    public async Task<CollectionInfo> DescribeCollectionAsync(string name, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).DescribeCollectionAsync(name, database, cancellationToken).ConfigureAwait(false);

    public async Task RenameCollectionAsync(string name, string newName, string? database, string? newDatabase, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).RenameCollectionAsync(name, newName, database, newDatabase, cancellationToken).ConfigureAwait(false);

    public async Task AlterCollectionPropertiesAsync(string collection, IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string>? remove, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).AlterCollectionPropertiesAsync(collection, set, remove, database, cancellationToken).ConfigureAwait(false);

    public async Task CreatePartitionAsync(string collection, string partition, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).CreatePartitionAsync(collection, partition, database, cancellationToken).ConfigureAwait(false);

    public async Task DropPartitionAsync(string collection, string partition, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).DropPartitionAsync(collection, partition, database, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<string>> ListPartitionsAsync(string collection, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).ListPartitionsAsync(collection, database, cancellationToken).ConfigureAwait(false);

    public async Task<bool> HasPartitionAsync(string collection, string partition, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).HasPartitionAsync(collection, partition, database, cancellationToken).ConfigureAwait(false);

    public async Task<MutationResult> InsertAsync(string collection, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).InsertAsync(collection, rows, partition, database, cancellationToken).ConfigureAwait(false);

    public async Task<MutationResult> UpsertAsync(string collection, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).UpsertAsync(collection, rows, partition, database, cancellationToken).ConfigureAwait(false);

    public async Task<MutationResult> DeleteAsync(string collection, IReadOnlyList<object> keys, string? partition, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).DeleteAsync(collection, keys, partition, database, cancellationToken).ConfigureAwait(false);

    public async Task<MutationResult> DeleteWhereAsync(string collection, string filter, IReadOnlyDictionary<string, object?>? filterParams, string? partition, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).DeleteWhereAsync(collection, filter, filterParams, partition, database, cancellationToken).ConfigureAwait(false);

    public async Task FlushAsync(string collection, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).FlushAsync(collection, database, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<Row>> GetAsync(string collection, IReadOnlyList<object> keys, IReadOnlyList<string>? outputFields, IReadOnlyList<string>? partitions, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).GetAsync(collection, keys, outputFields, partitions, database, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<Row>> QueryAsync(string collection, QueryRequest request, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).QueryAsync(collection, request, database, cancellationToken).ConfigureAwait(false);

    public async Task<SearchResult> SearchAsync(string collection, SearchRequest request, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).SearchAsync(collection, request, database, cancellationToken).ConfigureAwait(false);

    public async Task<SearchResult> HybridSearchAsync(string collection, HybridRequest request, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).HybridSearchAsync(collection, request, database, cancellationToken).ConfigureAwait(false);

    public async Task AddCollectionFieldAsync(string collection, FieldSchema field, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).AddCollectionFieldAsync(collection, field, database, cancellationToken).ConfigureAwait(false);

    public async Task CreateIndexAsync(string collection, IndexDefinition index, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).CreateIndexAsync(collection, index, database, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<IndexInfo>> DescribeIndexesAsync(string collection, string? fieldOrIndexName, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).DescribeIndexesAsync(collection, fieldOrIndexName, database, cancellationToken).ConfigureAwait(false);

    public async Task DropIndexAsync(string collection, string? indexName, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).DropIndexAsync(collection, indexName, database, cancellationToken).ConfigureAwait(false);

    public async Task WaitForIndexAsync(string collection, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).WaitForIndexAsync(collection, database, cancellationToken).ConfigureAwait(false);

    public async Task LoadCollectionAsync(string collection, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).LoadCollectionAsync(collection, database, cancellationToken).ConfigureAwait(false);

    public async Task ReleaseCollectionAsync(string collection, string? database, CancellationToken cancellationToken) =>
        await (await ClientAsync(cancellationToken).ConfigureAwait(false)).ReleaseCollectionAsync(collection, database, cancellationToken).ConfigureAwait(false);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
