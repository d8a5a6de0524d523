using Google.Protobuf.Collections;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;

namespace Quiver.Wire;

/// <summary>An analyzed text field's settings on the wire: the <c>type_params</c> <c>enable_analyzer</c>,
/// <c>analyzer_params</c> (JSON text) and <c>enable_match</c> of a Milvus <c>FieldSchema</c>, read and written the same
/// way by the client and the server. Booleans are read as Go's <c>strconv.ParseBool</c> reads them (true, True, TRUE,
/// t, T, 1 and their false forms); the analyzer JSON travels verbatim.</summary>
public static class TextTypeParams
{
    /// <summary>The type param that turns the analyzer on.</summary>
    public const string EnableAnalyzer = "enable_analyzer";

    /// <summary>The type param holding the analyzer's JSON.</summary>
    public const string AnalyzerParams = "analyzer_params";

    /// <summary>The type param that allows TEXT_MATCH and PHRASE_MATCH.</summary>
    public const string EnableMatch = "enable_match";

    /// <summary>Copies the text settings from <paramref name="typeParams"/> (keys unique) onto <paramref name="field"/>.
    /// Throws a <see cref="QuiverException"/> (InvalidArgument) naming the field when a boolean does not parse.</summary>
    public static FieldSchema Apply(FieldSchema field, IReadOnlyDictionary<string, string> typeParams)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(typeParams);
        return field with
        {
            EnableAnalyzer = Bool(typeParams, EnableAnalyzer, field.Name),
            AnalyzerParams = typeParams.TryGetValue(AnalyzerParams, out var json) && json.Length > 0 ? json : null,
            EnableMatch = Bool(typeParams, EnableMatch, field.Name),
        };
    }

    /// <summary>Adds <paramref name="field"/>'s text settings to <paramref name="typeParams"/> (only those that are set).</summary>
    public static void AddTo(FieldSchema field, RepeatedField<KeyValuePair> typeParams)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(typeParams);
        if (field.EnableAnalyzer)
            typeParams.Add(new KeyValuePair { Key = EnableAnalyzer, Value = "true" });
        if (field.AnalyzerParams is { } json)
            typeParams.Add(new KeyValuePair { Key = AnalyzerParams, Value = json });
        if (field.EnableMatch)
            typeParams.Add(new KeyValuePair { Key = EnableMatch, Value = "true" });
    }

    private static bool Bool(IReadOnlyDictionary<string, string> typeParams, string key, string field)
    {
        if (!typeParams.TryGetValue(key, out var text))
            return false;
        return text switch
        {
            "1" or "t" or "T" or "true" or "True" or "TRUE" => true,
            "0" or "f" or "F" or "false" or "False" or "FALSE" => false,
            _ => throw new QuiverException(QuiverErrorCode.InvalidArgument,
                $"field '{field}': type param {key} '{text}' is not a boolean (true or false)"),
        };
    }
}
