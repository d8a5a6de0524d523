using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

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
    internal static readonly JsonSerializerOptions Serializer = new()
    {
        MaxDepth = MaxDepth,
        Converters = { new WellFormedStrings(), new WellFormedChars(), new WellFormedElements(), new WellFormedNodes() },
    };

    /// <summary>The longest JSON value a JSON field (or a row's dynamic object) may hold, in UTF-8 bytes as sent: 65,536,
    /// Milvus's limit (<c>common.JSONMaxLength</c>, 64 KiB; its docs: "JSON fields are limited to 65,536 bytes"). Without
    /// it a value was bounded only by the request's size (64 MiB).</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>Null when a JSON value of <paramref name="bytes"/> UTF-8 bytes fits <see cref="MaxBytes"/>; else the refusal
    /// text (the caller adds the row and the field).</summary>
    internal static string? SizeProblem(long bytes) => bytes <= MaxBytes
        ? null
        : string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"the JSON value is {bytes:N0} bytes, over the limit of {MaxBytes:N0} bytes a JSON value may hold (JsonLimits.MaxBytes, as Milvus's)");

    /// <summary>The refusal text (the caller adds the row and the field).</summary>
    internal static string DepthError(int limit) =>
        $"the JSON value is nested deeper than {limit} levels (JsonLimits.MaxDepth is {MaxDepth})";

    /// <summary>The refusal text for a string or member name that decodes to an unpaired UTF-16 surrogate.</summary>
    internal const string SurrogateError = "a string holds an unpaired UTF-16 surrogate escape (like \\uD800 alone), which is not a valid string";

    /// <summary>Null when UTF-8 JSON text can be stored: containers nested no deeper than <paramref name="limit"/> levels
    /// and every string and member name a valid string (JSON allows an escaped lone surrogate such as <c>"\uD800"</c>,
    /// which no reader can turn into a string); else the refusal text. One forward pass without recursion that stops at
    /// the first problem; only escaped strings are decoded. Malformed text is left to the parser (null here).</summary>
    internal static string? Problem(ReadOnlySpan<byte> utf8, int limit = MaxDepth)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8))
        {
            // The reader does not check the bytes inside strings; a stored element holding them fails its readers.
            return "the JSON text is not valid UTF-8";
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = limit + 1 });
        try
        {
            while (reader.Read())
            {
                // A container at CurrentDepth d (d enclosing containers) is level d + 1.
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= limit)
                {
                    return DepthError(limit);
                }

                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && !Decodes(ref reader))
                {
                    return SurrogateError;
                }
            }
        }
        catch (JsonException)
        {
            // Malformed: the parser that follows names the problem.
        }

        return null;
    }

    /// <summary><see cref="Problem(ReadOnlySpan{byte}, int)"/> over an element's raw text (no copy).</summary>
    internal static string? Problem(JsonElement element, int limit = MaxDepth) =>
        element.ValueKind is JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.String
            ? Problem(JsonMarshal.GetRawUtf8Value(element), limit)
            : null;

    /// <summary>Parses JSON text a client gave as a parameter (search, index, analyzer or ranker params, a template's
    /// JSON value): as <see cref="JsonDocument.Parse(string, JsonDocumentOptions)"/>, but text that parses and still
    /// holds no valid strings (an unpaired surrogate, raw or escaped; bytes that are not UTF-8) is refused with a
    /// <see cref="JsonException"/> naming that, as malformed text is, instead of failing later in whatever reads it.</summary>
    internal static JsonDocument ParseText(string json)
    {
        if (Utf16Text.Problem(json) is { } raw)
        {
            throw new JsonException($"the text {raw}");
        }

        return ParseText(System.Text.Encoding.UTF8.GetBytes(json));
    }

    /// <inheritdoc cref="ParseText(string)"/>
    internal static JsonDocument ParseText(ReadOnlyMemory<byte> utf8)
    {
        var document = JsonDocument.Parse(utf8);
        if (Problem(utf8.Span, TextDepthLimit) is { } problem)
        {
            document.Dispose();
            throw new JsonException(problem);
        }

        return document;
    }

    /// <summary>The depth <see cref="ParseText(ReadOnlyMemory{byte})"/> checks strings to: past the parser's own (64).</summary>
    private const int TextDepthLimit = 1024;

    private static bool Decodes(ref Utf8JsonReader reader)
    {
        try
        {
            // The text is valid UTF-8 (checked first); an escape may still decode to a lone surrogate.
            if (reader.ValueIsEscaped)
            {
                reader.GetString();
            }

            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Writes strings as the default converter does, but throws <see cref="InvalidStringException"/> for one with
    /// an unpaired surrogate, value or member name, where the writer would silently put U+FFFD in its place.</summary>
    private sealed class WellFormedStrings : JsonConverter<string>
    {
        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString();

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(Checked(value));

        public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString()!;

        public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WritePropertyName(Checked(value));

        private static string Checked(string value) =>
            Utf16Text.Problem(value) is { } problem ? throw new InvalidStringException($"a string in it {problem}") : value;
    }
}

/// <summary>Writes a <see cref="char"/> as the default converter does (a one-character string), but throws
/// <see cref="InvalidStringException"/> for a surrogate, which alone is always unpaired.</summary>
internal sealed class WellFormedChars : JsonConverter<char>
{
    public override char Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetString() is [var c] ? c : throw new JsonException("expected a string of one character");

    public override void Write(Utf8JsonWriter writer, char value, JsonSerializerOptions options) =>
        writer.WriteStringValue(char.IsSurrogate(value)
            ? throw new InvalidStringException($"a character in it is an unpaired UTF-16 surrogate (U+{(int)value:X4}), which is not a valid string")
            : value.ToString());
}

/// <summary>Writes a <see cref="JsonElement"/> held inside another value (a dictionary's entry, say) as the default
/// converter does, but throws <see cref="InvalidStringException"/> when a string or member name in it could not be
/// written (an escape that decodes to an unpaired surrogate, bytes that are not UTF-8): the writer fails on it with an
/// exception that names only the depth.</summary>
internal sealed class WellFormedElements : JsonConverter<JsonElement>
{
    public override JsonElement Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        JsonElement.ParseValue(ref reader);

    public override void Write(Utf8JsonWriter writer, JsonElement value, JsonSerializerOptions options)
    {
        // Too deep is the serializer's own refusal (its MaxDepth), named by the caller.
        if (JsonLimits.Problem(value) is { } problem && problem != JsonLimits.DepthError(JsonLimits.MaxDepth))
        {
            throw new InvalidStringException(problem);
        }

        value.WriteTo(writer);
    }
}

/// <summary>Writes a <see cref="JsonNode"/> (object, array or value) as it writes itself, after checking its strings and
/// member names: a node writes them with the writer's defaults, which put U+FFFD in place of an unpaired surrogate, past
/// the string converter of these options.</summary>
internal sealed class WellFormedNodes : JsonConverter<JsonNode>
{
    public override bool CanConvert(Type typeToConvert) => typeof(JsonNode).IsAssignableFrom(typeToConvert);

    public override JsonNode? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        JsonNode.Parse(ref reader);

    public override void Write(Utf8JsonWriter writer, JsonNode value, JsonSerializerOptions options)
    {
        if (Problem(value, 0) is { } problem)
        {
            throw new InvalidStringException(problem);
        }

        value.WriteTo(writer, options);
    }

    private static string? Problem(JsonNode? node, int depth)
    {
        if (depth > JsonLimits.MaxDepth)
        {
            // The writer refuses it as too deep; stop walking.
            return null;
        }

        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, child) in obj)
                {
                    if ((Utf16Text.Problem(name) is { } nameProblem ? $"a member name in it {nameProblem}" : Problem(child, depth + 1)) is { } problem)
                    {
                        return problem;
                    }
                }

                return null;
            case JsonArray array:
                foreach (var child in array)
                {
                    if (Problem(child, depth + 1) is { } problem)
                    {
                        return problem;
                    }
                }

                return null;
            // First: a parsed value's string may hold an escape that GetString refuses.
            case JsonValue value when value.TryGetValue<JsonElement>(out var e):
                return JsonLimits.Problem(e);
            case JsonValue value when value.TryGetValue<string>(out var s):
                return Utf16Text.Problem(s) is { } sProblem ? $"a string in it {sProblem}" : null;
            case JsonValue value when value.TryGetValue<char>(out var c):
                return char.IsSurrogate(c) ? $"a character in it is an unpaired UTF-16 surrogate (U+{(int)c:X4}), which is not a valid string" : null;
            default:
                return null;
        }
    }
}

/// <summary>A .NET value given as JSON holds a string that is not valid (an unpaired surrogate); the message is the rule
/// it breaks, for the caller to prefix with the row and field.</summary>
internal sealed class InvalidStringException(string message) : Exception(message);
