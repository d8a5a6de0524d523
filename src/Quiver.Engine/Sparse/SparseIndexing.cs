using Quiver.Indexing;

namespace Quiver.Sparse;

/// <summary>Index definitions on sparse vector fields: which types, metrics and parameters they take.</summary>
internal static class SparseIndexing
{
    /// <summary>True for the index kinds that index sparse fields.</summary>
    public static bool IsSparse(IndexKind kind) => kind is IndexKind.SparseInvertedIndex or IndexKind.SparseWand;

    /// <summary>Checks a definition on a sparse field (or a sparse index type on a dense one). AUTOINDEX on a sparse field
    /// is SPARSE_INVERTED_INDEX, as in Milvus. Throws InvalidArgument naming the problem.</summary>
    public static (IndexKind Kind, IndexParameters Params, MetricType Metric) Check(IndexDefinition d, FieldSchema field, IndexKind kind)
    {
        if (!field.IsSparseVector)
        {
            Throw.Invalid($"create index: {kind.ToMilvusName()} indexes sparse vector fields; field '{field.Name}' is {field.DataType}");
        }

        if (kind == IndexKind.AutoIndex)
        {
            kind = IndexKind.SparseInvertedIndex;
        }

        if (!IsSparse(kind))
        {
            Throw.Invalid($"create index: sparse vector field '{field.Name}' takes SPARSE_INVERTED_INDEX, SPARSE_WAND or AUTOINDEX, not {kind.ToMilvusName()}");
        }

        var metric = d.Metric ?? field.Metric;
        if (metric != field.Metric)
        {
            Throw.Invalid($"create index: sparse vector field '{field.Name}' supports metric {field.Metric} only, got {metric}");
        }

        var p = new IndexParameters(d.Params);
        _ = SparseIndexOptions.Parse(kind, p);
        if (metric == MetricType.BM25)
        {
            _ = Bm25Parameters.Parse(p, kind.ToMilvusName());
        }
        return (kind, p, metric);
    }
}
