using Quiver.TextAnalysis;

namespace Quiver.Engine.Tests.TextAnalysis;

public class AnalyzerTests
{
    private static string[] Terms(Analyzer analyzer, string text) => [.. analyzer.Analyze(text).Select(t => t.Text)];

    [Theory]
    [InlineData("The Milvus vector database is built for scale!", "the|milvus|vector|database|is|built|for|scale")]
    [InlineData("don't stop: e.g. 3.14 and 1,000 items", "don't|stop|e.g|3.14|and|1,000|items")]
    [InlineData("snake_case and abc123 end.", "snake_case|and|abc123|end")]
    [InlineData("café Straße ÉCOLE", "café|straße|école")]
    [InlineData("a--b ... c", "a|b|c")]
    [InlineData("中文测试 mixed", "中|文|测|试|mixed")]
    [InlineData("カタカナ語", "カタカナ|語")]
    [InlineData("", "")]
    [InlineData("  !?  ", "")]
    public void Standard_SplitsAtWordBoundaries_AndLowercases(string text, string expected) =>
        Assert.Equal(expected.Length == 0 ? [] : expected.Split('|'), Terms(Analyzer.Standard, text));

    [Fact]
    public void Analyze_ReportsPositionsAndUtf16Offsets()
    {
        var tokens = Analyzer.Standard.Analyze("Hi, 😀 there café");
        Assert.Equal(
            [new Token("hi", 0, 0, 2), new Token("there", 1, 7, 12), new Token("café", 2, 13, 17)],
            tokens);
    }

    [Fact]
    public void English_StemsLowercasesAndDropsStopWords_KeepingPositionGaps()
    {
        var english = Analyzer.Create("""{"type":"english"}""");
        var tokens = english.Analyze("The runners are running in the races");
        Assert.Equal(["runner", "run", "race"], tokens.Select(t => t.Text));
        Assert.Equal([1, 3, 6], tokens.Select(t => t.Position));
    }

    [Fact]
    public void Custom_ChainRunsInOrder()
    {
        var analyzer = Analyzer.Create("""
            {"tokenizer":"standard","filter":["lowercase",{"type":"stop","stop_words":["of","_english_"]},
             {"type":"stemmer","language":"english"},{"type":"length","max":6}]}
            """);
        Assert.Equal(["cat", "dog", "jump"], Terms(analyzer, "Cats of the Dogs jumped extraordinarily"));
    }

    [Fact]
    public void Whitespace_KeepsPunctuation_RemovePunctDropsPunctuationOnlyTokens()
    {
        var analyzer = Analyzer.Create("""{"tokenizer":{"type":"whitespace"},"filter":["removepunct"]}""");
        Assert.Equal(["Hello,", "world!", "a-b"], Terms(analyzer, "Hello, world! -- a-b ..."));
    }

    [Fact]
    public void AlphanumOnly_AndAsciiFolding()
    {
        Assert.Equal(["abc", "x1"], Terms(Analyzer.Create("""{"tokenizer":"standard","filter":["alphanumonly"]}"""), "abc café x1"));
        Assert.Equal(["cafe", "strasse", "naive"],
            Terms(Analyzer.Create("""{"tokenizer":"standard","filter":["lowercase","asciifolding"]}"""), "Café Straße naïve"));
    }

    [Fact]
    public void Standard_WithStopWords()
    {
        var analyzer = Analyzer.Create("""{"type":"standard","stop_words":["the","a"]}""");
        Assert.Equal(["cat", "sat"], Terms(analyzer, "The cat sat a"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("""{"type":"standard"}""")]
    [InlineData("""{"tokenizer":"standard","filter":["lowercase"]}""")]
    public void DefaultForms_BehaveAsStandard(string? json) =>
        Assert.Equal(["hello", "world"], Terms(Analyzer.Create(json), "Hello WORLD"));

    [Theory]
    [InlineData("[1]", "expected a JSON object, got an array")]
    [InlineData("{bad", "not valid JSON")]
    [InlineData("""{"type":"chinese"}""", "analyzer type \"chinese\" is not supported")]
    [InlineData("""{"type":"english","tokenizer":"standard"}""", "not both")]
    [InlineData("""{"type":"english","stopwords":["a"]}""", "unknown key \"stopwords\" for the english analyzer")]
    [InlineData("""{"tokenizer":"jieba"}""", "tokenizer \"jieba\" is not supported")]
    [InlineData("""{"tokenizer":{"kind":"standard"}}""", "the tokenizer object needs a \"type\"")]
    [InlineData("""{"tokenizer":7}""", "tokenizer must be a string, got the number 7")]
    [InlineData("""{"tokenizer":"standard","filter":"lowercase"}""", "\"filter\" must be an array")]
    [InlineData("""{"tokenizer":"standard","filter":["uppercase"]}""", "filter \"uppercase\" is not supported")]
    [InlineData("""{"tokenizer":"standard","filter":["stemmer"]}""", "filter \"stemmer\" needs settings")]
    [InlineData("""{"tokenizer":"standard","filter":[{"type":"stemmer","language":"french"}]}""", "stemmer language \"french\" is not supported")]
    [InlineData("""{"tokenizer":"standard","filter":[{"type":"stemmer"}]}""", "the stemmer filter needs \"language\"")]
    [InlineData("""{"tokenizer":"standard","filter":[{"type":"stop"}]}""", "the stop filter needs \"stop_words\"")]
    [InlineData("""{"tokenizer":"standard","filter":[{"type":"stop","stop_words":[1]}]}""", "it holds the number 1")]
    [InlineData("""{"tokenizer":"standard","filter":[{"type":"length","max":0}]}""", "\"max\" must be a positive integer, got 0")]
    [InlineData("""{"tokenizer":"standard","filter":[{"type":"length","max":5,"min":1}]}""", "unknown key \"min\" for the length filter")]
    [InlineData("""{"tokenizer":"standard","filter":[{"language":"english"}]}""", "a filter object needs a \"type\"")]
    [InlineData("""{"tokenizer":"standard","extra":1}""", "unknown key \"extra\"")]
    [InlineData("""{"filter":["lowercase"]}""", "unknown key \"filter\"")]
    public void Create_InvalidParams_NameTheProblem(string json, string message)
    {
        var error = Assert.Throws<QuiverException>(() => Analyzer.Create(json));
        Assert.Equal(QuiverErrorCode.InvalidArgument, error.Code);
        Assert.StartsWith("invalid analyzer_params: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_TooManyFilters_IsRefused()
    {
        var json = "{\"tokenizer\":\"standard\",\"filter\":[" + string.Join(',', Enumerable.Repeat("\"lowercase\"", 33)) + "]}";
        var error = Assert.Throws<QuiverException>(() => Analyzer.Create(json));
        Assert.Contains("the limit is 32", error.Message, StringComparison.Ordinal);
    }
}

public class TermHashTests
{
    [Theory]
    [InlineData("", 0u)]
    [InlineData("hello", 0x3610A686u)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x414FA339u)]
    public void Of_IsTheIeeeCrc32OfTheUtf8Bytes(string term, uint expected) => Assert.Equal(expected, TermHash.Of(term));

    [Fact]
    public void Of_HashesOnlyTheFirst100Bytes()
    {
        var prefix = new string('x', 100);
        Assert.Equal(TermHash.Of(prefix), TermHash.Of(prefix + "tail"));
        Assert.Equal(TermHash.Crc32(System.Text.Encoding.UTF8.GetBytes("é")), TermHash.Of("é"));
    }
}
