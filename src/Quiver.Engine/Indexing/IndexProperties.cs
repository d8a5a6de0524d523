namespace Quiver.Indexing;

/// <summary>The index properties Milvus lets <c>AlterIndex</c> change after an index is built: <c>mmap.enabled</c> alone
/// (Milvus's <c>alter_index_properties</c>). Every build parameter (M, efConstruction, nlist, …) is fixed once the index
/// is built and refused with Milvus's message. Quiver records <c>mmap.enabled</c> and reports it with the index; where an
/// index lives is decided by its type (DISKANN on disk, the others in memory; AUTOINDEX by
/// <see cref="QuiverOptions.IndexMemoryBudgetBytes"/>), not by this property.</summary>
internal static class IndexProperties
{
    /// <summary>Milvus's memory-map switch of an index.</summary>
    public const string MmapEnabled = "mmap.enabled";

    /// <summary>Checks a change of index properties; returns the values to store (booleans as <c>true</c>/<c>false</c>).
    /// Throws InvalidArgument naming the first key or value Milvus would refuse.</summary>
    public static Dictionary<string, string> Check(IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string> remove)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in set)
        {
            RequireAlterable(key);
            if (!bool.TryParse(value.Trim(), out var enabled))
            {
                Throw.Invalid($"invalid {MmapEnabled} value: {value}, expected: true, false");
            }

            result[key] = enabled ? "true" : "false";
        }

        foreach (var key in remove)
        {
            RequireAlterable(key);
        }

        return result;
    }

    private static void RequireAlterable(string key)
    {
        if (key != MmapEnabled)
        {
            Throw.Invalid($"{key} is not a configable index proptery (Milvus's wording): only {MmapEnabled} can be altered once an index is built");
        }
    }
}
