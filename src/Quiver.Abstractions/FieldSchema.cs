using System.Text.Json;

namespace Quiver;

/// <summary>One field of a collection schema. Immutable once the collection exists.</summary>
public sealed record FieldSchema
{
    /// <summary>Largest vector dimension accepted.</summary>
    public const int MaxDimension = 32_768;

    /// <summary>Largest VarChar <see cref="MaxLength"/> accepted, in UTF-8 bytes.</summary>
    public const int MaxVarCharLength = 65_535;

    /// <summary>Largest array <see cref="MaxCapacity"/> accepted.</summary>
    public const int MaxArrayCapacity = 4_096;

    /// <summary>Field name: letters, digits and underscores, starting with a letter or underscore, at most 255 characters.</summary>
    public required string Name { get; init; }

    /// <summary>The field's type.</summary>
    public required DataType DataType { get; init; }

    /// <summary>True for the primary key field (exactly one per schema; Int64 or VarChar).</summary>
    public bool IsPrimaryKey { get; init; }

    /// <summary>For an Int64 primary key: Quiver generates the ids and inserts must not supply them.</summary>
    public bool AutoId { get; init; }

    /// <summary>VarChar (or VarChar array element) maximum length in UTF-8 bytes, 1..65,535.</summary>
    public int? MaxLength { get; init; }

    /// <summary>Vector dimension: 1..32,768 components, or for BinaryVector 8..262,144 bits (a multiple of 8).</summary>
    public int? Dimension { get; init; }

    /// <summary>The metric used to compare vectors of this field; default <see cref="MetricType.Cosine"/>.
    /// Fixed at creation because it decides what input is valid (zero vectors under cosine).</summary>
    public MetricType Metric { get; init; } = MetricType.Cosine;

    /// <summary>True when the field's index chooses its metric, as in Milvus, whose schemas carry no metric: creating an
    /// index on the field while it has none sets <see cref="Metric"/> to the index's metric_type (durably). Until then,
    /// and after the index is dropped, <see cref="Metric"/> stays what it last was; inserts refuse zero vectors only while
    /// it is COSINE, and binding COSINE is refused while the field holds a zero vector. Default false: the metric is fixed
    /// at creation and an index must match it.</summary>
    public bool MetricFromIndex { get; init; }

    /// <summary>Array element type.</summary>
    public DataType? ElementType { get; init; }

    /// <summary>Array maximum number of elements, 1..4,096.</summary>
    public int? MaxCapacity { get; init; }

    /// <summary>True for the collection's partition key (Milvus's <c>is_partition_key</c>; at most one Int64 or VarChar
    /// field, not the primary key, not nullable): rows are placed in <see cref="CollectionSchema.NumPartitions"/>
    /// partitions by a hash of this field, and reads whose filter pins it read only the matching partitions.</summary>
    public bool IsPartitionKey { get; init; }

    /// <summary>True if rows may leave this field null (or out).</summary>
    public bool Nullable { get; init; }

    /// <summary>Value stored when a row leaves the field out or sets it to null; must fit the field's type.</summary>
    public JsonElement? DefaultValue { get; init; }

    /// <summary>Free text.</summary>
    public string Description { get; init; } = "";

    /// <summary>VarChar only: the field's text is run through an analyzer (Milvus <c>enable_analyzer</c>), which
    /// TEXT_MATCH, PHRASE_MATCH and BM25 functions need.</summary>
    public bool EnableAnalyzer { get; init; }

    /// <summary>VarChar with <see cref="EnableAnalyzer"/>: Milvus <c>analyzer_params</c> JSON, kept as given (see
    /// <c>TextAnalysis.Analyzer.Create</c>); null means the standard analyzer.</summary>
    public string? AnalyzerParams { get; init; }

    /// <summary>VarChar with <see cref="EnableAnalyzer"/>: TEXT_MATCH and PHRASE_MATCH may filter on the field
    /// (Milvus <c>enable_match</c>); sealed segments keep a token index of it.</summary>
    public bool EnableMatch { get; init; }

    /// <summary>True for vector fields.</summary>
    public bool IsVector => DataType.IsDenseVector();

    /// <summary>True for <see cref="DataType.SparseFloatVector"/> fields, which are stored per row as index/value pairs
    /// (not in the dense vector store) and searched by inner product.</summary>
    public bool IsSparseVector => DataType == DataType.SparseFloatVector;

    /// <summary>Sparse float vector field; its metric is IP.</summary>
    public static FieldSchema SparseVector(string name) =>
        new() { Name = name, DataType = DataType.SparseFloatVector, Metric = MetricType.IP };

    /// <summary>Int64 primary key.</summary>
    public static FieldSchema Int64Key(string name, bool autoId = false) =>
        new() { Name = name, DataType = DataType.Int64, IsPrimaryKey = true, AutoId = autoId };

    /// <summary>VarChar primary key.</summary>
    public static FieldSchema VarCharKey(string name, int maxLength) =>
        new() { Name = name, DataType = DataType.VarChar, IsPrimaryKey = true, MaxLength = maxLength };

    /// <summary>Float vector field.</summary>
    public static FieldSchema Vector(string name, int dimension, MetricType metric = MetricType.Cosine) =>
        new() { Name = name, DataType = DataType.FloatVector, Dimension = dimension, Metric = metric };

    /// <summary>Scalar field of a fixed-size type.</summary>
    public static FieldSchema Scalar(string name, DataType type, bool nullable = false) =>
        new() { Name = name, DataType = type, Nullable = nullable };

    /// <summary>VarChar field.</summary>
    public static FieldSchema VarChar(string name, int maxLength, bool nullable = false) =>
        new() { Name = name, DataType = DataType.VarChar, MaxLength = maxLength, Nullable = nullable };

    /// <summary>JSON field.</summary>
    public static FieldSchema Json(string name, bool nullable = false) =>
        new() { Name = name, DataType = DataType.Json, Nullable = nullable };

    /// <summary>Array field.</summary>
    public static FieldSchema Array(string name, DataType elementType, int maxCapacity, int? maxLength = null, bool nullable = false) =>
        new() { Name = name, DataType = DataType.Array, ElementType = elementType, MaxCapacity = maxCapacity, MaxLength = maxLength, Nullable = nullable };
}
