using System.Runtime.InteropServices;
using System.Text.Json;

namespace Quiver;

/// <summary>The named limit on JSON values stored in rows (JSON fields and dynamic-field values). Values past it are
/// refused at the write with InvalidArgument naming the field and the limit, so nothing stored can be too deep for the
/// readers (WAL replay, segment load, filters) or for any recursive walk over it.</summary>
public static class JsonLimits
{
    /// <summary>The deepest container nesting a stored JSON value may have (64, System.Text.Json's default): a number
    /// or string is 0 levels, <c>[1]</c> and <c>{"a": 1}</c> 1, <c>{"a": [1]}</c> 2. A dynamic key's value sits inside
    /// the row's dynamic object, so it may nest one level less.</summary>
    public const int MaxDepth = 64;

    /// <summary>Serializer options for CLR values turned into JSON: the same depth limit (a deeper or self-referencing
    /// value throws <see cref="JsonException"/> instead of recursing further).</summary>
    internal static readonly JsonSerializerOptions Serializer = new() { MaxDepth = MaxDepth };

    /// <summary>The refusal text (the caller adds the row and the field).</summary>
    internal static string DepthError(int limit) =>
        $"the JSON value is nested deeper than {limit} levels (JsonLimits.MaxDepth is {MaxDepth})";

    /// <summary>True when UTF-8 JSON text nests containers deeper than <paramref name="limit"/> levels. One forward pass
    /// without recursion that stops at the first container past the limit; malformed text is left to the parser
    /// (false here).</summary>
    internal static bool TooDeep(ReadOnlySpan<byte> utf8, int limit = MaxDepth)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = limit + 1 });
        try
        {
            while (reader.Read())
            {
                // A container at CurrentDepth d (d enclosing containers) is level d + 1.
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= limit)
                {
                    return true;
                }
            }
        }
        catch (JsonException)
        {
            // Malformed: the parser that follows names the problem.
        }

        return false;
    }

    /// <summary><see cref="TooDeep(ReadOnlySpan{byte}, int)"/> over an element's raw text (no copy).</summary>
    internal static bool TooDeep(JsonElement element, int limit = MaxDepth) =>
        element.ValueKind is JsonValueKind.Object or JsonValueKind.Array && TooDeep(JsonMarshal.GetRawUtf8Value(element), limit);
}
