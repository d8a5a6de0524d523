using Microsoft.Extensions.AI;

namespace Quiver.Typed;

/// <summary>How <see cref="QuiverTypedExtensions.Collection{TRecord}(Quiver.Client.IQuiverClient, string, QuiverCollectionOptions?)"/>
/// maps and places a collection.</summary>
public sealed class QuiverCollectionOptions
{
    /// <summary>The record mapping in code; null (default) reads the record type's attributes.</summary>
    public QuiverRecordDefinition? Definition { get; init; }

    /// <summary>The database; null (default) means the client's database.</summary>
    public string? Database { get; init; }

    /// <summary>The index <see cref="QuiverCollection{TRecord}.EnsureCreatedAsync"/> builds on each vector field.
    /// Default <c>AUTOINDEX</c> (HNSW); <c>FLAT</c> gives exact results.</summary>
    public string VectorIndexType { get; init; } = "AUTOINDEX";

    /// <summary>Embeds texts for vector properties that name an <see cref="QuiverVectorAttribute.EmbedFrom"/> property
    /// (on insert and upsert) and for <c>SearchAsync(string text, ...)</c>; null (default) means none. The collection
    /// does not dispose it.</summary>
    public IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator { get; init; }
}

/// <summary>Options of inserts, upserts and deletes.</summary>
public sealed record QuiverWriteOptions
{
    /// <summary>The partition written; null (default) means <c>_default</c> (or the partition key's choice).</summary>
    public string? Partition { get; init; }
}

/// <summary>Options of reads by key.</summary>
public sealed record QuiverGetOptions
{
    /// <summary>Returns vector properties filled; false leaves them at their default. Default true.</summary>
    public bool IncludeVectors { get; init; } = true;

    /// <summary>Partitions read; empty (default) means all.</summary>
    public IReadOnlyList<string> Partitions { get; init; } = [];
}

/// <summary>Options of filter queries (<see cref="QuiverCollection{TRecord}.QueryAsync"/>).</summary>
public sealed record QuiverQueryOptions
{
    /// <summary>Values of the filter's <c>{name}</c> placeholders.</summary>
    public IReadOnlyDictionary<string, object?>? FilterParams { get; init; }

    /// <summary>At most this many records; null (default) returns every match, fetched in batches of
    /// <see cref="BatchSize"/> ordered by key. With a limit, <see cref="Offset"/> + limit is at most 16,384 and the
    /// records come in storage order.</summary>
    public int? Limit { get; init; }

    /// <summary>Matches skipped first (only with <see cref="Limit"/>). Default 0.</summary>
    public int Offset { get; init; }

    /// <summary>Records fetched per round trip when iterating every match. Default 1,000.</summary>
    public int BatchSize { get; init; } = 1_000;

    /// <summary>Returns vector properties filled. Default true.</summary>
    public bool IncludeVectors { get; init; } = true;

    /// <summary>Partitions read; empty (default) means all.</summary>
    public IReadOnlyList<string> Partitions { get; init; } = [];

    /// <summary>Read consistency. Default <see cref="ConsistencyLevel.Strong"/>.</summary>
    public ConsistencyLevel Consistency { get; init; } = ConsistencyLevel.Strong;
}

/// <summary>Options of vector searches (<c>QuiverCollection.SearchAsync</c>, every overload).</summary>
public sealed record QuiverSearchOptions
{
    /// <summary>Number of hits, 1..16,384. Default 10.</summary>
    public int Limit { get; init; } = 10;

    /// <summary>Best hits skipped first. Default 0.</summary>
    public int Offset { get; init; }

    /// <summary>A filter expression in Quiver's (Milvus's) language; empty (default) means none.</summary>
    public string Filter { get; init; } = "";

    /// <summary>Values of the filter's <c>{name}</c> placeholders.</summary>
    public IReadOnlyDictionary<string, object?>? FilterParams { get; init; }

    /// <summary>The vector property (or field name) searched; null (default) when the record has one vector.</summary>
    public string? VectorProperty { get; init; }

    /// <summary><c>FullTextSearchAsync</c>: the full-text property (or field name) searched; null (default) when the
    /// record has one.</summary>
    public string? TextProperty { get; init; }

    /// <summary>Returns vector properties filled in hits. Default false.</summary>
    public bool IncludeVectors { get; init; }

    /// <summary>Partitions searched; empty (default) means all.</summary>
    public IReadOnlyList<string> Partitions { get; init; } = [];

    /// <summary>Index search parameters (<c>ef</c>, <c>nprobe</c>...). Default none.</summary>
    public IReadOnlyDictionary<string, string>? SearchParams { get; init; }

    /// <summary>Read consistency. Default <see cref="ConsistencyLevel.Strong"/>.</summary>
    public ConsistencyLevel Consistency { get; init; } = ConsistencyLevel.Strong;
}

/// <summary>One search hit: the record and its score under the field's metric (distance for L2, similarity for IP and
/// COSINE).</summary>
/// <param name="Record">The record, with the properties the search returned.</param>
/// <param name="Score">The metric's value.</param>
/// <typeparam name="TRecord">The record type.</typeparam>
public sealed record QuiverSearchHit<TRecord>(TRecord Record, float Score);
