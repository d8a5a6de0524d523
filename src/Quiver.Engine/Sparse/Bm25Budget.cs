using Quiver.Shards;

namespace Quiver.Sparse;

/// <summary>One search's account of a BM25 field's sealed postings against
/// <see cref="QuiverOptions.IndexMemoryBudgetBytes"/> (the resident memory one index may take): the bytes held by the
/// postings already loaded for the field over the search's segments, and what loading more would add. Postings count
/// whether mapped from their file or built on the managed heap, as a vector index loaded from its file counts. The
/// account is per search: two searches loading postings at once may together pass the budget by one segment's
/// postings each. Not thread-safe (one search's).</summary>
internal sealed class Bm25Budget(long limit, long held)
{
    /// <summary>No limit (tests, and reads outside a shard's searches).</summary>
    public static Bm25Budget Unlimited => new(long.MaxValue, 0);

    /// <summary>Bytes held so far.</summary>
    public long Held { get; private set; } = held;

    /// <summary>The account of the field's postings over the view's segments, against the shard's engine budget.</summary>
    public static Bm25Budget Of(Shard shard, ReadView view, int fieldIndex) =>
        new(shard.IndexMemoryBudgetBytes, Bm25Corpus.LoadedBytes(view.Segments.Select(s => s.Segment), fieldIndex));

    /// <summary>Whether <paramref name="bytes"/> more fit.</summary>
    public bool Fits(long bytes) => bytes <= limit - Held;

    /// <summary>Takes back <paramref name="bytes"/> counted before (postings found damaged and dropped).</summary>
    public void Release(long bytes) => Held -= bytes;

    /// <summary>Counts <paramref name="bytes"/> when they fit; false (and nothing counted) when they do not.</summary>
    public bool Take(long bytes)
    {
        if (!Fits(bytes))
        {
            return false;
        }

        Held += bytes;
        return true;
    }
}
