using Quiver.Indexing;
using Quiver.Search;
using Quiver.Segments;

namespace Quiver.Sparse;

/// <summary>How a sparse index walks its posting lists (Milvus's <c>inverted_index_algo</c>). All three return the exact
/// top-k of the scores the lists hold; they differ in how many postings they read.</summary>
internal enum SparseAlgorithm
{
    /// <summary>Term at a time: every posting of every query dimension is added into a score per row (TAAT_NAIVE).</summary>
    TaatNaive,

    /// <summary>Document at a time with WAND pruning: a row is scored only when the upper bounds of the lists that reach
    /// it could beat the k-th best score so far (DAAT_WAND; Broder et al. 2003).</summary>
    DaatWand,

    /// <summary>Document at a time with MaxScore pruning: lists whose upper bounds together cannot beat the k-th score
    /// are only probed for rows the others propose (DAAT_MAXSCORE; Turtle and Flood 1995). Milvus's default.</summary>
    DaatMaxScore,
}

/// <summary>Build parameters of SPARSE_INVERTED_INDEX and SPARSE_WAND, with Milvus's names.</summary>
/// <param name="DropRatioBuild">Fraction of the segment's smallest values left out of the posting lists
/// (<c>drop_ratio_build</c>, [0, 1)): values below that quantile of all stored values are dropped.</param>
/// <param name="Algorithm">The list walk (<c>inverted_index_algo</c>); SPARSE_WAND is DAAT_WAND.</param>
internal readonly record struct SparseIndexOptions(double DropRatioBuild, SparseAlgorithm Algorithm)
{
    public const string DropRatioBuildName = "drop_ratio_build";
    public const string AlgorithmName = "inverted_index_algo";
    public const string DropRatioSearchName = "drop_ratio_search";

    /// <summary>Checks and reads build parameters; unknown names, a ratio outside [0, 1) or an unknown algorithm are
    /// InvalidArgument naming them.</summary>
    public static SparseIndexOptions Parse(IndexKind kind, IndexParameters p)
    {
        var owner = kind.ToMilvusName();
        p.RejectUnknown(owner, DropRatioBuildName, AlgorithmName, "bm25_k1", "bm25_b", "bm25_avgdl");
        var drop = p.GetDouble(owner, DropRatioBuildName, 0, 0, 1);
        if (drop >= 1)
        {
            Throw.Invalid($"{owner}: parameter '{DropRatioBuildName}' must be in [0, 1), got 1");
        }

        var algorithm = kind == IndexKind.SparseWand ? SparseAlgorithm.DaatWand : SparseAlgorithm.DaatMaxScore;
        if (p.Values.TryGetValue(AlgorithmName, out var name))
        {
            algorithm = name.Trim().ToUpperInvariant() switch
            {
                "TAAT_NAIVE" => SparseAlgorithm.TaatNaive,
                "DAAT_WAND" => SparseAlgorithm.DaatWand,
                "DAAT_MAXSCORE" => SparseAlgorithm.DaatMaxScore,
                _ => throw new QuiverException(QuiverErrorCode.InvalidArgument,
                    $"{owner}: parameter '{AlgorithmName}' must be TAAT_NAIVE, DAAT_WAND or DAAT_MAXSCORE, got '{name}'"),
            };
        }

        return new SparseIndexOptions(drop, algorithm);
    }

    /// <summary>Reads <c>drop_ratio_search</c> ([0, 1)) from search parameters; other names are refused.</summary>
    public static double ParseSearch(IndexParameters p)
    {
        const string owner = "search params";
        p.RejectUnknown(owner, DropRatioSearchName);
        var ratio = p.GetDouble(owner, DropRatioSearchName, 0, 0, 1);
        if (ratio >= 1)
        {
            Throw.Invalid($"{owner}: parameter '{DropRatioSearchName}' must be in [0, 1), got 1");
        }

        return ratio;
    }
}

/// <summary>Posting lists of one sealed segment's sparse field: for each dimension the rows holding it (ascending) with
/// their values, and the largest value (the list's upper bound). Immutable once built; searches are thread-safe.</summary>
internal sealed class SparseInvertedIndex
{
    private readonly Dictionary<uint, int> _lists;
    private readonly long[] _offsets;
    private readonly int[] _rows;
    private readonly float[] _values;
    private readonly float[] _max;

    private SparseInvertedIndex(int count, SparseIndexOptions options, Dictionary<uint, int> lists, long[] offsets, int[] rows, float[] values, float[] max)
    {
        Count = count;
        Options = options;
        _lists = lists;
        _offsets = offsets;
        _rows = rows;
        _values = values;
        _max = max;
    }

    public int Count { get; }

    public SparseIndexOptions Options { get; }

    /// <summary>Postings held.</summary>
    public long Postings => _rows.Length;

    /// <summary>Builds the lists over rows [0, count) of <paramref name="column"/>, leaving out values below the
    /// <see cref="SparseIndexOptions.DropRatioBuild"/> quantile of all stored values (and zeros, which score nothing).</summary>
    public static SparseInvertedIndex Build(SparseColumn column, int count, SparseIndexOptions options, CancellationToken cancellationToken)
    {
        var threshold = options.DropRatioBuild > 0 ? Quantile(column, count, options.DropRatioBuild, cancellationToken) : float.NegativeInfinity;

        // Pass 1 sizes each dimension's list, pass 2 fills them (rows arrive ascending, so each list is sorted).
        var lists = new Dictionary<uint, int>();
        var sizes = new List<long>();
        VisitRows(column, count, cancellationToken, (_, indices, values) =>
        {
            for (var i = 0; i < indices.Length; i++)
            {
                if (values[i] >= threshold && values[i] != 0)
                {
                    if (!lists.TryGetValue(indices[i], out var l))
                    {
                        l = sizes.Count;
                        lists[indices[i]] = l;
                        sizes.Add(0);
                    }

                    sizes[l]++;
                }
            }
        });

        var offsets = new long[sizes.Count + 1];
        for (var l = 0; l < sizes.Count; l++)
        {
            offsets[l + 1] = offsets[l] + sizes[l];
        }

        var cursor = offsets[..^1];
        var rows = new int[offsets[^1]];
        var stored = new float[offsets[^1]];
        var max = new float[sizes.Count];
        VisitRows(column, count, cancellationToken, (row, indices, values) =>
        {
            for (var i = 0; i < indices.Length; i++)
            {
                if (values[i] >= threshold && values[i] != 0)
                {
                    var l = lists[indices[i]];
                    var at = cursor[l]++;
                    rows[at] = row;
                    stored[at] = values[i];
                    max[l] = Math.Max(max[l], values[i]);
                }
            }
        });

        return new SparseInvertedIndex(count, options, lists, offsets, rows, stored, max);
    }

    /// <summary>The value at the <paramref name="ratio"/> quantile of every stored value of the segment.</summary>
    private static float Quantile(SparseColumn column, int count, double ratio, CancellationToken cancellationToken)
    {
        var all = new List<float>();
        VisitRows(column, count, cancellationToken, (_, _, values) => all.AddRange(values));
        if (all.Count == 0)
        {
            return float.NegativeInfinity;
        }

        all.Sort();
        return all[(int)Math.Min(all.Count - 1, (long)(ratio * all.Count))];
    }

    private delegate void RowVisitor(int row, ReadOnlySpan<uint> indices, ReadOnlySpan<float> values);

    /// <summary>Calls <paramref name="visit"/> with each non-null row's pairs, decoded into reused buffers.</summary>
    private static void VisitRows(SparseColumn column, int count, CancellationToken cancellationToken, RowVisitor visit)
    {
        byte[]? scratch = null;
        var idx = new uint[64];
        var val = new float[64];
        for (var r = 0; r < count; r++)
        {
            if ((r & 4095) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (column.IsNull(r))
            {
                continue;
            }

            var pairs = column.Pairs(r, ref scratch);
            var n = pairs.Length / SparseVector.PairBytes;
            if (idx.Length < n)
            {
                idx = new uint[n];
                val = new float[n];
            }

            SparseColumn.ReadPairs(pairs, idx, val);
            visit(r, idx.AsSpan(0, n), val.AsSpan(0, n));
        }
    }

    /// <summary>Offers every row of the segment among <paramref name="allowed"/> (null: all) with a positive score to
    /// <paramref name="offer"/>, the exact top-k of the listed scores surviving; <paramref name="threshold"/> reports the
    /// k-th best score the caller holds so far (0 while it has fewer than k), which is what WAND and MaxScore prune by.</summary>
    public void Search(SparseQuery query, AllowedRows? allowed, Func<float> threshold, Action<int, float> offer)
    {
        var terms = new List<Cursor>(query.Indices.Length);
        for (var i = 0; i < query.Indices.Length; i++)
        {
            if (_lists.TryGetValue(query.Indices[i], out var l) && query.Values[i] > 0)
            {
                terms.Add(new Cursor(_offsets[l], _offsets[l + 1], query.Values[i], query.Values[i] * _max[l]));
            }
        }

        if (terms.Count == 0)
        {
            return;
        }

        switch (Options.Algorithm)
        {
            case SparseAlgorithm.TaatNaive:
                Taat(terms, allowed, offer);
                break;
            case SparseAlgorithm.DaatWand:
                Wand(terms, allowed, threshold, offer);
                break;
            default:
                MaxScore(terms, allowed, threshold, offer);
                break;
        }
    }

    private void Taat(List<Cursor> terms, AllowedRows? allowed, Action<int, float> offer)
    {
        var scores = new float[Count];
        var touched = new List<int>();
        foreach (var t in terms)
        {
            for (var at = t.Start; at < t.End; at++)
            {
                var row = _rows[at];
                if (scores[row] == 0)
                {
                    touched.Add(row);
                }

                scores[row] += t.Weight * _values[at];
            }
        }

        foreach (var row in touched)
        {
            if (scores[row] > 0 && (allowed is not { } a || a.Contains(row)))
            {
                offer(row, scores[row]);
            }
        }
    }

    /// <summary>Exact WAND: cursors kept in order of their current row; the pivot is the first cursor where the summed
    /// upper bounds exceed the threshold. A row is scored only when every cursor before the pivot has reached it.</summary>
    private void Wand(List<Cursor> terms, AllowedRows? allowed, Func<float> threshold, Action<int, float> offer)
    {
        var c = terms.ToArray();
        while (true)
        {
            SortByRow(c);
            var theta = Bound(threshold());
            float acc = 0;
            var pivot = -1;
            for (var i = 0; i < c.Length && c[i].Pos < c[i].End; i++)
            {
                acc += c[i].Upper;
                if (acc > theta)
                {
                    pivot = i;
                    break;
                }
            }

            if (pivot < 0)
            {
                return;
            }

            var row = _rows[c[pivot].Pos];
            if (_rows[c[0].Pos] == row)
            {
                float score = 0;
                for (var i = 0; i < c.Length && c[i].Pos < c[i].End && _rows[c[i].Pos] == row; i++)
                {
                    score += c[i].Weight * _values[c[i].Pos];
                    c[i].Pos++;
                }

                if (score > 0 && (allowed is not { } a || a.Contains(row)))
                {
                    offer(row, score);
                }
            }
            else
            {
                for (var i = 0; i < pivot; i++)
                {
                    c[i].Pos = Seek(c[i].Pos, c[i].End, row);
                }
            }
        }
    }

    /// <summary>Exact MaxScore: lists sorted by upper bound; the low ones whose bounds sum to at most the threshold are
    /// non-essential and only probed for rows the essential lists propose, and only while they could still lift the row
    /// above the threshold.</summary>
    private void MaxScore(List<Cursor> terms, AllowedRows? allowed, Func<float> threshold, Action<int, float> offer)
    {
        var c = terms.ToArray();
        Array.Sort(c, (x, y) => x.Upper.CompareTo(y.Upper));
        var prefix = new float[c.Length];
        for (var i = 0; i < c.Length; i++)
        {
            prefix[i] = c[i].Upper + (i > 0 ? prefix[i - 1] : 0);
        }

        var essential = 0;
        while (true)
        {
            var theta = Bound(threshold());
            while (essential < c.Length && prefix[essential] <= theta)
            {
                essential++;
            }

            if (essential == c.Length)
            {
                return;
            }

            var row = int.MaxValue;
            for (var i = essential; i < c.Length; i++)
            {
                if (c[i].Pos < c[i].End)
                {
                    row = Math.Min(row, _rows[c[i].Pos]);
                }
            }

            if (row == int.MaxValue)
            {
                return;
            }

            float score = 0;
            for (var i = essential; i < c.Length; i++)
            {
                if (c[i].Pos < c[i].End && _rows[c[i].Pos] == row)
                {
                    score += c[i].Weight * _values[c[i].Pos];
                    c[i].Pos++;
                }
            }

            if (allowed is { } a && !a.Contains(row))
            {
                continue;
            }

            var complete = true;
            for (var i = essential - 1; i >= 0; i--)
            {
                if (score + prefix[i] <= theta)
                {
                    complete = false;
                    break;
                }

                c[i].Pos = Seek(c[i].Pos, c[i].End, row);
                if (c[i].Pos < c[i].End && _rows[c[i].Pos] == row)
                {
                    score += c[i].Weight * _values[c[i].Pos];
                }
            }

            if (complete && score > 0)
            {
                offer(row, score);
            }
        }
    }

    /// <summary>The threshold loosened by a relative 1e-6, so that float rounding in summed upper bounds never prunes a
    /// row whose exact score ties or beats it.</summary>
    private static float Bound(float theta) => theta <= 0 ? 0 : theta * (1 - 1e-6f);

    private int RowOf(in Cursor c) => c.Pos < c.End ? _rows[c.Pos] : int.MaxValue;

    /// <summary>Insertion sort by current row: between two steps only the cursors that moved are out of place.</summary>
    private void SortByRow(Cursor[] c)
    {
        for (var i = 1; i < c.Length; i++)
        {
            var item = c[i];
            var row = RowOf(item);
            var j = i - 1;
            while (j >= 0 && RowOf(c[j]) > row)
            {
                c[j + 1] = c[j];
                j--;
            }

            c[j + 1] = item;
        }
    }

    /// <summary>The first position in [pos, end) whose row is at least <paramref name="row"/> (<see cref="Bm25Search.Seek"/>;
    /// the rows are one array, so its positions fit an int).</summary>
    private long Seek(long pos, long end, int row) => Bm25Search.Seek(_rows, (int)pos, (int)end, row);

    private struct Cursor(long start, long end, float weight, float upper)
    {
        public long Pos = start;
        public readonly long Start = start;
        public readonly long End = end;
        public readonly float Weight = weight;
        public readonly float Upper = upper;
    }
}

/// <summary>A search's query after <c>drop_ratio_search</c>: its smallest values left out.</summary>
internal readonly record struct SparseQuery(uint[] Indices, float[] Values)
{
    /// <summary>Keeps the entries whose value is at least the <paramref name="dropRatio"/> quantile of the query's
    /// values (Milvus drops that share of the smallest query values before searching an index).</summary>
    public static SparseQuery From(SparseVector v, double dropRatio)
    {
        if (dropRatio <= 0 || v.Count == 0)
        {
            return new SparseQuery(v.Indices.ToArray(), v.Values.ToArray());
        }

        var sorted = v.Values.ToArray();
        Array.Sort(sorted);
        var cut = sorted[(int)Math.Min(sorted.Length - 1, (long)(dropRatio * sorted.Length))];
        var idx = new List<uint>();
        var val = new List<float>();
        for (var i = 0; i < v.Count; i++)
        {
            if (v.Values[i] >= cut)
            {
                idx.Add(v.Indices[i]);
                val.Add(v.Values[i]);
            }
        }

        return new SparseQuery([.. idx], [.. val]);
    }
}
