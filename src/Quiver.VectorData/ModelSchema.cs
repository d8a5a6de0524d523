using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;
using Quiver.Typed;

namespace Quiver.VectorData;

/// <summary>The Quiver schema, metrics and index types a record model maps to, and the scores the abstraction expects.</summary>
internal static class ModelSchema
{
    /// <summary>Longest string key, in UTF-8 bytes.</summary>
    public const int MaxKeyLength = 512;

    public static CollectionSchema Build(CollectionModel model)
    {
        var fields = new List<FieldSchema>();
        foreach (var p in model.Properties)
        {
            fields.Add(p switch
            {
                KeyPropertyModel k => KeyField(k),
                VectorPropertyModel v => FieldSchema.Vector(v.StorageName, v.Dimensions, Metric(v)),
                _ => DataField(p),
            });
        }

        return new CollectionSchema { Fields = [.. fields] };
    }

    /// <summary>The index type for a property's <see cref="IndexKind"/> (null: AUTOINDEX).</summary>
    public static string IndexType(VectorPropertyModel v) => v.IndexKind switch
    {
        null or Microsoft.Extensions.VectorData.IndexKind.Dynamic => "AUTOINDEX",
        Microsoft.Extensions.VectorData.IndexKind.Hnsw => "HNSW",
        Microsoft.Extensions.VectorData.IndexKind.Flat => "FLAT",
        Microsoft.Extensions.VectorData.IndexKind.IvfFlat => "IVF_FLAT",
        Microsoft.Extensions.VectorData.IndexKind.DiskAnn => "DISKANN",
        _ => throw new NotSupportedException($"index kind {v.IndexKind} of {v.ModelName} is not supported by Quiver (Hnsw, Flat, IvfFlat, DiskAnn, Dynamic)"),
    };

    public static MetricType Metric(VectorPropertyModel v) => v.DistanceFunction switch
    {
        null or DistanceFunction.CosineSimilarity or DistanceFunction.CosineDistance => MetricType.Cosine,
        DistanceFunction.DotProductSimilarity => MetricType.IP,
        DistanceFunction.EuclideanDistance or DistanceFunction.EuclideanSquaredDistance => MetricType.L2,
        _ => throw new NotSupportedException(
            $"distance function {v.DistanceFunction} of {v.ModelName} is not supported by Quiver (CosineSimilarity, CosineDistance, DotProductSimilarity, EuclideanDistance, EuclideanSquaredDistance)"),
    };

    /// <summary>True when a larger score is a better hit (similarities); false for distances.</summary>
    public static bool HigherIsBetter(VectorPropertyModel v) =>
        v.DistanceFunction is null or DistanceFunction.CosineSimilarity or DistanceFunction.DotProductSimilarity;

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
