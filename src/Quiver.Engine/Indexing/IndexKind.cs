namespace Quiver.Indexing;

/// <summary>The vector index types, named as Milvus users write them in <c>index_type</c>.</summary>
public enum IndexKind
{
    /// <summary>Exact search over the raw vectors; no structure to build.</summary>
    Flat = 1,

    /// <summary>Hierarchical navigable small-world graph (<c>M</c>, <c>efConstruction</c>; search <c>ef</c>).</summary>
    Hnsw = 2,

    /// <summary>Inverted file over k-means cells holding raw vectors (<c>nlist</c>; search <c>nprobe</c>).</summary>
    IvfFlat = 3,

    /// <summary>Inverted file with 8-bit scalar-quantized vectors (<c>nlist</c>; search <c>nprobe</c>).</summary>
    IvfSq8 = 4,

    /// <summary>Inverted file with product-quantized residuals (<c>nlist</c>, <c>m</c>, <c>nbits</c>; search <c>nprobe</c>, <c>refine_k</c>).</summary>
    IvfPq = 5,

    /// <summary>A forest of random-projection trees (<c>n_trees</c>; search <c>search_k</c>).</summary>
    Annoy = 6,

    /// <summary>Lets Quiver choose the index and its parameters from size, dimension and a recall target.</summary>
    AutoIndex = 7,

    /// <summary>Vamana graph and full vectors on disk, PQ codes in memory (<c>max_degree</c>, <c>search_list_size</c>,
    /// <c>pq_code_budget_gb_ratio</c>, <c>search_cache_budget_gb_ratio</c>; search <c>search_list</c>).</summary>
    DiskAnn = 8,

    /// <summary>Binary vectors: exact popcount scan (HAMMING, JACCARD); no structure to build.</summary>
    BinFlat = 9,

    /// <summary>Binary vectors: inverted file over binary k-modes cells (<c>nlist</c>; search <c>nprobe</c>).</summary>
    BinIvfFlat = 10,

    /// <summary>Posting lists per dimension of a sparse vector field (<c>drop_ratio_build</c>, <c>inverted_index_algo</c>;
    /// search <c>drop_ratio_search</c>).</summary>
    SparseInvertedIndex = 11,

    /// <summary>SPARSE_INVERTED_INDEX walked with WAND pruning (Milvus keeps the name; it is <c>DAAT_WAND</c>).</summary>
    SparseWand = 12,
}

/// <summary>Milvus names of <see cref="IndexKind"/> values.</summary>
public static class IndexKindNames
{
    /// <summary>The Milvus <c>index_type</c> string of a kind.</summary>
    public static string ToMilvusName(this IndexKind kind) => kind switch
    {
        IndexKind.Flat => "FLAT",
        IndexKind.Hnsw => "HNSW",
        IndexKind.IvfFlat => "IVF_FLAT",
        IndexKind.IvfSq8 => "IVF_SQ8",
        IndexKind.IvfPq => "IVF_PQ",
        IndexKind.Annoy => "ANNOY",
        IndexKind.AutoIndex => "AUTOINDEX",
        IndexKind.DiskAnn => "DISKANN",
        IndexKind.BinFlat => "BIN_FLAT",
        IndexKind.BinIvfFlat => "BIN_IVF_FLAT",
        IndexKind.SparseInvertedIndex => "SPARSE_INVERTED_INDEX",
        IndexKind.SparseWand => "SPARSE_WAND",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown index kind"),
    };

    /// <summary>Parses an <c>index_type</c> (case-insensitive); false for a name Quiver does not know.</summary>
    public static bool TryParse(string? name, out IndexKind kind)
    {
        kind = (name ?? string.Empty).Trim().ToUpperInvariant() switch
        {
            "FLAT" => IndexKind.Flat,
            "HNSW" => IndexKind.Hnsw,
            "IVF_FLAT" => IndexKind.IvfFlat,
            "IVF_SQ8" => IndexKind.IvfSq8,
            "IVF_PQ" => IndexKind.IvfPq,
            "ANNOY" => IndexKind.Annoy,
            "AUTOINDEX" or "AUTO_INDEX" => IndexKind.AutoIndex,
            "DISKANN" => IndexKind.DiskAnn,
            "BIN_FLAT" => IndexKind.BinFlat,
            "BIN_IVF_FLAT" => IndexKind.BinIvfFlat,
            "SPARSE_INVERTED_INDEX" => IndexKind.SparseInvertedIndex,
            "SPARSE_WAND" => IndexKind.SparseWand,
            _ => 0,
        };
        return kind != 0;
    }
}
