using Quiver.Engine.Tests.Filtering;
using Quiver.Filtering;
using Quiver.Testing;
using Quiver.TextAnalysis;

namespace Quiver.Engine.Tests.TextAnalysis;

/// <summary>TEXT_MATCH and PHRASE_MATCH against a naive evaluator that analyzes every row and, for phrases, tries every
/// assignment of text positions to phrase tokens: through the token index (sealed segments) and the scan (growing).</summary>
public sealed class TextMatchTests : IDisposable
{
    private const string English = """{"type":"english"}""";

    private static readonly string[] Vocabulary =
        ["the", "quick", "brown", "fox", "jumps", "jumped", "over", "lazy", "dog", "dogs", "and", "Machine", "learning", "deep", "of", "fox's"];

    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema(string? analyzerParams) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Vector("vec", 2),
            FieldSchema.VarChar("text", 1000, nullable: true) with { EnableAnalyzer = true, EnableMatch = true, AnalyzerParams = analyzerParams },
            FieldSchema.VarChar("plain", 100, nullable: true),
            FieldSchema.Scalar("n", DataType.Int64),
        ],
    };

    private static List<Dictionary<string, object?>> RandomRows(int seed, int count)
    {
        var rng = new Random(seed);
        var rows = new List<Dictionary<string, object?>>();
        for (var i = 0; i < count; i++)
        {
            var words = Enumerable.Range(0, rng.Next(0, 9)).Select(_ => Vocabulary[rng.Next(Vocabulary.Length)]);
            rows.Add(new Dictionary<string, object?>
            {
                ["id"] = (long)i,
                ["text"] = rng.Next(10) == 0 ? null : string.Join(rng.Next(2) == 0 ? " " : ", ", words),
                ["plain"] = "x",
                ["n"] = (long)(i % 3),
            });
        }
        return rows;
    }

    private static string RandomPhrase(Random rng) =>
        string.Join(' ', Enumerable.Range(0, rng.Next(1, 4)).Select(_ => Vocabulary[rng.Next(Vocabulary.Length)]));

    // ---- the oracle ----

    private static bool NaiveTextMatch(Analyzer analyzer, string? text, string query)
    {
        if (text is null)
            return false;
        var wanted = analyzer.Analyze(query).Select(t => t.Text).ToHashSet();
        return analyzer.Analyze(text).Any(t => wanted.Contains(t.Text));
    }

    private static bool NaivePhraseMatch(Analyzer analyzer, string? text, string phrase, long slop)
    {
        if (text is null)
            return false;
        var query = analyzer.Analyze(phrase);
        if (query.Count == 0)
            return false;
        var doc = analyzer.Analyze(text);
        var shifts = new long[query.Count];
        var used = new bool[doc.Count];
        return Assign(0);

        // Every injective choice of a text token (with the same term) for each phrase token; match when the spread of
        // (text position - phrase offset) is within the slop.
        bool Assign(int k)
        {
            if (k == query.Count)
                return shifts.Max() - shifts.Min() <= slop;
            for (var d = 0; d < doc.Count; d++)
            {
                if (used[d] || doc[d].Text != query[k].Text)
                    continue;
                used[d] = true;
                shifts[k] = doc[d].Position - (long)(query[k].Position - query[0].Position);
                var ok = Assign(k + 1);
                used[d] = false;
                if (ok)
                    return true;
            }
            return false;
        }
    }

    private static int[] Expected(List<Dictionary<string, object?>> rows, Func<string?, bool> match) =>
        [.. rows.Select((r, i) => (r, i)).Where(x => match((string?)x.r["text"])).Select(x => x.i)];

    private static string Quote(string s) => "\"" + s.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    [Theory]
    [InlineData(null, 1)]
    [InlineData(English, 2)]
    [InlineData("""{"tokenizer":"whitespace","filter":["lowercase"]}""", 3)]
    public void RandomQueries_EqualTheNaiveEvaluator_IndexedAndScanned(string? analyzerParams, int seed)
    {
        var schema = Schema(analyzerParams);
        var analyzer = Analyzer.Create(analyzerParams);
        var rows = RandomRows(seed, 300);
        var readOnlyRows = rows.Select(r => (IReadOnlyDictionary<string, object?>)r).ToList();
        var scanned = new InMemoryRowSource(schema, readOnlyRows);
        var indexed = new InMemoryRowSource(schema, readOnlyRows) { Indexes = new ScalarIndexes() };
        var rng = new Random(seed * 7);
        var checkedMatches = 0;
        for (var q = 0; q < 150; q++)
        {
            var words = RandomPhrase(rng);
            var slop = rng.Next(0, 4);
            var (filter, expected) = (q % 3) switch
            {
                0 => ($"TEXT_MATCH(text, {Quote(words)})", Expected(rows, t => NaiveTextMatch(analyzer, t, words))),
                1 => ($"phrase_match(text, {Quote(words)}, {slop})", Expected(rows, t => NaivePhraseMatch(analyzer, t, words, slop))),
                _ => ($"not PHRASE_MATCH(text, {Quote(words)}) and n == 1",
                    Expected(rows, t => t is not null && !NaivePhraseMatch(analyzer, t, words, 0)).Where(i => i % 3 == 1).ToArray()),
            };
            Assert.True(expected.SequenceEqual(scanned.Matches(filter)), $"{filter}: {string.Join(",", scanned.Matches(filter).Except(expected).Concat(expected.Except(scanned.Matches(filter))).Select(i => i + "=" + rows[i]["text"]))}");
            Assert.Equal(expected, indexed.Matches(filter));
            checkedMatches += expected.Length;
        }
        Assert.True(checkedMatches > 100, "the random queries should match rows, not only miss");
    }

    [Theory]
    [InlineData("machine learning", 0, new[] { 0 })]
    [InlineData("machine learning", 1, new[] { 0, 1 })]
    [InlineData("machine learning", 2, new[] { 0, 1, 2 })]
    [InlineData("machine learning", 3, new[] { 0, 1, 2, 3 })]
    [InlineData("learning machine", 0, new[] { 2 })]
    [InlineData("machine machine", 0, new int[0])]
    [InlineData("of the", 0, new int[0])]
    public void PhraseMatch_SlopAllowsGapsAndThenSwaps(string phrase, int slop, int[] expected)
    {
        // English: stop words leave position gaps, so "machine of learning" is one gap apart.
        var rows = new List<IReadOnlyDictionary<string, object?>>
        {
            Row(0, "Machine learning boosts efficiency"),
            Row(1, "machine of learning"),
            Row(2, "learning machine models"),
            Row(3, "deep learning and machine vision"),
        };
        var source = new InMemoryRowSource(Schema(English), rows) { Indexes = new ScalarIndexes() };
        Assert.Equal(expected, source.Matches($"PHRASE_MATCH(text, {Quote(phrase)}, {slop})"));
        Assert.Equal(expected, new InMemoryRowSource(Schema(English), rows).Matches($"PHRASE_MATCH(text, {Quote(phrase)}, {slop})"));
    }

    private static Dictionary<string, object?> Row(long id, string? text) =>
        new() { ["id"] = id, ["text"] = text, ["plain"] = "x", ["n"] = 0L };

    [Fact]
    public void TextMatch_IsAnyWord_NullRowsAreUnknown()
    {
        var rows = new List<IReadOnlyDictionary<string, object?>> { Row(0, "Quick foxes"), Row(1, null), Row(2, "lazy dogs"), Row(3, "nothing") };
        var source = new InMemoryRowSource(Schema(English), rows) { Indexes = new ScalarIndexes() };
        Assert.Equal([0, 2], source.Matches("TEXT_MATCH(text, 'fox dog')"));
        Assert.Equal([3], source.Matches("not TEXT_MATCH(text, 'fox dog')"));
        Assert.Empty(source.Matches("TEXT_MATCH(text, 'the of')")); // only stop words: no tokens, no match
        Assert.Equal([0], source.Matches("TEXT_MATCH(text, {q})", new Dictionary<string, object?> { ["q"] = "QUICKLY quick" }));
    }

    [Theory]
    [InlineData("TEXT_MATCH(plain, 'a')", "needs enable_match on field 'plain'")]
    [InlineData("TEXT_MATCH(n, 'a')", "needs a VarChar field with enable_match")]
    [InlineData("TEXT_MATCH(text)", "TEXT_MATCH takes 2 arguments, got 1")]
    [InlineData("TEXT_MATCH(text, 'a', 1)", "TEXT_MATCH takes 2 arguments, got 3")]
    [InlineData("TEXT_MATCH(text, 5)", "the second argument of TEXT_MATCH must be a string")]
    [InlineData("PHRASE_MATCH(text, 'a b', -1)", "slop of PHRASE_MATCH must be a non-negative integer")]
    [InlineData("PHRASE_MATCH(text, 'a b', 1.5)", "slop of PHRASE_MATCH must be a non-negative integer")]
    [InlineData("PHRASE_MATCH(text)", "PHRASE_MATCH takes 2 or 3 arguments, got 1")]
    [InlineData("TEXT_MATCH(text, 'a') + 1 > 0", "is a condition and cannot be used as a value")]
    public void Bind_Refusals_NameTheProblem(string filter, string message)
    {
        var error = Assert.Throws<FilterException>(() => FilterExpression.Parse(filter).Bind(Schema(null), null));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PhraseMatch_TooManyTokens_IsRefused()
    {
        var phrase = string.Join(' ', Enumerable.Repeat("word", PhraseQuery.MaxTokens + 1));
        var error = Assert.Throws<FilterException>(() => FilterExpression.Parse($"PHRASE_MATCH(text, '{phrase}')").Bind(Schema(null), null));
        Assert.Contains($"the limit is {PhraseQuery.MaxTokens}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Engine_GrowingAndSealed_AnswerTheSame_AndDeletesStayOut()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", Schema(English));
        var rows = RandomRows(5, 400);
        await db.InsertAsync("c", [.. rows.Select(r => new Row(r) { ["vec"] = new float[] { 1, 2 } })]);
        var analyzer = Analyzer.Create(English);
        string[] filters = ["TEXT_MATCH(text, 'jumping dog')", "PHRASE_MATCH(text, 'quick brown', 1)", "PHRASE_MATCH(text, 'lazy dog')"];
        Func<string?, bool>[] oracles =
        [
            t => NaiveTextMatch(analyzer, t, "jumping dog"),
            t => NaivePhraseMatch(analyzer, t, "quick brown", 1),
            t => NaivePhraseMatch(analyzer, t, "lazy dog", 0),
        ];

        async Task<long[]> Ids(string filter) =>
            [.. (await db.QueryAsync("c", new QueryRequest { Filter = filter, OutputFields = ["id"] })).Select(r => (long)r["id"]!).Order()];

        for (var i = 0; i < filters.Length; i++)
            Assert.Equal(Expected(rows, oracles[i]).Select(x => (long)x), await Ids(filters[i]));
        await db.FlushAsync("c");
        Assert.Equal(1, (await db.DescribeCollectionAsync("c")).SealedSegments);
        for (var i = 0; i < filters.Length; i++)
            Assert.Equal(Expected(rows, oracles[i]).Select(x => (long)x), await Ids(filters[i]));
        await db.DeleteWhereAsync("c", "id < 200");
        for (var i = 0; i < filters.Length; i++)
            Assert.Equal(Expected(rows, oracles[i]).Where(x => x >= 200).Select(x => (long)x), await Ids(filters[i]));
    }

    [Theory]
    [InlineData("n", true, false, null, "field 'n': enable_analyzer is only allowed on VarChar fields, not Int64")]
    [InlineData("plain", false, true, null, "field 'plain': enable_match needs enable_analyzer set to true")]
    [InlineData("plain", false, false, """{"type":"english"}""", "field 'plain': analyzer_params needs enable_analyzer set to true")]
    [InlineData("plain", true, false, """{"type":"klingon"}""", "field 'plain': invalid analyzer_params: analyzer type \"klingon\" is not supported")]
    public async Task CreateCollection_TextSettingsWhereNotAllowed_AreRefused(string field, bool analyzer, bool match, string? analyzerParams, string message)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        var schema = Schema(null);
        var index = schema.IndexOf(field);
        schema = schema with
        {
            Fields = schema.Fields.SetItem(index, schema.Fields[index] with { EnableAnalyzer = analyzer, EnableMatch = match, AnalyzerParams = analyzerParams }),
        };
        var error = await Assert.ThrowsAsync<QuiverException>(() => db.CreateCollectionAsync("c", schema));
        Assert.Equal(QuiverErrorCode.InvalidArgument, error.Code);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schema_TextSettings_SurviveReopen()
    {
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
            await db.CreateCollectionAsync("c", Schema(English));
        await using var reopened = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        var field = (await reopened.DescribeCollectionAsync("c")).Schema.Find("text")!;
        Assert.True(field.EnableAnalyzer);
        Assert.True(field.EnableMatch);
        Assert.Equal(English, field.AnalyzerParams);
    }
}
