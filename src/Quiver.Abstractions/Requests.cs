using System.Collections.Immutable;

namespace Quiver;

/// <summary>Which data a read sees. Quiver applies every acknowledged write before acknowledging it, so Strong,
/// Session and Bounded all see every acknowledged write in embedded mode; the levels differ once a server sits between
/// client and engine. Eventually may read an older snapshot.</summary>
public enum ConsistencyLevel
{
    /// <summary>Every write acknowledged before the read began is visible.</summary>
    Strong = 0,
    /// <summary>The caller's own acknowledged writes are visible.</summary>
    Session = 1,
    /// <summary>Writes older than a small staleness bound are visible.</summary>
    Bounded = 2,
    /// <summary>No guarantee beyond eventually seeing writes.</summary>
    Eventually = 3,
}

/// <summary>A row as field name to value. Values are the canonical CLR types of <c>QuiverEngine</c>'s docs.</summary>
public sealed class Row : Dictionary<string, object?>
{
    /// <summary>An empty row.</summary>
    public Row()
        : base(StringComparer.Ordinal)
    {
    }

    /// <summary>A row with the given values.</summary>
    public Row(IDictionary<string, object?> values)
        : base(values, StringComparer.Ordinal)
    {
    }
}

/// <summary>Result of insert, upsert and delete.</summary>
public sealed record MutationResult
{
    /// <summary>Rows written (insert, upsert) or deleted (delete).</summary>
    public required long Count { get; init; }

    /// <summary>Primary keys of inserted/upserted rows in input order (long or string); for deletes by key, the keys given.</summary>
    public required IReadOnlyList<object> Keys { get; init; }

    /// <summary>The write's timestamp; a read at or after it sees the write.</summary>
    public required long Timestamp { get; init; }
}

/// <summary>A filter query.</summary>
public sealed record QueryRequest
{
    /// <summary>Boolean filter expression; empty means all rows (then a <see cref="Limit"/> is required unless counting).</summary>
    public string Filter { get; init; } = "";

    /// <summary>Values for <c>{name}</c> placeholders in <see cref="Filter"/>.</summary>
    public IReadOnlyDictionary<string, object?>? FilterParams { get; init; }

    /// <summary>Fields to return; the primary key is always returned. <c>*</c> means every field; <c>count(*)</c> returns
    /// only the number of matching rows under the key "count(*)".</summary>
    public IReadOnlyList<string> OutputFields { get; init; } = [];

    /// <summary>Maximum rows returned; default no limit (with a non-empty filter).</summary>
    public int? Limit { get; init; }

    /// <summary>Rows to skip first; default 0.</summary>
    public int Offset { get; init; }

    /// <summary>Restrict to these partitions; empty means all.</summary>
    public IReadOnlyList<string> Partitions { get; init; } = [];

    /// <summary>IANA time zone (Milvus's <c>timezone</c> parameter) for this read only: TIMESTAMPTZ values come back as
    /// text in it, and <c>ISO '...'</c> literals without an offset in the filter are read in it. Default null: the
    /// collection's <c>timezone</c> property, else UTC. A name that is no IANA zone is InvalidArgument.</summary>
    public string? Timezone { get; init; }

    /// <summary>Consistency level; default Strong.</summary>
    public ConsistencyLevel Consistency { get; init; } = ConsistencyLevel.Strong;
}

/// <summary>A top-k vector search (FLAT: exact).</summary>
public sealed record SearchRequest
{
    /// <summary>Largest top-k accepted.</summary>
    public const int MaxTopK = 16_384;

    /// <summary>Query vectors; one result list per vector.</summary>
    public required IReadOnlyList<float[]> Vectors { get; init; }

    /// <summary>Query vectors of a search on a <see cref="DataType.SparseFloatVector"/> field (then <see cref="Vectors"/>
    /// is empty); one result list per vector.</summary>
    public IReadOnlyList<SparseVector>? SparseVectors { get; init; }

    /// <summary>Query texts instead of <see cref="Vectors"/> (leave those empty): each is embedded by the TextEmbedding
    /// function that writes the searched field, as its inserts were; one result list per text. Default null.</summary>
    public IReadOnlyList<string>? QueryTexts { get; init; }

    /// <summary>The vector field to search; may be omitted when the schema has exactly one.</summary>
    public string? AnnsField { get; init; }

    /// <summary>Hits per query (top-k), 1..16,384; default 10.</summary>
    public int Limit { get; init; } = 10;

    /// <summary>Hits to skip per query (pagination); Limit + Offset must not exceed 16,384.</summary>
    public int Offset { get; init; }

    /// <summary>Boolean filter expression; empty means all rows.</summary>
    public string Filter { get; init; } = "";

    /// <summary>Values for <c>{name}</c> placeholders in <see cref="Filter"/>.</summary>
    public IReadOnlyDictionary<string, object?>? FilterParams { get; init; }

    /// <summary>Fields to return with each hit; <c>*</c> means all.</summary>
    public IReadOnlyList<string> OutputFields { get; init; } = [];

    /// <summary>Restrict to these partitions; empty means all.</summary>
    public IReadOnlyList<string> Partitions { get; init; } = [];

    /// <summary>The metric; must match the field's metric when given.</summary>
    public MetricType? Metric { get; init; }

    /// <summary>Range search: for L2, keep hits with distance &lt; Radius; for IP and COSINE, hits with score &gt; Radius.</summary>
    public double? Radius { get; init; }

    /// <summary>Range search inner bound: for L2, distance &gt;= RangeFilter; for IP and COSINE, score &lt;= RangeFilter.</summary>
    public double? RangeFilter { get; init; }

    /// <summary>Return at most <see cref="GroupSize"/> hits per distinct value of this scalar field, and Limit groups.</summary>
    public string? GroupByField { get; init; }

    /// <summary>Hits per group with <see cref="GroupByField"/>; default 1.</summary>
    public int GroupSize { get; init; } = 1;

    /// <summary>IANA time zone (Milvus's <c>timezone</c> parameter) for this read only: TIMESTAMPTZ values come back as
    /// text in it, and <c>ISO '...'</c> literals without an offset in the filter are read in it. Default null: the
    /// collection's <c>timezone</c> property, else UTC. A name that is no IANA zone is InvalidArgument.</summary>
    public string? Timezone { get; init; }

    /// <summary>Consistency level; default Strong.</summary>
    public ConsistencyLevel Consistency { get; init; } = ConsistencyLevel.Strong;

    /// <summary>Index search parameters by Milvus name: <c>ef</c> (HNSW), <c>nprobe</c> (IVF_*), <c>search_k</c> (ANNOY),
    /// <c>refine_k</c> (IVF_PQ re-rank factor), <c>search_list</c> (DISKANN candidate list, at least limit + offset), and Quiver's <c>exact</c> (<c>true</c>: ignore every index and scan
    /// exactly, for ground truth); values as invariant-culture text. Absent ones take the collection's default search
    /// parameters for the field (<see cref="DefaultSearchParamsProperty"/>), then the index's default; unknown names are an
    /// error. Segments without an index are searched exactly whatever these say.</summary>
    public IReadOnlyDictionary<string, string> SearchParams { get; init; } = System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty;

    /// <summary>The names <see cref="SearchParams"/> accepts.</summary>
    public static IReadOnlyList<string> IndexSearchParams { get; } = ["ef", "nprobe", "search_k", "refine_k", "search_list", "exact", "drop_ratio_search"];

    /// <summary>The collection property holding a vector field's default search parameters: the key is this prefix
    /// followed by the field name (<c>quiver.search_params.embedding</c>), the value a JSON object of
    /// <see cref="SearchParams"/> (<c>{"ef": 64}</c>). Set by <c>quiver tune --save</c> or
    /// <c>QuiverEngine.AlterCollectionPropertiesAsync</c>; checked when set.</summary>
    public const string DefaultSearchParamsProperty = "quiver.search_params.";

    /// <summary>The search parameter by which a Quiver cluster node sends a shard the collection-wide BM25 statistics to
    /// score with (the engine's <c>Bm25Shared</c>); an engine not opened for it drops it unread.</summary>
    internal const string Bm25StatisticsParam = "quiver_bm25_statistics";
}

/// <summary>One search hit.</summary>
public sealed record SearchHit
{
    /// <summary>Primary key (long or string).</summary>
    public required object Id { get; init; }

    /// <summary>L2: squared distance (smaller is closer). IP: inner product, COSINE: cosine similarity (larger is closer).</summary>
    public required float Score { get; init; }

    /// <summary>Requested output fields.</summary>
    public required Row Fields { get; init; }
}

/// <summary>Search results: one list of hits per query vector, best first.</summary>
public sealed record SearchResult
{
    /// <summary>Per query vector, its hits, best first.</summary>
    public required ImmutableArray<IReadOnlyList<SearchHit>> Hits { get; init; }

    /// <summary>How the search ran (segments searched by index or exactly, fallbacks): the engine's own statistics,
    /// read by the engine and its tests.</summary>
    internal object? EngineStats { get; init; }
}

/// <summary>A collection as described by <c>QuiverEngine.DescribeCollectionAsync</c>.</summary>
public sealed record CollectionInfo
{
    /// <summary>Collection name.</summary>
    public required string Name { get; init; }

    /// <summary>Database name.</summary>
    public required string Database { get; init; }

    /// <summary>Stable numeric id.</summary>
    public required long Id { get; init; }

    /// <summary>The schema.</summary>
    public required CollectionSchema Schema { get; init; }

    /// <summary>Partition names.</summary>
    public required IReadOnlyList<string> Partitions { get; init; }

    /// <summary>Creation timestamp (hybrid: milliseconds since the Unix epoch shifted left 18 bits).</summary>
    public required long CreatedTimestamp { get; init; }

    /// <summary>Live rows (inserted and not deleted).</summary>
    public required long RowCount { get; init; }

    /// <summary>Sealed segments on disk.</summary>
    public required int SealedSegments { get; init; }

    /// <summary>Growing (in-memory, WAL-backed) segments.</summary>
    public required int GrowingSegments { get; init; }

    /// <summary>Collection properties.</summary>
    public required IReadOnlyDictionary<string, string> Properties { get; init; }

    /// <summary>The collection's aliases, sorted.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    // ToString (Console.WriteLine(info)) lists the partitions, properties and aliases, not their types' names.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Member(nameof(Name), Name, first: true).Member(nameof(Database), Database).Member(nameof(Id), Id).Member(nameof(Schema), Schema)
            .Member(nameof(Partitions), Partitions).Member(nameof(CreatedTimestamp), CreatedTimestamp).Member(nameof(RowCount), RowCount)
            .Member(nameof(SealedSegments), SealedSegments).Member(nameof(GrowingSegments), GrowingSegments).Member(nameof(Properties), Properties)
            .Member(nameof(Aliases), Aliases);
        return true;
    }
}
