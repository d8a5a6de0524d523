namespace Quiver.Client;

/// <summary>
/// One client over Quiver wherever it runs: the embedded engine in this process (<c>QuiverClient.OpenEmbeddedAsync</c>)
/// or a server reached over the Milvus gRPC protocol (<c>QuiverClient.ConnectAsync</c>). Both take and return the
/// engine's own types (<see cref="CollectionSchema"/>, <see cref="Row"/>, <see cref="QueryRequest"/>,
/// <see cref="SearchRequest"/>, <see cref="SearchResult"/>...), so code written against the embedded engine moves to a
/// server by changing how the client is opened. Failures are <see cref="QuiverException"/> with a
/// <see cref="QuiverErrorCode"/> in both cases. Every member is thread-safe.
/// </summary>
/// <remarks>A <c>database</c> argument left null means the client's database: <c>default</c> embedded, and
/// <c>QuiverClientOptions.Database</c> remote.</remarks>
public interface IQuiverClient : IAsyncDisposable
{
    /// <summary>Creates a database (AlreadyExists when it exists).</summary>
    Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Drops an empty database; <c>default</c> cannot be dropped.</summary>
    Task DropDatabaseAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Database names.</summary>
    Task<IReadOnlyList<string>> ListDatabasesAsync(CancellationToken cancellationToken = default);

    /// <summary>Creates a collection with partition <c>_default</c>; the schema is validated (InvalidArgument names the rule).</summary>
    Task CreateCollectionAsync(string name, CollectionSchema schema, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Drops a collection and its data (NotFound when absent).</summary>
    Task DropCollectionAsync(string name, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>True when the collection exists.</summary>
    Task<bool> HasCollectionAsync(string name, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Collection names of a database.</summary>
    Task<IReadOnlyList<string>> ListCollectionsAsync(string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Schema, partitions and row count of a collection. Remote, the segment counts are 0 (Milvus does not report them).</summary>
    Task<CollectionInfo> DescribeCollectionAsync(string name, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Renames a collection, optionally moving it to another database.</summary>
    Task RenameCollectionAsync(string name, string newName, string? database = null, string? newDatabase = null, CancellationToken cancellationToken = default);

    /// <summary>Sets and removes collection properties (e.g. <c>collection.ttl.seconds</c>, or a vector field's default
    /// search parameters under <see cref="SearchRequest.DefaultSearchParamsProperty"/>); stored durably and returned by
    /// <see cref="DescribeCollectionAsync"/>. Remote: <c>AlterCollection</c> with properties and delete keys.</summary>
    Task AlterCollectionPropertiesAsync(
        string collection, IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string>? remove = null, string? database = null,
        CancellationToken cancellationToken = default);

    /// <summary>Creates a partition.</summary>
    Task CreatePartitionAsync(string collection, string partition, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Drops a partition and its rows.</summary>
    Task DropPartitionAsync(string collection, string partition, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Partition names of a collection.</summary>
    Task<IReadOnlyList<string>> ListPartitionsAsync(string collection, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>True when the partition exists.</summary>
    Task<bool> HasPartitionAsync(string collection, string partition, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Inserts rows; the batch is all-or-nothing (see <c>QuiverEngine.InsertAsync</c>).</summary>
    Task<MutationResult> InsertAsync(
        string collection, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition = null, string? database = null,
        CancellationToken cancellationToken = default);

    /// <summary>Inserts rows, replacing rows with the same primary key.</summary>
    Task<MutationResult> UpsertAsync(
        string collection, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition = null, string? database = null,
        CancellationToken cancellationToken = default);

    /// <summary>Deletes rows by primary key (long or string); absent keys are ignored.</summary>
    Task<MutationResult> DeleteAsync(
        string collection, IReadOnlyList<object> keys, string? partition = null, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes every row matching a filter expression.</summary>
    Task<MutationResult> DeleteWhereAsync(
        string collection, string filter, IReadOnlyDictionary<string, object?>? filterParams = null, string? partition = null, string? database = null,
        CancellationToken cancellationToken = default);

    /// <summary>Seals growing segments (never needed for durability).</summary>
    Task FlushAsync(string collection, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Rows by primary key in key order; absent keys skipped; default output every field.</summary>
    Task<IReadOnlyList<Row>> GetAsync(
        string collection, IReadOnlyList<object> keys, IReadOnlyList<string>? outputFields = null, IReadOnlyList<string>? partitions = null,
        string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Rows matching a filter, or their count with <c>count(*)</c>.</summary>
    Task<IReadOnlyList<Row>> QueryAsync(string collection, QueryRequest request, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Top-k vector search; one hit list per query vector, best first.</summary>
    Task<SearchResult> SearchAsync(string collection, SearchRequest request, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Hybrid search: each request searched on its own field with its own filter and limit, the hit lists fused
    /// per query by the ranker (RRF or weighted), then offset, limit and grouping applied. Remote: <c>HybridSearch</c>.</summary>
    Task<SearchResult> HybridSearchAsync(string collection, HybridRequest request, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Adds a field to an existing collection (Milvus 2.6's <c>AddCollectionField</c>): a scalar field that is
    /// nullable or has a default, which existing rows then read. Remote: <c>AddCollectionField</c>.</summary>
    Task AddCollectionFieldAsync(string collection, FieldSchema field, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Creates an index on a vector field; builds run in the background.</summary>
    Task CreateIndexAsync(string collection, IndexDefinition index, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>The collection's indexes with build progress; <paramref name="fieldOrIndexName"/> narrows to one.</summary>
    Task<IReadOnlyList<IndexInfo>> DescribeIndexesAsync(
        string collection, string? fieldOrIndexName = null, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Drops an index (by name; null for the collection's only index).</summary>
    Task DropIndexAsync(string collection, string? indexName = null, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Waits until every index covers every sealed segment; the token bounds the wait.</summary>
    Task WaitForIndexAsync(string collection, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Loads a collection for search. Embedded: a no-op (collections are always searchable). Remote:
    /// <c>LoadCollection</c>, which Milvus requires before search and query.</summary>
    Task LoadCollectionAsync(string collection, string? database = null, CancellationToken cancellationToken = default);

    /// <summary>Releases a loaded collection. Embedded: a no-op. Remote: <c>ReleaseCollection</c>.</summary>
    Task ReleaseCollectionAsync(string collection, string? database = null, CancellationToken cancellationToken = default);
}
