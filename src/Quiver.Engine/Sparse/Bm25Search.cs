using Quiver.Indexing;
using Quiver.Search;
using Quiver.Segments;
using Quiver.Shards;
using Quiver.TextAnalysis;

namespace Quiver.Sparse;

/// <summary>How a BM25 search scores (a switch for tests and benchmarks; searches use <see cref="MaxScore"/>).</summary>
internal enum Bm25Path
{
    /// <summary>Kept statistics, MaxScore over sealed postings: the path searches take. Block bounds are not used:
    /// measured on Debian's documentation (10,000 and 50,000 passages, 2-3 word queries, `bench bm25`), block-max cost
    /// 1.5-1.6x the CPU per query of plain MaxScore while visiting fewer rows.</summary>
    MaxScore,

    /// <summary>Kept statistics, block-max MaxScore over sealed postings (each block's bound lets whole stretches of rows
    /// be stepped over); same answers, kept for comparison and for corpora where it pays.</summary>
    BlockMax,

    /// <summary>Kept statistics, every posting of every query term scored (term at a time).</summary>
    Exhaustive,

    /// <summary>Statistics walked row by row over every visible row, every posting scored: the reference the other
    /// two must equal.</summary>
    Reference,
}

/// <summary>BM25's two parameters, Milvus's index parameters of a BM25 output field.</summary>
/// <param name="K1">Term-frequency saturation (<c>bm25_k1</c>, [1.2, 2.0], default 1.2).</param>
/// <param name="B">Length normalization (<c>bm25_b</c>, [0, 1], default 0.75).</param>
internal readonly record struct Bm25Parameters(double K1, double B)
{
    public const string K1Name = "bm25_k1";
    public const string BName = "bm25_b";

    /// <summary>Milvus's defaults.</summary>
    public static Bm25Parameters Default { get; } = new(1.2, 0.75);

    /// <summary>Reads and checks <c>bm25_k1</c> and <c>bm25_b</c> (each optional); a value out of range is
    /// InvalidArgument naming it. <c>bm25_avgdl</c>, which Milvus takes and recomputes, is accepted and ignored.</summary>
    public static Bm25Parameters Parse(IndexParameters p, string owner)
    {
        var k1 = p.GetDouble(owner, K1Name, Default.K1, 1.2, 2.0);
        var b = p.GetDouble(owner, BName, Default.B, 0, 1);
        return new Bm25Parameters(k1, b);
    }
}

/// <summary>Search by text of a BM25 output field. Each query text is analyzed as the input field's rows were, and every
/// visible row is scored by Okapi BM25 over the corpus as the search's snapshot sees it:
/// <code>score(d, q) = Σ_t qtf(t) · IDF(t) · tf(t, d) · (k1 + 1) / (tf(t, d) + k1 · (1 − b + b · |d| / avgdl))
/// IDF(t) = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))</code>
/// where N is the number of visible rows, df(t) the visible rows holding t, |d| the row's term count and avgdl the mean
/// of |d| over visible rows (Milvus's formula). The statistics are those of the search's snapshot, kept per segment and
/// brought up to date incrementally (<see cref="Bm25Corpus"/>), so deletes, upserts, compaction and TTL change them at
/// once. The filter restricts the rows scored, never the statistics (as in Milvus).
/// <para>Sealed segments are searched over their postings (<see cref="Bm25Postings"/>, saved with the segment's index
/// file) with exact MaxScore pruning (Turtle and Flood 1995): query terms sorted by their upper bound in the segment;
/// the low terms whose bounds together cannot lift a row above the k-th best score so far are only probed for rows the
/// others propose, and a row is dropped as soon as its score plus the bounds left cannot reach that score. Every row
/// offered is scored in full, summing its terms in query order, so scores are bit-identical to the exhaustive path
/// (term at a time over every posting; <see cref="Bm25Path.Exhaustive"/>), and so is the top-k. Growing segments are
/// scored term at a time over their growing postings (<see cref="Bm25GrowingPostings"/>); a segment without postings
/// (sealed past the memory budget, see <see cref="Bm25Budget"/>, or a read at an older timestamp) row by row, each row's
/// terms summed in query order too, so that every path gives the same scores bit for bit.</para></summary>
internal static class Bm25Search
{
    private static readonly AsyncLocal<Bm25Path> PathOverride = new();

    [ThreadStatic]
    private static float[]? Accumulator;

    /// <summary>For tests and benchmarks: how searches in the current async flow run (default
    /// <see cref="Bm25Path.MaxScore"/>).</summary>
    public static Bm25Path Path
    {
        get => PathOverride.Value;
        set => PathOverride.Value = value;
    }

    /// <summary>The query texts of a search on a BM25 output field, checked.</summary>
    public static IReadOnlyList<string> Queries(SearchRequest request, string field)
    {
        if (request.Vectors is { Count: > 0 } || request.SparseVectors is { Count: > 0 })
        {
            Throw.Invalid($"search: field '{field}' is the output of a BM25 function; search it with query texts, not vectors");
        }

        var texts = request.QueryTexts;
        if (texts is null || texts.Count == 0)
        {
            Throw.Invalid("search: no query texts");
        }

        if (texts.Count > SearchExecutor.MaxQueries)
        {
            Throw.Invalid($"search: {texts.Count} query texts; at most {SearchExecutor.MaxQueries} per call (nq)");
        }

        for (var q = 0; q < texts.Count; q++)
        {
            if (texts[q] is null)
            {
                Throw.Invalid($"search: query text {q} is null");
            }
        }

        return texts;
    }

    /// <summary>Top <paramref name="k"/> hits per query as (key = -score, packed id), best first.</summary>
    public static (float Key, long Id)[][] Search(
        Shard shard, ReadView view, AllowedRows[] allowed, int fieldIndex, IReadOnlyList<string> texts, int k, ScoreRange? range,
        IReadOnlyDictionary<string, string>? searchParams, SearchStats stats, CancellationToken cancellationToken)
    {
        var schema = shard.Schema;
        var field = schema.Fields[fieldIndex];
        var function = Bm25Function.Writing(schema, field.Name)!;
        var analyzer = Analyzer.ForField(schema.Find(function.InputFieldNames[0])!);
        var supplied = Bm25Shared.Take(shard, ref searchParams);
        var dropRatio = SparseIndexOptions.ParseSearch(SearchExecutor.WithDefaults(shard, field.Name, searchParams));
        var index = shard.Meta.Indexes.FirstOrDefault(i => i.FieldName == field.Name);
        var bm25 = index is null ? Bm25Parameters.Default : Bm25Parameters.Parse(new IndexParameters(index.Params), index.IndexType);

        var queries = new SparseVector[texts.Count];
        var terms = new Dictionary<uint, int>();
        for (var q = 0; q < queries.Length; q++)
        {
            queries[q] = Bm25Function.Terms(analyzer, texts[q]);
            foreach (var t in queries[q].Indices)
            {
                terms.TryAdd(t, terms.Count);
            }
        }

        var path = Path;
        var exhaustive = path is Bm25Path.Exhaustive or Bm25Path.Reference;
        var budget = Bm25Budget.Of(shard, view, fieldIndex);
        var corpus = supplied is not null ? Bm25Shared.Supplied(supplied, terms)
            : path == Bm25Path.Reference
            ? Bm25Corpus.Walk(view, fieldIndex, terms, cancellationToken)
            : Bm25Corpus.Statistics(shard, view, fieldIndex, terms, budget, cancellationToken);
        var heaps = new TopK[queries.Length];
        for (var q = 0; q < heaps.Length; q++)
        {
            heaps[q] = new TopK(k);
        }

        if (corpus.Rows == 0)
        {
            return [.. heaps.Select(h => h.ToSortedArray())];
        }

        var scorer = new Scorer(bm25, corpus.AverageLength);
        var postings = new Bm25Postings?[view.Segments.Length];
        for (var s = 0; s < postings.Length; s++)
        {
            if (allowed[s].Count > 0)
            {
                postings[s] = Bm25Corpus.PostingsOf(shard, view.Segments[s], fieldIndex, budget, cancellationToken);
                _ = postings[s] is null && view.Segments[s].Segment.IsSealed ? stats.ExactSegments++ : stats.IndexedSegments++;
            }
        }

        for (var q = 0; q < queries.Length; q++)
        {
            var weights = Weights(queries[q], terms, corpus, dropRatio);
            for (var s = 0; s < view.Segments.Length; s++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (allowed[s].Count == 0 || weights.Count == 0)
                {
                    continue;
                }

                var snap = view.Segments[s];
                if (postings[s] is { } checking)
                {
                    postings[s] = Checked(shard, snap, fieldIndex, checking, weights, budget, cancellationToken);
                }

                if (postings[s] is not { } p)
                {
                    if (path != Bm25Path.Reference && Bm25Corpus.GrowingOf(snap, fieldIndex, weights) is { } growing)
                    {
                        ScoreGrowing(growing, snap.RowCount, weights, allowed[s], scorer, heaps[q], s, range);
                    }
                    else
                    {
                        ScoreRows((SparseColumn)snap.GetColumn(fieldIndex), snap.RowCount, weights, allowed[s], scorer, heaps[q], s, range);
                    }
                }
                else if (exhaustive)
                {
                    ScorePostings(p, weights, allowed[s], scorer, heaps[q], s, range);
                }
                else
                {
                    MaxScore(p, weights, allowed[s], scorer, heaps[q], s, range, blocks: path == Bm25Path.BlockMax, stats);
                }
            }
        }

        return [.. heaps.Select(h => h.ToSortedArray())];
    }

    /// <summary>The query's terms with their weights qtf · IDF, the smallest <paramref name="dropRatio"/> of them left
    /// out (Milvus's <c>drop_ratio_search</c>); terms no visible row holds weigh nothing and are left out.</summary>
    private static List<(uint Term, float Weight)> Weights(SparseVector query, Dictionary<uint, int> terms, Corpus corpus, double dropRatio)
    {
        var weights = new List<(uint Term, float Weight)>(query.Count);
        for (var i = 0; i < query.Count; i++)
        {
            var df = corpus.DocumentFrequency[terms[query.Indices[i]]];
            if (df > 0)
            {
                weights.Add((query.Indices[i], (float)(query.Values[i] * Idf(corpus.Rows, df))));
            }
        }

        var drop = (int)(dropRatio * weights.Count);
        if (drop > 0)
        {
            weights.Sort((a, b) => a.Weight.CompareTo(b.Weight));
            weights.RemoveRange(0, drop);
        }

        return weights;
    }

    /// <summary>The postings with the lists of the query's terms checked (<see cref="Bm25Postings.Check"/>) before any of
    /// their rows is scored; mapped postings whose list fails are dropped, their file deleted, and rebuilt from the
    /// segment's column (or none when they no longer fit the budget: the segment is then scored row by row).</summary>
    private static Bm25Postings? Checked(
        Shard shard, SegmentSnapshot snap, int fieldIndex, Bm25Postings postings, List<(uint Term, float Weight)> weights, Bm25Budget budget,
        CancellationToken cancellationToken)
    {
        try
        {
            foreach (var (term, _) in weights)
            {
                if (postings.Find(term) is var slot and >= 0)
                {
                    postings.Check(slot);
                }
            }

            return postings;
        }
        catch (CorruptionException) when (postings.IsMapped)
        {
            Bm25Corpus.Discard(shard, snap, fieldIndex, postings);
            budget.Release(postings.MemoryBytes);
            return Bm25Corpus.PostingsOf(shard, snap, fieldIndex, budget, cancellationToken);
        }
    }

    /// <summary>Okapi BM25's IDF with Milvus's +1 inside the logarithm (never negative).</summary>
    public static double Idf(long rows, long df) => Math.Log(1 + ((rows - df + 0.5) / (df + 0.5)));

    private static void ScorePostings(Bm25Postings postings, List<(uint Term, float Weight)> weights, AllowedRows allowed,
        Scorer scorer, TopK heap, int segment, ScoreRange? range)
    {
        var scores = TakeAccumulator(postings.RowCount);
        var touched = new List<int>();
        try
        {
            foreach (var (term, weight) in weights)
            {
                if (postings.Find(term) is var slot and >= 0)
                {
                    var rows = postings.List(slot, out var tfs);
                    Accumulate(rows, tfs, weight, postings.Lengths, postings.RowCount, allowed, scorer, scores, touched);
                }
            }

            Offer(scores, touched, heap, segment, range);
        }
        catch
        {
            Accumulator = null;
            throw;
        }
    }

    /// <summary>Term at a time over a growing segment's postings, as <see cref="ScorePostings"/> over a sealed one's;
    /// the lists' rows past the snapshot's <paramref name="rowCount"/> (appended for a later search) are left out.</summary>
    private static void ScoreGrowing(Bm25GrowingPostings.View growing, int rowCount, List<(uint Term, float Weight)> weights,
        AllowedRows allowed, Scorer scorer, TopK heap, int segment, ScoreRange? range)
    {
        var scores = TakeAccumulator(rowCount);
        var touched = new List<int>();
        try
        {
            for (var j = 0; j < weights.Count; j++)
            {
                var (rows, tfs, count) = growing.Lists[j];
                Accumulate(rows.AsSpan(0, count), tfs.AsSpan(0, count), weights[j].Weight, growing.Lengths, rowCount, allowed, scorer, scores, touched);
            }

            Offer(scores, touched, heap, segment, range);
        }
        catch
        {
            Accumulator = null;
            throw;
        }
    }

    /// <summary>A per-thread accumulator of at least <paramref name="rows"/> scores, all zero: the rows a search touches
    /// are reset by <see cref="Offer(float[], List{int}, TopK, int, ScoreRange?)"/>, and a failed search drops it.</summary>
    private static float[] TakeAccumulator(int rows) => Accumulator is { } a && a.Length >= rows ? a : Accumulator = new float[rows];

    /// <summary>Adds one term's parts to the scores of the allowed rows of its list below <paramref name="rowLimit"/>
    /// (lists are ascending), noting in <paramref name="touched"/> each row scored for the first time.</summary>
    private static void Accumulate(ReadOnlySpan<int> rows, ReadOnlySpan<float> tfs, float weight, ReadOnlySpan<float> lengths, int rowLimit,
        AllowedRows allowed, in Scorer scorer, float[] scores, List<int> touched)
    {
        for (var i = 0; i < rows.Length; i++)
        {
            var row = rows[i];
            if (row >= rowLimit)
            {
                break;
            }

            if (!allowed.Contains(row))
            {
                continue;
            }

            var part = weight * scorer.Term(tfs[i], lengths[row]);
            if (scores[row] == 0)
            {
                touched.Add(row);
            }

            scores[row] += part;
        }
    }

    /// <summary>Offers every touched row's score and resets it to zero.</summary>
    private static void Offer(float[] scores, List<int> touched, TopK heap, int segment, ScoreRange? range)
    {
        foreach (var row in touched)
        {
            Offer(heap, scores[row], FlatSearch.PackId(segment, row), range);
            scores[row] = 0;
        }
    }

    /// <summary>Exact MaxScore over one sealed segment's postings (see the class remarks), with block-max bounds when
    /// <paramref name="blocks"/> is set: the top-k it leaves in <paramref name="heap"/> equals
    /// <see cref="ScorePostings"/>'s, scores bit for bit.
    /// <para>Block-max (after Ding and Suel 2011, applied to MaxScore): every list is cut into blocks with a bound of
    /// their own (<see cref="Bm25Postings.BlockUpper"/>). Before a candidate row is scored, the bounds of the essential
    /// lists' current blocks plus the non-essential lists' whole-list bounds bound every row up to the nearest end of
    /// those blocks; when that cannot pass the k-th score, the essential lists step past those rows unscored. And a
    /// non-essential list is probed for a candidate only if the bound of its block that may hold the row (found from the
    /// blocks' last rows, without reading postings) can still lift the row past the k-th score.</para></summary>
    private static void MaxScore(Bm25Postings postings, List<(uint Term, float Weight)> weights, AllowedRows allowed,
        Scorer scorer, TopK heap, int segment, ScoreRange? range, bool blocks, SearchStats stats)
    {
        var c = new Cursor[weights.Count];
        var n = 0;
        for (var j = 0; j < weights.Count; j++)
        {
            var slot = postings.Find(weights[j].Term);
            if (slot >= 0)
            {
                var (start, end) = postings.Range(slot);
                c[n++] = new Cursor(start, end, postings.FirstBlock(slot), j, weights[j].Weight, weights[j].Weight * postings.UpperBound(slot, scorer));
            }
        }

        if (n == 0)
        {
            return;
        }

        Array.Sort(c, 0, n, Comparer<Cursor>.Create(static (x, y) => x.Upper.CompareTo(y.Upper)));
        Span<float> prefix = n <= 64 ? stackalloc float[n] : new float[n];
        for (var i = 0; i < n; i++)
        {
            prefix[i] = c[i].Upper + (i > 0 ? prefix[i - 1] : 0);
        }

        // Each query term's part of the current row's score, so that the row is summed in query order (as the exhaustive
        // path sums it), whatever order the lists were read in.
        Span<float> parts = weights.Count <= 64 ? stackalloc float[weights.Count] : new float[weights.Count];
        parts.Clear();
        var rows = postings.Rows;
        var tfs = postings.Tfs;
        var last = postings.BlockLast;
        var essential = 0;
        long visited = 0, skipped = 0;
        try
        {
            while (true)
            {
                var theta = Bound(heap.Count < heap.Capacity ? 0 : -heap.Threshold);
                while (essential < n && prefix[essential] <= theta)
                {
                    essential++;
                }

                if (essential == n)
                {
                    return;
                }

                var row = int.MaxValue;
                for (var i = essential; i < n; i++)
                {
                    if (c[i].Pos < c[i].End)
                    {
                        row = Math.Min(row, rows[c[i].Pos]);
                    }
                }

                if (row == int.MaxValue)
                {
                    return;
                }

                if (blocks && theta > 0)
                {
                    // Every row up to the nearest end of an essential list's current block scores at most those blocks'
                    // bounds plus the non-essential lists' bounds (a row in no essential list is never a candidate).
                    var bound = essential > 0 ? prefix[essential - 1] : 0;
                    var limit = int.MaxValue;
                    for (var i = essential; i < n; i++)
                    {
                        if (c[i].Pos < c[i].End)
                        {
                            var b = c[i].BlockOf(c[i].Pos);
                            bound += c[i].BlockBound(postings, b, scorer);
                            limit = Math.Min(limit, last[b]);
                        }
                    }

                    if (bound <= theta)
                    {
                        for (var i = essential; i < n; i++)
                        {
                            if (c[i].Pos < c[i].End)
                            {
                                var from = c[i].Pos;
                                c[i].Pos = Seek(rows, c[i].Pos, c[i].End, limit + 1);
                                skipped += c[i].Pos - from;
                            }
                        }

                        continue;
                    }
                }

                visited++;
                var length = postings.Length(row);
                float partial = 0;
                for (var i = essential; i < n; i++)
                {
                    if (c[i].Pos < c[i].End && rows[c[i].Pos] == row)
                    {
                        var part = c[i].Weight * scorer.Term(tfs[c[i].Pos], length);
                        parts[c[i].Query] = part;
                        partial += part;
                        c[i].Pos++;
                    }
                }

                var complete = allowed.Contains(row);
                for (var i = essential - 1; complete && i >= 0; i--)
                {
                    if (partial + prefix[i] <= theta)
                    {
                        complete = false;
                        break;
                    }

                    if (c[i].Pos >= c[i].End)
                    {
                        continue;
                    }

                    if (blocks)
                    {
                        // The block that may hold the row, found from the blocks' last rows; its bound stands in for the
                        // list's, and the list's earlier blocks (all below the row) are passed.
                        var b = c[i].BlockOf(c[i].Pos);
                        while (b < c[i].EndBlock && last[b] < row)
                        {
                            b++;
                        }

                        if (b == c[i].EndBlock)
                        {
                            c[i].Pos = c[i].End;
                            continue;
                        }

                        c[i].Pos = Math.Max(c[i].Pos, c[i].BlockStart(b));
                        if (partial + (i > 0 ? prefix[i - 1] : 0) + c[i].BlockBound(postings, b, scorer) <= theta)
                        {
                            complete = false;
                            break;
                        }
                    }

                    c[i].Pos = Seek(rows, c[i].Pos, c[i].End, row);
                    if (c[i].Pos < c[i].End && rows[c[i].Pos] == row)
                    {
                        var part = c[i].Weight * scorer.Term(tfs[c[i].Pos], length);
                        parts[c[i].Query] = part;
                        partial += part;
                    }
                }

                if (complete)
                {
                    float score = 0;
                    foreach (var part in parts)
                    {
                        score += part;
                    }

                    Offer(heap, score, FlatSearch.PackId(segment, row), range);
                }

                parts.Clear();
            }
        }
        finally
        {
            stats.Bm25RowsVisited += visited;
            stats.Bm25PostingsSkipped += skipped;
        }
    }

    /// <summary>A block bound's safety margin: the bound is evaluated at a (tf, |d|) pair that may be no posting's, so
    /// float rounding could put it a few ulps under a posting's score that it bounds in exact arithmetic.</summary>
    private const float BlockSlack = 1.00001f;

    /// <summary>The score threshold loosened by a relative 1e-6, so that float rounding in summed upper bounds (added in
    /// another order than a row's score) never prunes a row whose exact score ties or beats it.</summary>
    private static float Bound(float theta) => theta <= 0 ? 0 : theta * (1 - 1e-6f);

    /// <summary>The first position in [pos, end) of ascending <paramref name="rows"/> whose row is at least
    /// <paramref name="row"/> (galloping, then binary); BM25's and the sparse inverted index's cursors both skip with it.</summary>
    internal static int Seek(ReadOnlySpan<int> rows, int pos, int end, int row)
    {
        var step = 1;
        var lo = pos;
        while (pos < end && rows[pos] < row)
        {
            lo = pos + 1;
            pos = (int)Math.Min(end, (long)pos + step);
            step <<= 1;
        }

        var hi = Math.Min(pos, end);
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            if (rows[mid] < row)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>A query term's position in its posting list; <see cref="Query"/> is its place in the query's weights;
    /// the list's blocks are [<paramref name="firstBlock"/>, <see cref="EndBlock"/>).</summary>
    private struct Cursor(int start, int end, int firstBlock, int query, float weight, float upper)
    {
        public int Pos = start;
        public readonly int Start = start;
        public readonly int End = end;
        public readonly int FirstBlock = firstBlock;
        public readonly int EndBlock = firstBlock + ((end - start + Bm25Postings.BlockSize - 1) >> Bm25Postings.BlockShift);
        public readonly int Query = query;
        public readonly float Weight = weight;
        public readonly float Upper = upper;

        /// <summary>The block holding position <paramref name="pos"/> of the list.</summary>
        public readonly int BlockOf(int pos) => FirstBlock + ((pos - Start) >> Bm25Postings.BlockShift);

        /// <summary>The position of the first posting of block <paramref name="block"/>.</summary>
        public readonly int BlockStart(int block) => Start + ((block - FirstBlock) << Bm25Postings.BlockShift);

        /// <summary>A bound on this term's part of the score of any row in block <paramref name="block"/>: the block's
        /// bound with its margin, never above the list's.</summary>
        public readonly float BlockBound(Bm25Postings postings, int block, in Scorer scorer) =>
            Math.Min(Upper, Weight * postings.BlockUpper(block, scorer) * BlockSlack);
    }

    private static void ScoreRows(SparseColumn column, int rowCount, List<(uint Term, float Weight)> weights, AllowedRows allowed,
        Scorer scorer, TopK heap, int segment, ScoreRange? range)
    {
        // Each term's part is kept at its place in the query and the parts summed in query order, as the postings paths
        // sum them, so that the scores are the same bit for bit.
        var byTerm = new Dictionary<uint, int>(weights.Count);
        for (var j = 0; j < weights.Count; j++)
        {
            byTerm[weights[j].Term] = j;
        }

        Span<float> parts = weights.Count <= 64 ? stackalloc float[weights.Count] : new float[weights.Count];
        byte[]? scratch = null;
        for (var row = allowed.Next(0); row >= 0; row = row + 1 < rowCount ? allowed.Next(row + 1) : -1)
        {
            var pairs = column.Pairs(row, ref scratch);
            float length = 0;
            for (var i = 0; i < pairs.Length; i += SparseVector.PairBytes)
            {
                length += Pair(pairs, i).Tf;
            }

            parts.Clear();
            for (var i = 0; i < pairs.Length; i += SparseVector.PairBytes)
            {
                var (term, tf) = Pair(pairs, i);
                if (byTerm.TryGetValue(term, out var j))
                {
                    parts[j] = weights[j].Weight * scorer.Term(tf, length);
                }
            }

            float score = 0;
            foreach (var part in parts)
            {
                score += part;
            }

            Offer(heap, score, FlatSearch.PackId(segment, row), range);
        }
    }

    private static void Offer(TopK heap, float score, long id, ScoreRange? range)
    {
        if (score <= 0 || (range is { } r && !r.Contains(score)))
        {
            return;
        }

        heap.Add(-score, id);
    }

    private static (uint Term, float Tf) Pair(ReadOnlySpan<byte> pairs, int at) => Bm25Postings.Pair(pairs, at);

    /// <summary>Corpus statistics of one search.</summary>
    internal sealed record Corpus(long Rows, double TotalLength, long[] DocumentFrequency)
    {
        /// <summary>The mean row length (avgdl); 0 over no rows.</summary>
        public double AverageLength { get; } = Rows == 0 ? 0 : TotalLength / Rows;
    }

    /// <summary>The term part of BM25 for one (tf, |d|) with the constants folded.</summary>
    private readonly struct Scorer(Bm25Parameters p, double averageLength) : ITermScore
    {
        private readonly float _k1Plus1 = (float)(p.K1 + 1);
        private readonly float _a = (float)(p.K1 * (1 - p.B));
        private readonly float _c = averageLength > 0 ? (float)(p.K1 * p.B / averageLength) : 0;

        public float Term(float tf, float length) => tf * _k1Plus1 / (tf + _a + (_c * length));
    }
}
