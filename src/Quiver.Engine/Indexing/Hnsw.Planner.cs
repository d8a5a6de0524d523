namespace Quiver.Indexing;

/// <summary>The planner's model of an HNSW search.</summary>
internal sealed partial class HnswIndex
{
    /// <summary>A random memory access (a neighbour's code, a heap level) costs about what this many float dimensions
    /// of an exact distance do: fitted to the <c>filters</c> bench, where an expanded node of an M 16 graph costs about
    /// 13 exact 128-d distances and 5.5 exact 784-d ones (docs/engine.md). Not measured below 128 dimensions, so the
    /// price is held at its 128-d value there (<see cref="FittedFromDimension"/>).</summary>
    private const double RandomAccessDimensions = 70;

    /// <summary>The fewest dimensions the random-access price was fitted at.</summary>
    private const int FittedFromDimension = 128;

    /// <summary>The compute part of an SQ8 code distance as a fraction of an exact float32 one (a quarter of the bytes,
    /// widened in registers).</summary>
    private const double CodeComputeCost = 0.25;

    /// <summary>The widest beam the planner asks for (Milvus's largest ef).</summary>
    private const int MaxEf = 32_768;

    /// <summary>With an allow-list, the beam is widened by 1/sqrt(selectivity): hnswlib-style filtering keeps only allowed
    /// rows in the result beam, so a sparser list needs a wider beam to reach the same recall (the traversal itself
    /// already walks through disallowed nodes).</summary>
    public override AnnSearchParams ForSelectivity(in AnnSearchParams p, int k, double selectivity)
    {
        var ef = BeamOf(p, k);
        if (selectivity >= 1)
        {
            return p with { Ef = ef };
        }

        var widened = (int)Math.Min(MaxEf, Math.Ceiling(ef / Math.Sqrt(Math.Max(selectivity, 1e-6))));
        return p with { Ef = widened };
    }

    /// <summary>The pre-filter's beam holds ef allowed rows; an unfiltered beam of ef' holds about selectivity × ef' of
    /// them, drawn from the same neighbourhood of the query, so the post-filter's beam is ef / selectivity (at least the
    /// hits asked for, at most <see cref="MaxEf"/>).</summary>
    public override (AnnSearchParams Params, bool EqualRecall) ForPostFilter(in AnnSearchParams pre, int hits, double selectivity)
    {
        var wide = Math.Ceiling(BeamOf(pre, hits) / Math.Clamp(selectivity, 1e-6, 1));
        return (pre with { Ef = (int)Math.Min(MaxEf, Math.Max(wide, hits)) }, wide <= MaxEf);
    }

    /// <summary>A layer-0 search expands about ef nodes and computes a code distance to each new neighbour (up to 2M), of
    /// which roughly half are new; a filtered one expands about 1/selectivity times more nodes before its beam holds
    /// ef allowed rows. A code distance costs its compute plus a random access; the result beam's ef entries cost
    /// log2(ef) accesses each (so an unfiltered beam of ef / s, the post-filter's, costs more than a filtered beam of
    /// ef over the same nodes, as measured). Re-rank adds refine_k × k exact distances.</summary>
    public override double EstimateSearchCost(in AnnSearchParams p, int k, double selectivity)
    {
        var ef = BeamOf(p, k);
        var refine = p.RefineK > 0 ? p.RefineK : DefaultRefine;
        var expanded = ef / Math.Clamp(selectivity, 1e-6, 1);
        var access = RandomAccessDimensions / Math.Max(Dimension, FittedFromDimension);
        return (Math.Min(expanded, Count) * _m * (CodeComputeCost + access)) + (ef * Math.Log2(ef) * access) + (refine * k);
    }

    /// <summary>The beam a search with <paramref name="p"/> for <paramref name="k"/> hits uses (Milvus: ef below k means k).</summary>
    private static int BeamOf(in AnnSearchParams p, int k) => Math.Max(p.Ef > 0 ? p.Ef : Math.Max(k, DefaultEf), k);
}
