using System.Runtime.InteropServices;

namespace Quiver.Sparse;

/// <summary>A growing segment's BM25 postings, appended a row at a time as searches bring the segment's statistics up
/// to date (<see cref="Bm25Corpus"/>), so that a search scores the postings of its query terms instead of reading every
/// row of the segment. Per term the rows holding it (ascending, in append order) with its frequency; per row its
/// length. A term's document frequency over the rows appended is its list's length.
/// <para>Thread-safety: <see cref="Append"/> and <see cref="Take"/> run under the owner's lock; what <see cref="Take"/>
/// returns is read without it while appends go on: arrays only grow by copying into new ones, and a reader sees the
/// counts and arrays of its <see cref="Take"/>, whose entries are never written again.</para></summary>
internal sealed class Bm25GrowingPostings
{
    private readonly Dictionary<uint, TermList> _lists = [];
    private float[] _lengths = new float[64];

    /// <summary>Rows appended.</summary>
    public int RowCount { get; private set; }

    /// <summary>Summed length of the rows appended.</summary>
    public double TotalLength { get; private set; }

    /// <summary>Bytes the lists and lengths hold (their arrays' capacity).</summary>
    public long MemoryBytes { get; private set; } = 64 * sizeof(float);

    /// <summary>Appends the next row, given as its (term, tf) pairs. The caller holds the owner's lock.</summary>
    public void Append(ReadOnlySpan<byte> pairs)
    {
        var row = RowCount;
        if (row == _lengths.Length)
        {
            MemoryBytes += (long)_lengths.Length * sizeof(float);
            Array.Resize(ref _lengths, _lengths.Length * 2);
        }

        float length = 0;
        for (var i = 0; i < pairs.Length; i += SparseVector.PairBytes)
        {
            var (term, tf) = Bm25Postings.Pair(pairs, i);
            length += tf;
            ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(_lists, term, out _);
            list ??= new TermList();
            MemoryBytes += list.Add(row, tf);
        }

        _lengths[row] = length;
        TotalLength += length;
        RowCount = row + 1;
    }

    /// <summary>Per term, the rows appended that hold it (what the owner keeps instead once the postings are dropped).
    /// The caller holds the owner's lock.</summary>
    public Dictionary<uint, int> DocumentFrequencies()
    {
        var counts = new Dictionary<uint, int>(_lists.Count);
        foreach (var (term, list) in _lists)
        {
            counts[term] = list.Count;
        }

        return counts;
    }

    /// <summary>Rows appended that hold <paramref name="term"/>. The caller holds the owner's lock.</summary>
    public int DocumentFrequency(uint term) => _lists.TryGetValue(term, out var list) ? list.Count : 0;

    /// <summary>The lists of <paramref name="terms"/> (an empty one for a term no row holds) and the row lengths as they
    /// are now, to be read without the lock. The caller holds the owner's lock.</summary>
    public View Take(IReadOnlyList<(uint Term, float Weight)> terms)
    {
        var lists = new (int[] Rows, float[] Tfs, int Count)[terms.Count];
        for (var j = 0; j < lists.Length; j++)
        {
            lists[j] = _lists.TryGetValue(terms[j].Term, out var list) ? (list.Rows, list.Tfs, list.Count) : ([], [], 0);
        }

        return new View(_lengths, lists);
    }

    /// <summary>Lists and lengths taken by <see cref="Take"/>: list j belongs to the j-th term asked for; a list may hold
    /// rows past a search's snapshot (appended by a later one), at its end.</summary>
    internal readonly record struct View(float[] Lengths, (int[] Rows, float[] Tfs, int Count)[] Lists);

    private sealed class TermList
    {
        public int[] Rows = new int[4];
        public float[] Tfs = new float[4];
        public int Count;

        /// <summary>Appends a posting; returns the bytes the arrays grew by.</summary>
        public long Add(int row, float tf)
        {
            long grown = 0;
            if (Count == Rows.Length)
            {
                // New arrays, filled before they are published: a reader holding the old ones keeps reading them.
                var rows = new int[Rows.Length * 2];
                var tfs = new float[Rows.Length * 2];
                Rows.CopyTo(rows, 0);
                Tfs.CopyTo(tfs, 0);
                grown = (long)Rows.Length * (sizeof(int) + sizeof(float));
                Rows = rows;
                Tfs = tfs;
            }

            Rows[Count] = row;
            Tfs[Count] = tf;
            Count++;
            return grown + (Count == 1 ? 4 * (sizeof(int) + sizeof(float)) : 0);
        }
    }
}
