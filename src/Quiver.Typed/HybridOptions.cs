using System.Collections;

namespace Quiver.Typed;

/// <summary>What one search of a hybrid search looks for.</summary>
public enum QuiverHybridQueryKind
{
    /// <summary>A query vector, searched in a vector property.</summary>
    Vector,

    /// <summary>Keywords, searched by BM25 in a full-text property.</summary>
    FullText,

    /// <summary>A text embedded by the collection's <see cref="QuiverCollectionOptions.EmbeddingGenerator"/>, searched in
    /// a (float) vector property.</summary>
    EmbeddedText,
}

/// <summary>One search of a hybrid search (Milvus's <c>AnnSearchRequest</c>), made by <see cref="Vector(ReadOnlyMemory{float}, string?)"/>,
/// <see cref="FullText"/> or <see cref="EmbeddedText"/>; its settings default to the hybrid search's own
/// (set them with <c>with { Limit = ..., Filter = ... }</c>).</summary>
public sealed record QuiverHybridQuery
{
    private QuiverHybridQuery(QuiverHybridQueryKind kind, object? input, string? text, string? property)
    {
        Kind = kind;
        Input = input;
        Text = text;
        Property = property;
    }

    /// <summary>What this search looks for.</summary>
    public QuiverHybridQueryKind Kind { get; }

    /// <summary>The property (or field name) searched: a vector property, or for <see cref="QuiverHybridQueryKind.FullText"/>
    /// a full-text property; null when the record has a single one of that kind.</summary>
    public string? Property { get; }

    /// <summary>How many of this search's best hits enter the fusion; null (default) means the hybrid search's
    /// <see cref="QuiverHybridSearchOptions.Limit"/> + <see cref="QuiverHybridSearchOptions.Offset"/>.</summary>
    public int? Limit { get; init; }

    /// <summary>This search's filter; null (default) means <see cref="QuiverHybridSearchOptions.Filter"/> (with its
    /// placeholders' values, <see cref="QuiverHybridSearchOptions.FilterParams"/>).</summary>
    public string? Filter { get; init; }

    /// <summary>Index search parameters of this search (<c>ef</c>, <c>nprobe</c>, <c>drop_ratio_search</c>...). Default none.</summary>
    public IReadOnlyDictionary<string, string>? SearchParams { get; init; }

    /// <summary>The text of a full-text or embedded-text search; null for a vector.</summary>
    internal string? Text { get; }

    /// <summary>The query vector as given (float, Half, sbyte memory or a BitArray); null for a text.</summary>
    internal object? Input { get; }

    /// <summary>A search for a float vector (FloatVector field, or any dense field).</summary>
    public static QuiverHybridQuery Vector(ReadOnlyMemory<float> vector, string? property = null) => new(QuiverHybridQueryKind.Vector, vector, null, property);

    /// <summary>A search for a float16 vector.</summary>
    public static QuiverHybridQuery Vector(ReadOnlyMemory<Half> vector, string? property = null) => new(QuiverHybridQueryKind.Vector, vector, null, property);

    /// <summary>A search for an int8 vector.</summary>
    public static QuiverHybridQuery Vector(ReadOnlyMemory<sbyte> vector, string? property = null) => new(QuiverHybridQueryKind.Vector, vector, null, property);

    /// <summary>A search for a binary vector (bit i is bit i % 8 of byte i / 8).</summary>
    public static QuiverHybridQuery Vector(BitArray vector, string? property = null)
    {
        ArgumentNullException.ThrowIfNull(vector);
        return new(QuiverHybridQueryKind.Vector, vector, null, property);
    }

    /// <summary>A BM25 search for <paramref name="text"/>'s terms in a full-text property.</summary>
    public static QuiverHybridQuery FullText(string text, string? property = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new(QuiverHybridQueryKind.FullText, null, text, property);
    }

    /// <summary>A search for <paramref name="text"/>'s embedding by the collection's generator in a float vector property.</summary>
    public static QuiverHybridQuery EmbeddedText(string text, string? vectorProperty = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new(QuiverHybridQueryKind.EmbeddedText, null, text, vectorProperty);
    }
}

/// <summary>Options of hybrid searches (<c>QuiverCollection.HybridSearchAsync</c>).</summary>
public sealed record QuiverHybridSearchOptions
{
    /// <summary>Fused hits returned, 1..16,384. Default 10.</summary>
    public int Limit { get; init; } = 10;

    /// <summary>Best fused hits skipped first; <see cref="Limit"/> + offset at most 16,384. Default 0.</summary>
    public int Offset { get; init; }

    /// <summary>The filter of every search that sets none of its own; empty (default) means none.</summary>
    public string Filter { get; init; } = "";

    /// <summary>Values of the filters' <c>{name}</c> placeholders.</summary>
    public IReadOnlyDictionary<string, object?>? FilterParams { get; init; }

    /// <summary>How the searches' hits are fused: <see cref="HybridRanker.Rrf"/> or <see cref="HybridRanker.Weighted"/>
    /// (one weight per query, in order); null (default) means reciprocal rank fusion with k = 60 (Milvus's default).</summary>
    public HybridRanker? Ranker { get; init; }

    /// <summary>Returns vector properties filled in hits. Default false.</summary>
    public bool IncludeVectors { get; init; }

    /// <summary>Partitions searched; empty (default) means all.</summary>
    public IReadOnlyList<string> Partitions { get; init; } = [];

    /// <summary>Read consistency. Default <see cref="ConsistencyLevel.Strong"/>.</summary>
    public ConsistencyLevel Consistency { get; init; } = ConsistencyLevel.Strong;
}
