using System.Globalization;
using System.Text.Json;

namespace Quiver.Cli.Browse;

/// <summary>How the browse commands show a field's value: short text for a table cell (a vector as its first
/// components and its length), and a JSON-ready value for <c>--json</c> (vectors in full, sparse vectors as an
/// index-to-value object, JSON fields as JSON).</summary>
internal static class BrowseValues
{
    /// <summary>Components of a dense vector a table cell shows before "…".</summary>
    public const int CellComponents = 4;

    /// <summary>The text of <paramref name="value"/> in a table cell.</summary>
    public static string Cell(object? value) => value switch
    {
        null => "null",
        string s => s,
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        float[] v => Dense(v.Select(x => x.ToString("0.####", CultureInfo.InvariantCulture)).ToList()),
        sbyte[] v => Dense(v.Select(x => x.ToString(CultureInfo.InvariantCulture)).ToList()),
        byte[] v => $"0x{Convert.ToHexString(v.AsSpan(0, Math.Min(v.Length, 8))).ToLowerInvariant()}{(v.Length > 8 ? "…" : "")} ({v.Length} bytes)",
        SparseVector s => Sparse(s),
        JsonElement e => e.GetRawText(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary><paramref name="value"/> as System.Text.Json writes it for <c>--json</c>.</summary>
    public static object? Json(object? value) => value switch
    {
        SparseVector s => Enumerable.Range(0, s.Count).ToDictionary(i => s.Indices[i].ToString(CultureInfo.InvariantCulture), i => s.Values[i]),
        sbyte[] v => v.Select(x => (int)x).ToArray(),
        _ => value,
    };

    /// <summary>A row with its values made JSON-ready, fields in <paramref name="order"/> first.</summary>
    public static Dictionary<string, object?> JsonRow(IReadOnlyDictionary<string, object?> row, IReadOnlyList<string> order)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var name in order.Concat(row.Keys))
        {
            if (!result.ContainsKey(name) && row.TryGetValue(name, out var value))
            {
                result[name] = Json(value);
            }
        }

        return result;
    }

    private static string Dense(IReadOnlyList<string> components) =>
        components.Count <= CellComponents
            ? $"[{string.Join(", ", components)}]"
            : $"[{string.Join(", ", components.Take(CellComponents))}, …] ({components.Count} dims)";

    private static string Sparse(SparseVector s)
    {
        var pairs = Enumerable.Range(0, Math.Min(s.Count, CellComponents))
            .Select(i => string.Create(CultureInfo.InvariantCulture, $"{s.Indices[i]}: {s.Values[i]:0.####}"));
        return $"{{{string.Join(", ", pairs)}{(s.Count > CellComponents ? ", …" : "")}}} ({s.Count} entries)";
    }
}
