using System.Text.Json;

namespace Quiver.TextAnalysis;

/// <summary>Reads Milvus <c>analyzer_params</c> JSON into an <see cref="Analyzer"/>. Every refusal is a
/// <see cref="QuiverException"/> (InvalidArgument) whose message starts "invalid analyzer_params:" and names the key or
/// value at fault.</summary>
internal static class AnalyzerParams
{
    /// <summary>Longest analyzer_params text accepted, in characters (a stop list of a few thousand words fits).</summary>
    public const int MaxJsonLength = 65_536;

    /// <summary>Most filters in one chain.</summary>
    public const int MaxFilters = 32;

    /// <summary>The English stop list that <c>"_english_"</c> names (the classic 33-word list of Lucene and tantivy).</summary>
    public static readonly IReadOnlySet<string> EnglishStopWords = new HashSet<string>(StringComparer.Ordinal)
    {
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
        "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
        "will", "with",
    };

    private const string EnglishListName = "_english_";

    public static Analyzer Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
            return Analyzer.Standard;
        if (json.Length > MaxJsonLength)
            Fail($"the text is {json.Length} characters long; the limit is {MaxJsonLength}");
        JsonDocument document;
        try
        {
            document = JsonLimits.ParseText(json);
        }
        catch (JsonException e)
        {
            Fail($"not valid JSON ({e.Message})");
            throw; // unreachable
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                Fail($"expected a JSON object, got {Describe(root)}");
            var hasType = root.TryGetProperty("type", out var type);
            var hasTokenizer = root.TryGetProperty("tokenizer", out var tokenizer);
            if (hasType && hasTokenizer)
                Fail("give either \"type\" (a built-in analyzer) or \"tokenizer\" (a custom one), not both");
            if (hasType)
                return BuiltIn(root, type, json);
            if (!hasTokenizer)
            {
                foreach (var property in root.EnumerateObject())
                    Fail($"unknown key \"{property.Name}\" (a custom analyzer needs \"tokenizer\"; a built-in one \"type\")");
                return Analyzer.Standard;
            }
            return Custom(root, tokenizer, json);
        }
    }

    private static Analyzer BuiltIn(JsonElement root, JsonElement type, string json)
    {
        var name = NameOf(type, "type");
        HashSet<string>? stopWords = null;
        foreach (var property in root.EnumerateObject())
        {
            if (property.NameEquals("stop_words"))
                stopWords = StopWords(property.Value, "stop_words");
            else if (!property.NameEquals("type"))
                Fail($"unknown key \"{property.Name}\" for the {name} analyzer (it takes \"stop_words\")");
        }
        switch (name)
        {
            case "standard":
                return new Analyzer(StandardTokenizer.Instance,
                    stopWords is null ? [LowercaseFilter.Instance] : [LowercaseFilter.Instance, new StopFilter(stopWords)], json);
            case "english":
                return new Analyzer(StandardTokenizer.Instance,
                    [LowercaseFilter.Instance, EnglishStemFilter.Instance, new StopFilter(stopWords ?? new HashSet<string>(EnglishStopWords))],
                    json);
            default:
                Fail($"analyzer type \"{name}\" is not supported (Quiver has \"standard\" and \"english\")");
                return null!; // unreachable
        }
    }

    private static Analyzer Custom(JsonElement root, JsonElement tokenizerElement, string json)
    {
        ITokenizer? tokenizer = null;
        var filters = new List<TokenFilter>();
        foreach (var property in root.EnumerateObject())
        {
            if (property.NameEquals("tokenizer"))
                tokenizer = Tokenizer(tokenizerElement);
            else if (property.NameEquals("filter"))
                ReadFilters(property.Value, filters);
            else
                Fail($"unknown key \"{property.Name}\" (a custom analyzer takes \"tokenizer\" and \"filter\")");
        }
        return new Analyzer(tokenizer!, [.. filters], json);
    }

    private static ITokenizer Tokenizer(JsonElement element)
    {
        string name;
        if (element.ValueKind == JsonValueKind.Object)
        {
            if (!element.TryGetProperty("type", out var type))
                Fail("the tokenizer object needs a \"type\"");
            name = NameOf(type, "tokenizer type");
            foreach (var property in element.EnumerateObject())
            {
                if (!property.NameEquals("type"))
                    Fail($"unknown key \"{property.Name}\" for the {name} tokenizer (it takes no settings)");
            }
        }
        else
        {
            name = NameOf(element, "tokenizer");
        }
        return name switch
        {
            "standard" => StandardTokenizer.Instance,
            "whitespace" => WhitespaceTokenizer.Instance,
            _ => throw Error($"tokenizer \"{name}\" is not supported (Quiver has \"standard\" and \"whitespace\")"),
        };
    }

    private static void ReadFilters(JsonElement element, List<TokenFilter> filters)
    {
        if (element.ValueKind != JsonValueKind.Array)
            Fail($"\"filter\" must be an array, got {Describe(element)}");
        if (element.GetArrayLength() > MaxFilters)
            Fail($"\"filter\" has {element.GetArrayLength()} entries; the limit is {MaxFilters}");
        foreach (var item in element.EnumerateArray())
            filters.Add(item.ValueKind == JsonValueKind.Object ? FilterObject(item) : NamedFilter(NameOf(item, "filter entry")));
    }

    private static TokenFilter NamedFilter(string name) => name switch
    {
        "lowercase" => LowercaseFilter.Instance,
        "asciifolding" => AsciiFoldingFilter.Instance,
        "alphanumonly" => AlphanumOnlyFilter.Instance,
        "removepunct" => RemovePunctFilter.Instance,
        "stop" or "stemmer" or "length" =>
            throw Error($"filter \"{name}\" needs settings: write it as an object {{\"type\":\"{name}\", ...}}"),
        _ => throw Error($"filter \"{name}\" is not supported (Quiver has lowercase, asciifolding, alphanumonly, removepunct, stop, stemmer, length)"),
    };

    private static TokenFilter FilterObject(JsonElement element)
    {
        if (!element.TryGetProperty("type", out var typeElement))
            Fail("a filter object needs a \"type\"");
        var type = NameOf(typeElement, "filter type");
        switch (type)
        {
            case "stop":
                OnlyKeys(element, type, "stop_words");
                if (!element.TryGetProperty("stop_words", out var words))
                    Fail("the stop filter needs \"stop_words\" (a list of words; \"_english_\" names the English list)");
                return new StopFilter(StopWords(words, "stop_words"));
            case "stemmer":
                OnlyKeys(element, type, "language");
                if (!element.TryGetProperty("language", out var language))
                    Fail("the stemmer filter needs \"language\" (Quiver has \"english\")");
                var languageName = NameOf(language, "language");
                if (!languageName.Equals("english", StringComparison.OrdinalIgnoreCase))
                    Fail($"stemmer language \"{languageName}\" is not supported (Quiver has \"english\")");
                return EnglishStemFilter.Instance;
            case "length":
                OnlyKeys(element, type, "max");
                if (!element.TryGetProperty("max", out var max))
                    Fail("the length filter needs \"max\" (the longest token kept, in characters)");
                if (max.ValueKind == JsonValueKind.Number && max.TryGetInt32(out var maxValue) && maxValue >= 1)
                    return new LengthFilter(maxValue);
                Fail($"the length filter's \"max\" must be a positive integer, got {max.GetRawText()}");
                return null!; // unreachable
            default:
                // The named filters take no settings, but Milvus lets them be written as {"type": name} too.
                OnlyKeys(element, type);
                return NamedFilter(type);
        }
    }

    private static void OnlyKeys(JsonElement element, string filter, params ReadOnlySpan<string> allowed)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (property.NameEquals("type"))
                continue;
            var known = false;
            foreach (var key in allowed)
                known |= property.NameEquals(key);
            if (!known)
                Fail($"unknown key \"{property.Name}\" for the {filter} filter");
        }
    }

    private static HashSet<string> StopWords(JsonElement element, string key)
    {
        var words = new HashSet<string>(StringComparer.Ordinal);
        if (element.ValueKind == JsonValueKind.String)
        {
            AddStopWord(words, element.GetString()!);
            return words;
        }
        if (element.ValueKind != JsonValueKind.Array)
            Fail($"\"{key}\" must be a list of strings, got {Describe(element)}");
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                Fail($"\"{key}\" must be a list of strings; it holds {Describe(item)}");
            AddStopWord(words, item.GetString()!);
        }
        return words;
    }

    private static void AddStopWord(HashSet<string> words, string word)
    {
        if (word == EnglishListName)
            words.UnionWith(EnglishStopWords);
        else
            words.Add(word);
    }

    private static string NameOf(JsonElement element, string what)
    {
        if (element.ValueKind != JsonValueKind.String)
            Fail($"{what} must be a string, got {Describe(element)}");
        return element.GetString()!;
    }

    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"the string \"{element.GetString()}\"",
        JsonValueKind.Number => $"the number {element.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"{element.GetRawText()}",
        _ => "null",
    };

    private static QuiverException Error(string message) =>
        new(QuiverErrorCode.InvalidArgument, $"invalid analyzer_params: {message}");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(string message) => throw Error(message);
}
