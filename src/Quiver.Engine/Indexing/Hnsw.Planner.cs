namespace Quiver.Indexing;

/// <summary>The planner's model of an HNSW search.</summary>
internal sealed partial class HnswIndex
{
    /// <summary>An SQ8 code distance costs about this fraction of an exact float32 one (a quarter of the bytes, widened
    /// in registers).</summary>
    private const double CodeDistanceCost = 0.35;

    /// <summary>With an allow-list, the beam is widened by 1/sqrt(selectivity): hnswlib-style filtering keeps only allowed
    /// rows in the result beam, so a sparser list needs a wider beam to reach the same recall (the traversal itself
    /// already walks through disallowed nodes).</summary>
    public override AnnSearchParams ForSelectivity(in AnnSearchParams p, int k, double selectivity)
    {
        var ef = Math.Max(p.Ef > 0 ? p.Ef : Math.Max(k, DefaultEf), k);
        if (selectivity >= 1)
        {
            return p with { Ef = ef };
        }

        var widened = (int)Math.Min(32_768, Math.Ceiling(ef / Math.Sqrt(Math.Max(selectivity, 1e-6))));
        return p with { Ef = widened };
    }

    /// <summary>A layer-0 search expands about ef nodes and computes a code distance to each new neighbour (up to 2M), of
    /// which roughly half are new; a filtered one expands about 1/selectivity times more nodes before its beam holds
    /// ef allowed rows. Re-rank adds refine_k × k exact distances.</summary>
    public override double EstimateSearchCost(in AnnSearchParams p, int k, double selectivity)
    {
        var ef = Math.Max(p.Ef > 0 ? p.Ef : Math.Max(k, DefaultEf), k);
        var refine = p.RefineK > 0 ? p.RefineK : DefaultRefine;
        var expanded = ef / Math.Clamp(selectivity, 1e-6, 1);
        return Math.Min(expanded, Count) * _m * CodeDistanceCost + (refine * k);
    }
}
