namespace Quiver.TextAnalysis;

/// <summary>One token an <see cref="Analyzer"/> produced.</summary>
/// <param name="Text">The token's text after every filter (lower-cased, stemmed, ...).</param>
/// <param name="Position">The token's ordinal among the tokenizer's tokens, from 0. Tokens a filter removed keep their
/// numbers, so positions can have gaps (after stop words); phrase matching relies on them.</param>
/// <param name="Start">Start of the token in the analyzed string, in UTF-16 code units (a .NET string index).</param>
/// <param name="End">End (exclusive) of the token in the analyzed string, in UTF-16 code units.</param>
public readonly record struct Token(string Text, int Position, int Start, int End);

/// <summary>A Milvus analyzer: a tokenizer followed by zero or more token filters, built from a field's
/// <c>analyzer_params</c> (see <see cref="Create"/>). Immutable and thread-safe; create once per field and reuse.</summary>
public sealed class Analyzer
{
    private readonly ITokenizer _tokenizer;
    private readonly TokenFilter[] _filters;

    internal Analyzer(ITokenizer tokenizer, TokenFilter[] filters, string? paramsJson)
    {
        _tokenizer = tokenizer;
        _filters = filters;
        ParamsJson = paramsJson;
    }

    /// <summary>Milvus's default analyzer (<c>{"type":"standard"}</c>): the standard tokenizer and lowercase.</summary>
    public static Analyzer Standard { get; } = new(StandardTokenizer.Instance, [LowercaseFilter.Instance], null);

    /// <summary>The <c>analyzer_params</c> text this analyzer was created from; null for the default.</summary>
    public string? ParamsJson { get; }

    /// <summary>Creates an analyzer from Milvus <c>analyzer_params</c> JSON. Accepted forms: null, empty or <c>{}</c>
    /// (the standard analyzer); a built-in analyzer <c>{"type":"standard"}</c> or <c>{"type":"english"}</c>, each with
    /// an optional <c>"stop_words"</c> list; or a custom one <c>{"tokenizer": T, "filter": [F, ...]}</c> where T is
    /// <c>"standard"</c> or <c>"whitespace"</c> (or <c>{"type": ...}</c>) and each F is one of the names
    /// <c>"lowercase"</c>, <c>"asciifolding"</c>, <c>"alphanumonly"</c>, <c>"removepunct"</c> or an object
    /// <c>{"type":"stop","stop_words":[...]}</c> (the entry <c>"_english_"</c> stands for the English stop list),
    /// <c>{"type":"stemmer","language":"english"}</c>, <c>{"type":"length","max":N}</c>.</summary>
    /// <exception cref="QuiverException">With <see cref="QuiverErrorCode.InvalidArgument"/> and a message naming the
    /// offending key or value when the JSON does not parse or names something Quiver does not have.</exception>
    public static Analyzer Create(string? analyzerParamsJson) => AnalyzerParams.Parse(analyzerParamsJson);

    /// <summary>The analyzer of a VarChar field: the one its <see cref="FieldSchema.AnalyzerParams"/> describe, or the
    /// standard analyzer when it has none. Callers check <see cref="FieldSchema.EnableAnalyzer"/> first; the schema
    /// validator has already refused params that do not make an analyzer.</summary>
    public static Analyzer ForField(FieldSchema field)
    {
        ArgumentNullException.ThrowIfNull(field);
        return field.AnalyzerParams is null ? Standard : Create(field.AnalyzerParams);
    }

    /// <summary>Splits <paramref name="text"/> into tokens and runs them through the filters. Returns the surviving
    /// tokens in text order; the list is the caller's.</summary>
    public IReadOnlyList<Token> Analyze(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ranges = new List<(int Start, int End)>();
        _tokenizer.Tokenize(text, ranges);
        var tokens = new List<Token>(ranges.Count);
        for (var position = 0; position < ranges.Count; position++)
        {
            var (start, end) = ranges[position];
            string? term = text[start..end];
            foreach (var filter in _filters)
            {
                term = filter.Apply(term);
                if (term is null)
                    break;
            }
            if (!string.IsNullOrEmpty(term))
                tokens.Add(new Token(term, position, start, end));
        }
        return tokens;
    }
}
