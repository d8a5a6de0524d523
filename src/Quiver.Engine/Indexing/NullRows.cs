using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>Null vectors (Milvus 2.6 nullable vector fields) stay out of every index structure: a segment keeps a null
/// row's slot as a zero vector, but no index trains on it, lists it, links it or places it in a tree, as Milvus builds
/// its indexes over the rows that have a vector. The engine leaves null rows out of a search's allowed set as well, so
/// this is about the structure: a zero vector must not pull a centroid, occupy a list, bend a graph or take a medoid.
/// <para>Index files keep their layouts: the per-entry arrays of IVF_*, BIN_IVF_FLAT and ANNOY are as long as the rows
/// the index holds (at most the segment's rows), and a file written before this rule (holding every row) still loads.</para></summary>
internal static class NullRows
{
    /// <summary>The rows of <paramref name="rows"/> that have a vector, ascending (every row when none is null).</summary>
    public static int[] Live(in VectorView rows)
    {
        var live = new int[Count(rows)];
        var at = 0;
        for (var r = 0; r < rows.Count; r++)
        {
            if (!rows.IsNull(r))
            {
                live[at++] = r;
            }
        }

        return live;
    }

    /// <summary>How many rows of <paramref name="rows"/> have a vector.</summary>
    public static int Count(in VectorView rows)
    {
        if (!rows.HasNulls)
        {
            return rows.Count;
        }

        var count = 0;
        for (var r = 0; r < rows.Count; r++)
        {
            count += rows.IsNull(r) ? 0 : 1;
        }

        return count;
    }

    /// <summary>The length of a per-entry array read from an index file: at most <paramref name="rows"/> entries (fewer
    /// when the segment has null vectors), else the file is corrupt.</summary>
    public static long CheckedEntries(IndexFileReader reader, long entries, long rows)
    {
        if (entries < 0 || entries > rows)
        {
            Throw.Corrupt(reader.Path, $"the index holds {entries} entries for a segment of {rows} rows");
        }

        return entries;
    }
}
