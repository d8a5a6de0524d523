using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;
using Quiver.Typed;

namespace Quiver.VectorData;

/// <summary>The Quiver schema, metrics and index types a record model maps to, and the scores the abstraction expects.</summary>
internal static class ModelSchema
{
    /// <summary>Longest string key, in UTF-8 bytes.</summary>
    public const int MaxKeyLength = 512;

    /// <summary>Suffix of the sparse field a BM25 function fills from a full-text indexed property.</summary>
    public const string Bm25Suffix = "_bm25";

    public static CollectionSchema Build(CollectionModel model)
    {
        var fields = new List<FieldSchema>();
        var functions = new List<CollectionFunction>();
        foreach (var p in model.Properties)
        {
            fields.Add(p switch
            {
                KeyPropertyModel k => KeyField(k),
                VectorPropertyModel v => VectorField(v),
                _ => DataField(p),
            });
        }

        foreach (var text in model.DataProperties.Where(d => d.IsFullTextIndexed))
        {
            // The text is analysed and a BM25 function keeps its term weights in a sparse field of its own, which
            // keyword hybrid search queries by text; the field is never read back (Milvus refuses to return it).
            if ((Nullable.GetUnderlyingType(text.Type) ?? text.Type) != typeof(string))
            {
                throw new NotSupportedException($"full-text property {text.ModelName} is {text.Type.Name}; Quiver indexes string properties for full-text search");
            }

            var sparse = Bm25Field(text);
            if (model.Properties.Any(p => p.StorageName == sparse))
            {
                throw new NotSupportedException($"full-text property {text.ModelName} needs a field named {sparse} for its BM25 terms, and another property is stored under that name");
            }

            var i = fields.FindIndex(f => f.Name == text.StorageName);
            fields[i] = fields[i] with { EnableAnalyzer = true };
            fields.Add(FieldSchema.SparseVector(sparse) with { Metric = MetricType.BM25 });
            functions.Add(CollectionFunction.BM25(sparse + "_fn", text.StorageName, sparse));
        }

        return new CollectionSchema { Fields = [.. fields], Functions = [.. functions] };
    }

    /// <summary>The sparse field holding a full-text property's BM25 terms: its storage name and <see cref="Bm25Suffix"/>.</summary>
    public static string Bm25Field(PropertyModel text) => text.StorageName + Bm25Suffix;

    /// <summary>The index type for a property's <see cref="IndexKind"/> (null: AUTOINDEX).</summary>
    public static string IndexType(VectorPropertyModel v) => v.IndexKind switch
    {
        null or Microsoft.Extensions.VectorData.IndexKind.Dynamic => "AUTOINDEX",
        Microsoft.Extensions.VectorData.IndexKind.Hnsw => "HNSW",
        Microsoft.Extensions.VectorData.IndexKind.Flat => Metric(v) == MetricType.Hamming ? "BIN_FLAT" : "FLAT",
        Microsoft.Extensions.VectorData.IndexKind.IvfFlat => Metric(v) == MetricType.Hamming ? "BIN_IVF_FLAT" : "IVF_FLAT",
        Microsoft.Extensions.VectorData.IndexKind.DiskAnn => "DISKANN",
        _ => throw new NotSupportedException($"index kind {v.IndexKind} of {v.ModelName} is not supported by Quiver (Hnsw, Flat, IvfFlat, DiskAnn, Dynamic)"),
    };

    /// <summary>The vector field of a property: FloatVector, Float16Vector (Half), Int8Vector (sbyte) or BinaryVector
    /// (BitArray, whose dimension is its bit count).</summary>
    private static FieldSchema VectorField(VectorPropertyModel v)
    {
        var type = ClrVectors.VectorType(v.EmbeddingType) ?? DataType.FloatVector;
        return new FieldSchema { Name = v.StorageName, DataType = type, Dimension = v.Dimensions, Metric = Metric(v) };
    }

    public static MetricType Metric(VectorPropertyModel v) => (ClrVectors.VectorType(v.EmbeddingType), v.DistanceFunction) switch
    {
        (DataType.BinaryVector, null or DistanceFunction.HammingDistance) => MetricType.Hamming,
        (DataType.BinaryVector, _) => throw new NotSupportedException(
            $"distance function {v.DistanceFunction} of {v.ModelName} is not supported for a BitArray vector (HammingDistance)"),
        (_, DistanceFunction.HammingDistance) => throw new NotSupportedException(
            $"distance function HammingDistance of {v.ModelName} needs a BitArray vector"),
        _ => FloatMetric(v),
    };

    private static MetricType FloatMetric(VectorPropertyModel v) => v.DistanceFunction switch
    {
        null or DistanceFunction.CosineSimilarity or DistanceFunction.CosineDistance => MetricType.Cosine,
        DistanceFunction.DotProductSimilarity => MetricType.IP,
        DistanceFunction.EuclideanDistance or DistanceFunction.EuclideanSquaredDistance => MetricType.L2,
        _ => throw new NotSupportedException(
            $"distance function {v.DistanceFunction} of {v.ModelName} is not supported by Quiver (CosineSimilarity, CosineDistance, DotProductSimilarity, EuclideanDistance, EuclideanSquaredDistance)"),
    };

    /// <summary>True when a larger score is a better hit (similarities); false for distances.</summary>
    public static bool HigherIsBetter(VectorPropertyModel v) =>
        Metric(v) != MetricType.Hamming && v.DistanceFunction is null or DistanceFunction.CosineSimilarity or DistanceFunction.DotProductSimilarity;

    /// <summary>The abstraction's score from Quiver's: Quiver's L2 is squared, COSINE and IP are similarities.</summary>
    public static double Score(VectorPropertyModel v, float quiverScore) => v.DistanceFunction switch
    {
        DistanceFunction.CosineDistance => 1 - quiverScore,
        DistanceFunction.EuclideanDistance => Math.Sqrt(Math.Max(0, quiverScore)),
        _ => quiverScore,
    };

    private static FieldSchema KeyField(KeyPropertyModel k)
    {
        var type = Nullable.GetUnderlyingType(k.Type) ?? k.Type;
        return type == typeof(long) ? FieldSchema.Int64Key(k.StorageName)
            : FieldSchema.VarCharKey(k.StorageName, type == typeof(Guid) ? 36 : MaxKeyLength);
    }

    private static FieldSchema DataField(PropertyModel p)
    {
        var type = Nullable.GetUnderlyingType(p.Type) ?? p.Type;
        if (type == typeof(string))
        {
            return FieldSchema.VarChar(p.StorageName, FieldSchema.MaxVarCharLength, nullable: true);
        }

        if (ClrVectors.IsTime(type))
        {
            return new FieldSchema { Name = p.StorageName, DataType = DataType.Timestamptz, Nullable = p.IsNullable };
        }

        if (ClrValues.ScalarType(type) is { } scalar)
        {
            return FieldSchema.Scalar(p.StorageName, scalar, p.IsNullable);
        }

        var element = type.IsArray ? type.GetElementType()! : type.GetGenericArguments()[0];
        return element == typeof(string)
            ? FieldSchema.Array(p.StorageName, DataType.VarChar, FieldSchema.MaxArrayCapacity, FieldSchema.MaxVarCharLength, nullable: true)
            : FieldSchema.Array(p.StorageName, ClrValues.ScalarType(element)!.Value, FieldSchema.MaxArrayCapacity, nullable: true);
    }
}
