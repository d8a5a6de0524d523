using Quiver.Indexing;

namespace Quiver;

/// <summary>The rules of the FLOAT16, BFLOAT16, INT8 and BINARY vector fields: schema checks, and which index types and
/// metrics each type takes (Milvus's table: FLOAT16 / BFLOAT16 take every float index, INT8 takes HNSW only (and FLAT,
/// AUTOINDEX), BINARY takes BIN_FLAT and BIN_IVF_FLAT). Their raw input forms are <see cref="VectorCodec"/>'s.</summary>
internal static class VectorFieldRules
{
    public static void Validate(FieldSchema f)
    {
        var max = VectorCodec.MaxDimension(f.DataType);
        var dim = f.Dimension ?? 0;
        if (dim < 1 || dim > max)
        {
            Throw.Invalid($"vector field '{f.Name}' must have a dimension in 1..{max}, got {f.Dimension?.ToString() ?? "none"}");
        }

        if (f.DataType == DataType.BinaryVector && dim % 8 != 0)
        {
            Throw.Invalid($"binary vector field '{f.Name}': dim {dim} must be a multiple of 8");
        }

        if (!VectorCodec.MetricFits(f.DataType, f.Metric) && !f.MetricFromIndex)
        {
            Throw.Invalid($"vector field '{f.Name}' of type {f.DataType} cannot use metric {f.Metric.MilvusName()}; valid: {VectorCodec.MetricNames(f.DataType)}");
        }

        RefuseDefault(f);
    }

    /// <summary>Every vector type may be nullable (Milvus 2.6: a null row is left out of index builds and searches, and a
    /// query returns null for it), but none takes a default value.</summary>
    public static void RefuseDefault(FieldSchema f)
    {
        if (f.DefaultValue is not null)
        {
            Throw.Invalid($"vector field '{f.Name}' cannot have a default value; make it nullable to allow rows without a vector");
        }
    }

    /// <summary>Refuses an index type or metric the field's type does not take; AUTOINDEX on a BINARY field is
    /// BIN_IVF_FLAT, as in Milvus.</summary>
    public static IndexKind CheckIndex(FieldSchema field, IndexKind kind, MetricType metric)
    {
        if (!VectorCodec.MetricFits(field.DataType, metric))
        {
            Throw.Invalid($"create index: metric type {metric.MilvusName()} is not valid for {field.DataType} field '{field.Name}'; valid: {VectorCodec.MetricNames(field.DataType)}");
        }

        var fits = field.DataType switch
        {
            DataType.BinaryVector => kind is IndexKind.BinFlat or IndexKind.BinIvfFlat or IndexKind.AutoIndex,
            DataType.Int8Vector => kind is IndexKind.Hnsw or IndexKind.Flat or IndexKind.AutoIndex,
            _ => kind is not (IndexKind.BinFlat or IndexKind.BinIvfFlat),
        };
        if (!fits)
        {
            Throw.Invalid($"create index: index type {kind.ToMilvusName()} is not valid for {field.DataType} field '{field.Name}'; valid: {IndexNames(field.DataType)}");
        }

        return field.DataType == DataType.BinaryVector && kind == IndexKind.AutoIndex ? IndexKind.BinIvfFlat : kind;
    }

    private static string IndexNames(DataType type) => type switch
    {
        DataType.BinaryVector => "BIN_FLAT, BIN_IVF_FLAT, AUTOINDEX",
        DataType.Int8Vector => "HNSW, FLAT, AUTOINDEX",
        _ => "FLAT, HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ, ANNOY, DISKANN, AUTOINDEX",
    };
}
