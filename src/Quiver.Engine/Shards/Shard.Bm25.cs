namespace Quiver.Shards;

internal sealed partial class Shard
{
    /// <summary>The engine's <see cref="QuiverOptions.IndexMemoryBudgetBytes"/>, which a BM25 field's postings count
    /// against (<see cref="Sparse.Bm25Budget"/>).</summary>
    public long IndexMemoryBudgetBytes => _host.Options.IndexMemoryBudgetBytes;

    /// <summary>The engine's <see cref="QuiverOptions.SharedBm25Statistics"/>.</summary>
    public bool SharedBm25Statistics => _host.Options.SharedBm25Statistics;
}
