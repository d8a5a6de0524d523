namespace Quiver.Shards;

internal sealed partial class Shard
{
    /// <summary>The engine's <see cref="QuiverOptions.IndexMemoryBudgetBytes"/>, which a BM25 field's postings count
    /// against (<see cref="Sparse.Bm25Budget"/>).</summary>
    public long IndexMemoryBudgetBytes => _host.Options.IndexMemoryBudgetBytes;
}
