namespace Quiver.Client.Embedded;

/// <summary><see cref="IQuiverClient"/> over a <see cref="QuiverEngine"/> in this process: every call goes straight to the
/// engine, with no copy or conversion.</summary>
internal sealed class EmbeddedQuiverClient(QuiverEngine engine, bool ownsEngine) : IQuiverClient
{
    /// <summary>The engine behind the client.</summary>
    public QuiverEngine Engine { get; } = engine;

    public Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default) =>
        Engine.CreateDatabaseAsync(name, cancellationToken);

    public Task DropDatabaseAsync(string name, CancellationToken cancellationToken = default) =>
        Engine.DropDatabaseAsync(name, cancellationToken);

    public Task<IReadOnlyList<string>> ListDatabasesAsync(CancellationToken cancellationToken = default) =>
        Engine.ListDatabasesAsync(cancellationToken);

    public Task CreateCollectionAsync(string name, CollectionSchema schema, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.CreateCollectionAsync(name, schema, database, cancellationToken);

    public Task DropCollectionAsync(string name, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.DropCollectionAsync(name, database, cancellationToken);

    public Task<bool> HasCollectionAsync(string name, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.HasCollectionAsync(name, database, cancellationToken);

    public Task<IReadOnlyList<string>> ListCollectionsAsync(string? database = null, CancellationToken cancellationToken = default) =>
        Engine.ListCollectionsAsync(database, cancellationToken);

    public Task<CollectionInfo> DescribeCollectionAsync(string name, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.DescribeCollectionAsync(name, database, cancellationToken);

    public Task RenameCollectionAsync(string name, string newName, string? database = null, string? newDatabase = null, CancellationToken cancellationToken = default) =>
        Engine.RenameCollectionAsync(name, newName, database, newDatabase, cancellationToken);

    public Task AlterCollectionPropertiesAsync(
        string collection, IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string>? remove = null, string? database = null,
        CancellationToken cancellationToken = default) =>
        Engine.AlterCollectionPropertiesAsync(collection, set, remove, database, cancellationToken);

    public Task CreatePartitionAsync(string collection, string partition, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.CreatePartitionAsync(collection, partition, database, cancellationToken);

    public Task DropPartitionAsync(string collection, string partition, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.DropPartitionAsync(collection, partition, database, cancellationToken);

    public Task<IReadOnlyList<string>> ListPartitionsAsync(string collection, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.ListPartitionsAsync(collection, database, cancellationToken);

    public Task<bool> HasPartitionAsync(string collection, string partition, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.HasPartitionAsync(collection, partition, database, cancellationToken);

    public Task<MutationResult> InsertAsync(
        string collection, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition = null, string? database = null,
        CancellationToken cancellationToken = default) =>
        Engine.InsertAsync(collection, rows, partition, database, cancellationToken);

    public Task<MutationResult> UpsertAsync(
        string collection, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition = null, string? database = null,
        CancellationToken cancellationToken = default) =>
        Engine.UpsertAsync(collection, rows, partition, database, cancellationToken);

    public Task<MutationResult> DeleteAsync(
        string collection, IReadOnlyList<object> keys, string? partition = null, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.DeleteAsync(collection, keys, partition, database, cancellationToken);

    public Task<MutationResult> DeleteWhereAsync(
        string collection, string filter, IReadOnlyDictionary<string, object?>? filterParams = null, string? partition = null, string? database = null,
        CancellationToken cancellationToken = default) =>
        Engine.DeleteWhereAsync(collection, filter, filterParams, partition, database, cancellationToken);

    public Task FlushAsync(string collection, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.FlushAsync(collection, database, cancellationToken);

    public Task<IReadOnlyList<Row>> GetAsync(
        string collection, IReadOnlyList<object> keys, IReadOnlyList<string>? outputFields = null, IReadOnlyList<string>? partitions = null,
        string? database = null, CancellationToken cancellationToken = default) =>
        Engine.GetAsync(collection, keys, outputFields, partitions, database, cancellationToken);

    public Task<IReadOnlyList<Row>> QueryAsync(string collection, QueryRequest request, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.QueryAsync(collection, request, database, cancellationToken);

    public Task<SearchResult> SearchAsync(string collection, SearchRequest request, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.SearchAsync(collection, request, database, cancellationToken);

    public Task<SearchResult> HybridSearchAsync(string collection, HybridRequest request, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.HybridSearchAsync(collection, request, database, cancellationToken);

    public Task AddCollectionFieldAsync(string collection, FieldSchema field, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.AddCollectionFieldAsync(collection, field, database, cancellationToken);

    public Task CreateIndexAsync(string collection, IndexDefinition index, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.CreateIndexAsync(collection, index, database, cancellationToken);

    public Task<IReadOnlyList<IndexInfo>> DescribeIndexesAsync(
        string collection, string? fieldOrIndexName = null, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.DescribeIndexesAsync(collection, fieldOrIndexName, database, cancellationToken);

    public Task DropIndexAsync(string collection, string? indexName = null, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.DropIndexAsync(collection, indexName, database, cancellationToken);

    public Task WaitForIndexAsync(string collection, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.WaitForIndexAsync(collection, database, cancellationToken);

    /// <summary>Embedded collections are always searchable: only checks that the collection exists, as the server does.</summary>
    public Task LoadCollectionAsync(string collection, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.DescribeCollectionAsync(collection, database, cancellationToken);

    /// <summary>Nothing to release embedded: only checks that the collection exists, as the server does.</summary>
    public Task ReleaseCollectionAsync(string collection, string? database = null, CancellationToken cancellationToken = default) =>
        Engine.DescribeCollectionAsync(collection, database, cancellationToken);

    public ValueTask DisposeAsync() => ownsEngine ? Engine.DisposeAsync() : ValueTask.CompletedTask;
}
