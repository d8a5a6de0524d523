using Quiver.Indexing;

namespace Quiver;

/// <summary>Index statistics of a collection, for tests and health reports.</summary>
public sealed record IndexStatistics
{
    /// <summary>Segment indexes built by this process since it opened the folder.</summary>
    public required long Built { get; init; }

    /// <summary>Segment indexes loaded from their files (no rebuild) since open.</summary>
    public required long Loaded { get; init; }

    /// <summary>Index jobs queued or running for the whole engine.</summary>
    public required int PendingJobs { get; init; }
}

internal static class IndexDefinitionExtensions
{
    /// <summary>The kind, checked parameters and metric of a definition for a field; throws naming the problem.</summary>
    public static (IndexKind Kind, IndexParameters Params, MetricType Metric) Check(this IndexDefinition d, FieldSchema field)
    {
        if (!IndexKindNames.TryParse(d.IndexType, out var kind))
        {
            Throw.Invalid($"create index: unknown index_type '{d.IndexType}'; expected FLAT, HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ, ANNOY, DISKANN, BIN_FLAT, BIN_IVF_FLAT or AUTOINDEX");
        }

        if (field.IsSparseVector || kind is IndexKind.SparseInvertedIndex or IndexKind.SparseWand)
        {
            return Sparse.SparseIndexing.Check(d, field, kind);
        }

        if (!field.IsVector)
        {
            Throw.Invalid($"create index: field '{field.Name}' is {field.DataType}; {kind.ToMilvusName()} indexes vector fields");
        }

        var metric = d.Metric ?? field.Metric;
        if (metric != field.Metric && !field.MetricFromIndex)
        {
            Throw.Invalid($"create index: metric_type {metric} does not match field '{field.Name}', which uses {field.Metric}");
        }

        kind = VectorFieldRules.CheckIndex(field, kind, metric);
        var p = new IndexParameters(d.Params);
        if (kind == IndexKind.AutoIndex)
        {
            AutoIndex.Validate(p);
        }
        else
        {
            IndexFactory.Validate(kind, metric, p, field.Dimension!.Value);
        }

        return (kind, p, metric);
    }
}
