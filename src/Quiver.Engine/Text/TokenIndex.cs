using Quiver.Segments;

namespace Quiver.TextAnalysis;

/// <summary>The token index of one VarChar column of an immutable row source (a sealed segment): for each term the
/// analyzer produces, the ascending rows that hold it and, per row, the term's ascending positions (for phrases).
/// Built in one pass over the column; thread-safe to read.</summary>
internal sealed class TokenIndex
{
    private readonly Dictionary<string, Postings> _terms;

    private TokenIndex(Dictionary<string, Postings> terms, int[] nullRows, int rowCount)
    {
        _terms = terms;
        NullRows = nullRows;
        RowCount = rowCount;

        // Per term: its dictionary entry and bucket (28 bytes), the string (22 + 2 a char), the postings object (40) and
        // its three arrays (24 + 4 an element each: rows, row starts plus one, positions); and the null rows' array.
        long bytes = 24 + (4L * nullRows.Length);
        foreach (var (term, postings) in terms)
        {
            bytes += 28 + 22 + (2L * term.Length) + 40 + (3 * 24) + (4L * ((2 * postings.Rows.Length) + 1 + postings.PositionCount));
        }

        MemoryBytes = bytes;
    }

    /// <summary>Bytes the index holds on the managed heap (counted against the engine's memory budget as a scalar
    /// index of its segment).</summary>
    public long MemoryBytes { get; }

    /// <summary>The null rows, ascending.</summary>
    public int[] NullRows { get; }

    /// <summary>Rows indexed (nulls included).</summary>
    public int RowCount { get; }

    /// <summary>Distinct terms indexed.</summary>
    public int TermCount => _terms.Count;

    /// <summary>Analyzes every row of <paramref name="column"/> with <paramref name="analyzer"/>.</summary>
    public static TokenIndex Build(StringColumn column, Analyzer analyzer)
    {
        var builders = new Dictionary<string, Builder>(StringComparer.Ordinal);
        var nulls = new List<int>();
        for (var row = 0; row < column.Count; row++)
        {
            if (column.GetString(row) is not { } text)
            {
                nulls.Add(row);
                continue;
            }
            foreach (var token in analyzer.Analyze(text))
            {
                if (!builders.TryGetValue(token.Text, out var builder))
                {
                    builder = new Builder();
                    builders[token.Text] = builder;
                }
                builder.Add(row, token.Position);
            }
        }
        var terms = new Dictionary<string, Postings>(builders.Count, StringComparer.Ordinal);
        foreach (var (term, builder) in builders)
            terms[term] = builder.Finish();
        return new TokenIndex(terms, [.. nulls], column.Count);
    }

    /// <summary>The ascending rows that hold <paramref name="term"/>.</summary>
    public ReadOnlySpan<int> Rows(string term) => _terms.TryGetValue(term, out var p) ? p.Rows : default;

    /// <summary>The postings of <paramref name="term"/>, or null when no row holds it.</summary>
    public Postings? Find(string term) => _terms.GetValueOrDefault(term);

    /// <summary>One term's rows and positions: row <c>Rows[i]</c> holds the term at
    /// <c>Positions[Starts[i] .. Starts[i + 1]]</c>.</summary>
    internal sealed class Postings(int[] rows, int[] starts, int[] positions)
    {
        /// <summary>Rows holding the term, ascending.</summary>
        public int[] Rows { get; } = rows;

        /// <summary>Positions over all its rows.</summary>
        public int PositionCount => positions.Length;

        /// <summary>The term's positions in the row at index <paramref name="i"/> of <see cref="Rows"/>, ascending.</summary>
        public int[] PositionsAt(int i) => positions[starts[i]..starts[i + 1]];
    }

    private sealed class Builder
    {
        private readonly List<int> _rows = [];
        private readonly List<int> _starts = [];
        private readonly List<int> _positions = [];

        public void Add(int row, int position)
        {
            if (_rows.Count == 0 || _rows[^1] != row)
            {
                _rows.Add(row);
                _starts.Add(_positions.Count);
            }
            _positions.Add(position);
        }

        public Postings Finish()
        {
            _starts.Add(_positions.Count);
            return new Postings([.. _rows], [.. _starts], [.. _positions]);
        }
    }
}
