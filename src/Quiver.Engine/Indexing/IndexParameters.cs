using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;

namespace Quiver.Indexing;

/// <summary>Index build or search parameters as Milvus users write them: a flat map of names to numbers or strings
/// (<c>{"M": 16, "efConstruction": 200}</c>, <c>{"ef": 64}</c>). Names are matched exactly, as in Milvus. Typed getters
/// check ranges and throw an <see cref="QuiverException"/> naming the index, the parameter and the value.</summary>
public sealed class IndexParameters
{
    private readonly FrozenDictionary<string, string> _values;

    /// <summary>No parameters: every getter returns its default.</summary>
    public static IndexParameters Empty { get; } = new(new Dictionary<string, string>());

    /// <summary>Parameters from name/value pairs; values are kept as invariant-culture text.</summary>
    public IndexParameters(IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        _values = values.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>All parameters, for describing an index.</summary>
    public IReadOnlyDictionary<string, string> Values => _values;

    /// <summary>Parses a JSON object of parameters (<c>{"M":16}</c>); numbers, strings and booleans are accepted.</summary>
    public static IndexParameters FromJson(string? json, string what = "params")
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return Empty;
        }

        JsonDocument doc;
        try
        {
            doc = JsonLimits.ParseText(json);
        }
        catch (JsonException e)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"{what}: not valid JSON: {e.Message}");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new QuiverException(QuiverErrorCode.InvalidArgument, $"{what}: expected a JSON object, got {doc.RootElement.ValueKind}");
            }

            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                map[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString()!,
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => p.Value.GetRawText(),
                    _ => throw new QuiverException(
                        QuiverErrorCode.InvalidArgument, $"{what}: parameter '{p.Name}' must be a number, string or boolean, got {p.Value.ValueKind}"),
                };
            }

            return new IndexParameters(map);
        }
    }

    /// <summary>The parameters as a JSON object (numbers unquoted where they parse as numbers).</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            foreach (var (k, v) in _values.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                {
                    w.WritePropertyName(k);
                    w.WriteRawValue(v);
                }
                else if (v is "true" or "false")
                {
                    w.WriteBoolean(k, v == "true");
                }
                else
                {
                    w.WriteString(k, v);
                }
            }

            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>True when the parameter is given.</summary>
    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>An integer parameter in [min, max], or <paramref name="fallback"/> when absent.</summary>
    public int GetInt(string owner, string name, int fallback, int min, int max)
    {
        if (!_values.TryGetValue(name, out var text))
        {
            return fallback;
        }

        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            && !(double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d) && (v = (long)d) == d))
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"{owner}: parameter '{name}' must be an integer in {min}..{max}, got '{text}'");
        }

        if (v < min || v > max)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"{owner}: parameter '{name}' must be in {min}..{max}, got {v}");
        }

        return (int)v;
    }

    /// <summary>A floating-point parameter in [min, max], or <paramref name="fallback"/> when absent.</summary>
    public double GetDouble(string owner, string name, double fallback, double min, double max)
    {
        if (!_values.TryGetValue(name, out var text))
        {
            return fallback;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"{owner}: parameter '{name}' must be a number in {min}..{max}, got '{text}'");
        }

        if (v < min || v > max)
        {
            throw new QuiverException(
                QuiverErrorCode.InvalidArgument, string.Create(CultureInfo.InvariantCulture, $"{owner}: parameter '{name}' must be in {min}..{max}, got {v}"));
        }

        return v;
    }

    /// <summary>A boolean parameter (<c>true</c>/<c>false</c>, any case), or <paramref name="fallback"/> when absent.</summary>
    public bool GetBool(string owner, string name, bool fallback)
    {
        if (!_values.TryGetValue(name, out var text))
        {
            return fallback;
        }

        if (!bool.TryParse(text, out var v))
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"{owner}: parameter '{name}' must be true or false, got '{text}'");
        }

        return v;
    }

    /// <summary>Throws when a parameter is not among <paramref name="known"/>, so a typo (<c>"ef_construction"</c>) is
    /// an error rather than a silently ignored setting.</summary>
    public void RejectUnknown(string owner, params string[] known)
    {
        foreach (var name in _values.Keys)
        {
            if (Array.IndexOf(known, name) < 0)
            {
                throw new QuiverException(
                    QuiverErrorCode.InvalidArgument,
                    $"{owner}: unknown parameter '{name}'; expected one of {string.Join(", ", known.Select(k => $"'{k}'"))}");
            }
        }
    }
}
