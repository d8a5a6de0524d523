using System.Globalization;

namespace Quiver.Indexing;

/// <summary>AUTOINDEX: picks the index type and its build parameters per segment from its size, its dimension and a
/// recall target (<c>{"recall": 0.95}</c>, default 0.95). Small segments are searched exactly (FLAT): below
/// <see cref="ExactRows"/> rows a scan costs about as much as a graph traversal and is always exact. Larger ones get
/// HNSW, with more links and a wider construction beam for higher targets and higher dimensions, where graphs need
/// more neighbours to stay navigable.</summary>
internal static class AutoIndex
{
    public const int ExactRows = 4096;

    public static void Validate(IndexParameters p)
    {
        p.RejectUnknown("index AUTOINDEX", "recall");
        p.GetDouble("index AUTOINDEX", "recall", 0.95, 0.5, 0.999);
    }

    public static (IndexKind Kind, IndexParameters Params) Resolve(IndexParameters p, int count, int dimension)
    {
        var recall = p.GetDouble("index AUTOINDEX", "recall", 0.95, 0.5, 0.999);
        if (count < ExactRows)
        {
            return (IndexKind.Flat, IndexParameters.Empty);
        }

        var m = recall switch
        {
            <= 0.9 => 12,
            <= 0.95 => 16,
            <= 0.98 => 24,
            _ => 32,
        };
        if (dimension >= 512)
        {
            m = Math.Max(m, 24);
        }

        var efConstruction = recall > 0.95 ? 360 : 200;
        return (IndexKind.Hnsw, new IndexParameters(new Dictionary<string, string>
        {
            ["M"] = m.ToString(CultureInfo.InvariantCulture),
            ["efConstruction"] = efConstruction.ToString(CultureInfo.InvariantCulture),
        }));
    }
}
