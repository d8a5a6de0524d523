using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using Quiver.Common;
using Quiver.Indexing;
using Quiver.Search;
using Quiver.Segments;
using Quiver.Shards;
using Quiver.TextAnalysis;

namespace Quiver.Sparse;

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
/// of |d| over visible rows (Milvus's formula). The statistics are taken from the snapshot at every search, so deletes,
/// upserts and compaction change them at once. The filter restricts the rows scored, never the statistics (as in
/// Milvus). Scores are exact: every posting of every query term is read (term at a time); a sealed segment keeps its
/// posting lists and row lengths in memory, built on its first search.</summary>
internal static class Bm25Search
{
    private static readonly ConditionalWeakTable<Segment, Bm25Postings> Built = new();
    private static readonly Lock BuildLock = new();

    [ThreadStatic]
    private static float[]? Accumulator;

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
        var dropRatio = SparseIndexOptions.ParseSearch(SearchExecutor.WithDefaults(shard, field.Name, searchParams));
        var index = shard.Meta.Indexes.FirstOrDefault(i => i.FieldName == field.Name);
        var bm25 = index is null ? Bm25Parameters.Default : Bm25Parameters.Parse(new IndexParameters(index.Params), index.IndexType);

        var queries = new SparseVector[texts.Count];
        var terms = new Dictionary<uint, int>();
        for (var q = 0; q < queries.Length; q++)
        {
            queries[q] = Bm25Function.Terms(analyzer, texts[q], $"search: query text {q}");
            foreach (var t in queries[q].Indices)
            {
                terms.TryAdd(t, terms.Count);
            }
        }

        var corpus = Statistics(view, fieldIndex, terms, cancellationToken);
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
                var column = (SparseColumn)snap.GetColumn(fieldIndex);
                if (PostingsOf(snap, column, cancellationToken) is { } postings)
                {
                    if (q == 0)
                    {
                        stats.IndexedSegments++;
                    }

                    ScorePostings(postings, weights, allowed[s], scorer, heaps[q], s, range);
                }
                else
                {
                    if (q == 0)
                    {
                        stats.ExactSegments++;
                    }

                    ScoreRows(column, snap.RowCount, weights, allowed[s], scorer, heaps[q], s, range);
                }
            }
        }

        return [.. heaps.Select(h => h.ToSortedArray())];
    }

    /// <summary>N, the summed row length and, per query term (numbered by <paramref name="terms"/>), df over the rows
    /// visible in <paramref name="view"/>.</summary>
    internal static Corpus Statistics(ReadView view, int fieldIndex, Dictionary<uint, int> terms, CancellationToken cancellationToken)
    {
        var df = new long[terms.Count];
        long rows = 0;
        double length = 0;
        byte[]? scratch = null;
        foreach (var snap in view.Segments)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var visible = snap.Visible(view.Timestamp, out var count);
            if (count == 0)
            {
                continue;
            }

            rows += count;
            var column = (SparseColumn)snap.GetColumn(fieldIndex);
            if (PostingsOf(snap, column, cancellationToken) is { } postings)
            {
                length += postings.VisibleLength(visible, snap.RowCount);
                foreach (var (term, slot) in terms)
                {
                    df[slot] += postings.Count(term, visible);
                }

                continue;
            }

            for (var row = 0; row < snap.RowCount; row++)
            {
                if (visible is not null && !visible[row])
                {
                    continue;
                }

                var pairs = column.Pairs(row, ref scratch);
                for (var i = 0; i < pairs.Length; i += SparseVector.PairBytes)
                {
                    var (term, tf) = Pair(pairs, i);
                    length += tf;
                    if (terms.TryGetValue(term, out var slot))
                    {
                        df[slot]++;
                    }
                }
            }
        }

        return new Corpus(rows, rows == 0 ? 0 : length / rows, df);
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

    /// <summary>Okapi BM25's IDF with Milvus's +1 inside the logarithm (never negative).</summary>
    public static double Idf(long rows, long df) => Math.Log(1 + ((rows - df + 0.5) / (df + 0.5)));

    private static void ScorePostings(Bm25Postings postings, List<(uint Term, float Weight)> weights, AllowedRows allowed,
        Scorer scorer, TopK heap, int segment, ScoreRange? range)
    {
        // A per-thread accumulator kept all zero between calls: the rows touched are reset after each segment.
        var scores = Accumulator is { } a && a.Length >= postings.RowCount ? a : Accumulator = new float[postings.RowCount];
        var touched = new List<int>();
        try
        {
            foreach (var (term, weight) in weights)
            {
                var rows = postings.List(term, out var tfs);
                for (var i = 0; i < rows.Length; i++)
                {
                    var row = rows[i];
                    if (!allowed.Contains(row))
                    {
                        continue;
                    }

                    var part = weight * scorer.Term(tfs[i], postings.Length(row));
                    if (scores[row] == 0)
                    {
                        touched.Add(row);
                    }

                    scores[row] += part;
                }
            }

            foreach (var row in touched)
            {
                Offer(heap, scores[row], FlatSearch.PackId(segment, row), range);
                scores[row] = 0;
            }
        }
        catch
        {
            Accumulator = null;
            throw;
        }
    }

    private static void ScoreRows(SparseColumn column, int rowCount, List<(uint Term, float Weight)> weights, AllowedRows allowed,
        Scorer scorer, TopK heap, int segment, ScoreRange? range)
    {
        var byTerm = new Dictionary<uint, float>(weights.Count);
        foreach (var (term, weight) in weights)
        {
            byTerm[term] = weight;
        }

        byte[]? scratch = null;
        for (var row = allowed.Next(0); row >= 0; row = row + 1 < rowCount ? allowed.Next(row + 1) : -1)
        {
            var pairs = column.Pairs(row, ref scratch);
            float length = 0;
            for (var i = 0; i < pairs.Length; i += SparseVector.PairBytes)
            {
                length += Pair(pairs, i).Tf;
            }

            float score = 0;
            for (var i = 0; i < pairs.Length; i += SparseVector.PairBytes)
            {
                var (term, tf) = Pair(pairs, i);
                if (byTerm.TryGetValue(term, out var weight))
                {
                    score += weight * scorer.Term(tf, length);
                }
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

    private static (uint Term, float Tf) Pair(ReadOnlySpan<byte> pairs, int at) =>
        (System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(pairs[at..]),
         System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(pairs[(at + 4)..]));

    /// <summary>The posting lists of a sealed segment wholly in the snapshot (built once per segment), else null.</summary>
    private static Bm25Postings? PostingsOf(SegmentSnapshot snap, SparseColumn column, CancellationToken cancellationToken)
    {
        if (!snap.Segment.IsSealed || snap.RowCount != snap.Segment.Count)
        {
            return null;
        }

        var segment = snap.Segment;
        if (Built.TryGetValue(segment, out var postings))
        {
            return postings;
        }

        lock (BuildLock)
        {
            return Built.GetValue(segment, _ => Bm25Postings.Build(column, segment.Count, cancellationToken));
        }
    }

    /// <summary>Corpus statistics of one search.</summary>
    internal sealed record Corpus(long Rows, double AverageLength, long[] DocumentFrequency);

    /// <summary>The term part of BM25 for one (tf, |d|) with the constants folded.</summary>
    private readonly struct Scorer(Bm25Parameters p, double averageLength)
    {
        private readonly float _k1Plus1 = (float)(p.K1 + 1);
        private readonly float _a = (float)(p.K1 * (1 - p.B));
        private readonly float _c = averageLength > 0 ? (float)(p.K1 * p.B / averageLength) : 0;

        public float Term(float tf, float length) => tf * _k1Plus1 / (tf + _a + (_c * length));
    }
}

/// <summary>One sealed segment's BM25 postings: per term the rows holding it (ascending) with the term's frequency, and
/// each row's length (its term count). Immutable; thread-safe.</summary>
internal sealed class Bm25Postings
{
    private readonly Dictionary<uint, (int Start, int Count)> _lists;
    private readonly int[] _rows;
    private readonly float[] _tfs;
    private readonly float[] _lengths;
    private readonly double _total;

    private Bm25Postings(Dictionary<uint, (int Start, int Count)> lists, int[] rows, float[] tfs, float[] lengths)
    {
        _lists = lists;
        _rows = rows;
        _tfs = tfs;
        _lengths = lengths;
        foreach (var l in lengths)
        {
            _total += l;
        }
    }

    public int RowCount => _lengths.Length;

    /// <summary>Bytes held (for diagnostics).</summary>
    public long Bytes => (_rows.Length * 8L) + (_lengths.Length * 4L) + (_lists.Count * 16L);

    public float Length(int row) => _lengths[row];

    /// <summary>The posting list of <paramref name="term"/>: rows ascending and, in <paramref name="tfs"/>, each row's
    /// frequency of the term; empty when no row holds it.</summary>
    public ReadOnlySpan<int> List(uint term, out ReadOnlySpan<float> tfs)
    {
        if (!_lists.TryGetValue(term, out var l))
        {
            tfs = default;
            return default;
        }

        tfs = _tfs.AsSpan(l.Start, l.Count);
        return _rows.AsSpan(l.Start, l.Count);
    }

    /// <summary>Rows holding <paramref name="term"/> among <paramref name="visible"/> (null: all).</summary>
    public long Count(uint term, Bitmap? visible)
    {
        if (!_lists.TryGetValue(term, out var l))
        {
            return 0;
        }

        if (visible is null)
        {
            return l.Count;
        }

        var n = 0;
        foreach (var row in _rows.AsSpan(l.Start, l.Count))
        {
            n += visible[row] ? 1 : 0;
        }

        return n;
    }

    /// <summary>Summed length of the rows in <paramref name="visible"/> (null: all), in time proportional to the
    /// segment's words plus its hidden rows.</summary>
    public double VisibleLength(Bitmap? visible, int rowCount)
    {
        if (visible is null)
        {
            return _total;
        }

        var total = _total;
        var words = visible.Words;
        for (var w = 0; w < Bitmap.WordCount(rowCount); w++)
        {
            var hidden = ~words[w];
            if (w == (rowCount - 1) >> 6 && (rowCount & 63) != 0)
            {
                hidden &= (1UL << (rowCount & 63)) - 1;
            }

            while (hidden != 0)
            {
                total -= _lengths[(w << 6) + BitOperations.TrailingZeroCount(hidden)];
                hidden &= hidden - 1;
            }
        }

        return total;
    }

    public static Bm25Postings Build(SparseColumn column, int count, CancellationToken cancellationToken)
    {
        var lengths = new float[count];
        var sizes = new Dictionary<uint, int>();
        byte[]? scratch = null;
        long postings = 0;
        for (var row = 0; row < count; row++)
        {
            if ((row & 4095) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var pairs = column.Pairs(row, ref scratch);
            for (var i = 0; i < pairs.Length; i += SparseVector.PairBytes)
            {
                var term = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(pairs[i..]);
                lengths[row] += System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(pairs[(i + 4)..]);
                sizes[term] = sizes.TryGetValue(term, out var n) ? n + 1 : 1;
                postings++;
            }
        }

        if (postings > Array.MaxLength)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument,
                string.Create(CultureInfo.InvariantCulture, $"a segment holds {postings} BM25 postings, more than one list can hold"));
        }

        var lists = new Dictionary<uint, (int Start, int Count)>(sizes.Count);
        var next = new Dictionary<uint, int>(sizes.Count);
        var start = 0;
        foreach (var (term, size) in sizes)
        {
            lists[term] = (start, size);
            next[term] = start;
            start += size;
        }

        var rows = new int[postings];
        var tfs = new float[postings];
        for (var row = 0; row < count; row++)
        {
            var pairs = column.Pairs(row, ref scratch);
            for (var i = 0; i < pairs.Length; i += SparseVector.PairBytes)
            {
                var term = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(pairs[i..]);
                ref var at = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(next, term);
                rows[at] = row;
                tfs[at] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(pairs[(i + 4)..]);
                at++;
            }
        }

        return new Bm25Postings(lists, rows, tfs, lengths);
    }
}
