namespace Quiver.Typed;

/// <summary>Marks the record's primary key: a <see cref="long"/> (Int64 key) or a <see cref="string"/> (VarChar key).
/// Exactly one property of a record carries it.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true, AllowMultiple = false)]
public sealed class QuiverKeyAttribute : Attribute
{
    /// <summary>The field's name in the collection; default the property's name.</summary>
    public string? Name { get; set; }

    /// <summary>Int64 keys only: Quiver generates the keys and inserts leave the property at 0. Default false.</summary>
    public bool AutoId { get; set; }

    /// <summary>String keys only: maximum length in UTF-8 bytes. Default 256.</summary>
    public int MaxLength { get; set; } = 256;
}

/// <summary>Maps a scalar property to a field (every public read/write property without an attribute is mapped as a
/// scalar field too; this attribute sets its name or length).</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true, AllowMultiple = false)]
public sealed class QuiverFieldAttribute : Attribute
{
    /// <summary>The field's name in the collection; default the property's name.</summary>
    public string? Name { get; set; }

    /// <summary>Strings and string arrays: maximum length in UTF-8 bytes. Default 65,535.</summary>
    public int MaxLength { get; set; } = FieldSchema.MaxVarCharLength;

    /// <summary>Arrays: maximum number of elements. Default 4,096.</summary>
    public int MaxCapacity { get; set; } = FieldSchema.MaxArrayCapacity;

    /// <summary>The collection's partition key (an Int64 or string property). Default false.</summary>
    public bool IsPartitionKey { get; set; }

    /// <summary>String properties: analyse the text and keep its BM25 term weights in a sparse field of its own (the
    /// field's name and <see cref="QuiverCollection{TRecord}.Bm25Suffix"/>, filled by a BM25 function), so that
    /// <c>FullTextSearchAsync</c> and hybrid searches can search it by keywords. Default false.</summary>
    public bool FullTextSearch { get; set; }

    /// <summary>With <see cref="FullTextSearch"/>: Milvus <c>analyzer_params</c> JSON (docs/full-text-search.md); null
    /// (default) means the standard analyser.</summary>
    public string? AnalyzerParams { get; set; }
}

/// <summary>Maps a <c>float[]</c> or <see cref="ReadOnlyMemory{T}"/> of float property to a FloatVector field.</summary>
/// <param name="dimension">Number of components, 1..32,768.</param>
[AttributeUsage(AttributeTargets.Property, Inherited = true, AllowMultiple = false)]
public sealed class QuiverVectorAttribute(int dimension) : Attribute
{
    /// <summary>Number of components.</summary>
    public int Dimension { get; } = dimension;

    /// <summary>The field's name in the collection; default the property's name.</summary>
    public string? Name { get; set; }

    /// <summary>The metric searches use. Default <see cref="MetricType.Cosine"/>.</summary>
    public MetricType Metric { get; set; } = MetricType.Cosine;

    /// <summary>A string property whose text <see cref="QuiverCollectionOptions.EmbeddingGenerator"/> embeds into this
    /// (float) vector on insert and upsert, written back into the record; null (default): the record gives the vector.</summary>
    public string? EmbedFrom { get; set; }
}

/// <summary>Leaves a property out of the mapping.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true, AllowMultiple = false)]
public sealed class QuiverIgnoreAttribute : Attribute;
