using System.Runtime.ExceptionServices;
using System.Text;
using Quiver.Filtering;

namespace Quiver.Engine.Tests.Filtering;

/// <summary>Deep and long expressions: every shape that used to overflow the stack is refused past
/// <see cref="FilterLimits.MaxDepth"/> with a <see cref="FilterException"/> naming the limit and the position, and
/// accepted at the limit; the long flat shapes that generated filters produce (10,000 or-ed terms, 100,000-item
/// lists, long and chains) keep working. Everything runs on a thread with a 256 KB stack, a sixth of a thread-pool
/// thread's, so that the bound is shown to hold with margin.</summary>
public class FilterLimitsTests
{
    private const int SmallStack = 256 * 1024;

    private static readonly int Max = FilterLimits.MaxDepth;

    /// <summary>Shapes whose depth grows with <c>n</c>; <c>n</c> = <see cref="FilterLimits.MaxDepth"/> is accepted
    /// and one more is refused. Each builder returns a filter whose depth is exactly n.</summary>
    public static TheoryData<string> Shapes => ["parens", "not", "minus", "plus-chain", "mul-chain", "power", "list", "index", "call", "mixed"];

    private static string Build(string shape, int n) => shape switch
    {
        // Each "(" is a level; "age == 1" inside is two (the comparison and its operands).
        "parens" => Repeat("(", n - 2) + "age == 1" + Repeat(")", n - 2),
        "not" => Repeat("not ", n - 1) + "active",
        // "age > X": the comparison is a level; X is n - 1 levels of unary minus around the literal 1 ("- 1" folds).
        "minus" => "age > " + Repeat("- ", n - 2) + "-1",
        // A left-deep chain: each "+ 1" adds a level above "age", and the comparison one more.
        "plus-chain" => "age" + Repeat(" + 1", n - 2) + " > 0",
        "mul-chain" => "age" + Repeat(" * 1", n - 2) + " > 0",
        // Right-associative: 2 ** (2 ** (...)).
        "power" => "price < " + Repeat("2 ** ", n - 2) + "2",
        // meta["k"] in [[...[1]...]]: the in is a level, each bracket one, and the 1 inside the innermost one.
        "list" => "meta[\"k\"] in " + Repeat("[", n - 2) + "1" + Repeat("]", n - 2),
        // A path of n - 2 keys: each index a level above the name, and the comparison one more.
        "index" => "meta" + Repeat("[\"a\"]", n - 2) + " == 1",
        "call" => Repeat("array_length(", n - 2) + "tags" + Repeat(")", n - 2) + " > 0",
        // Alternating not and parentheses: each "not (" is two levels of nesting.
        "mixed" => Repeat("not (", (n - 1) / 2) + ((n - 1) % 2 == 1 ? "not " : "") + "active" + Repeat(")", (n - 1) / 2),
        _ => throw new ArgumentOutOfRangeException(nameof(shape)),
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void DeepShape_PastTheLimit_IsRefusedNamingTheLimit(string shape)
    {
        foreach (var n in new[] { Max + 1, Max + 2, 5_000, 100_000 })
        {
            var text = Build(shape, n);
            var ex = OnSmallStack(() => Assert.Throws<FilterException>(() => Compile(text)));
            Assert.Contains($"nesting depth limit of {Max}", ex.Message, StringComparison.Ordinal);
            Assert.Contains("FilterLimits.MaxDepth", ex.Message, StringComparison.Ordinal);
            Assert.InRange(ex.Position, 0, text.Length);
            Assert.Contains($"at position {ex.Position}", ex.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void DeepShape_AtTheLimit_ParsesBindsAndEvaluates(string shape)
    {
        var source = FilterFixture.Source();
        var text = Build(shape, Max);
        OnSmallStack(() =>
        {
            try
            {
                _ = source.Matches(text);
            }
            catch (FilterException ex) when (!ex.Message.Contains("FilterLimits", StringComparison.Ordinal))
            {
                // Some shapes are deep but ill-typed (array_length of a number): the binder's own error, not the limit.
                Assert.Equal("call", shape);
            }

            return 0;
        });
    }

    [Fact]
    public void DeepShapes_AtTheLimit_MatchTheShallowEquivalent()
    {
        var source = FilterFixture.Source();
        OnSmallStack(() =>
        {
            Assert.Equal(source.Matches("age == 1"), source.Matches(Build("parens", Max)));
            Assert.Equal(source.Matches(Max % 2 == 1 ? "active" : "not active"), source.Matches(Build("not", Max)));
            Assert.Equal(source.Matches("age > 0"), source.Matches(Build("plus-chain", Max).Replace("> 0", $"> {Max - 2}", StringComparison.Ordinal)));
            Assert.Equal(source.Matches("meta[\"a\"] == 1"), source.Matches(Build("index", 3)));
            return 0;
        });
    }

    [Theory]
    [InlineData("age == 1", 2)]
    [InlineData("(age == 1)", 3)]
    [InlineData("age + 1 > 0", 3)]
    [InlineData("id == 1 or id == 2 or id == 3", 3)]
    [InlineData("not (age == 1 or age == 2)", 5)]
    public void Depth_CountsAsDocumented(string text, int depth) => Assert.Equal(depth, FilterExpression.Parse(text).Root!.Depth);

    [Fact]
    public void DocumentedExample_HasTheDocumentedMessage()
    {
        var ex = Assert.Throws<FilterException>(() => Compile(Repeat("(", 200) + "age == 1" + Repeat(")", 200)));
        Assert.Equal(
            "the expression exceeds the nesting depth limit of 200 (FilterLimits.MaxDepth); flatten it (a chain of 'and' / 'or' " +
            "or an 'in' list does not nest) at position 199 (near '(')",
            ex.Message);
        Assert.Equal(QuiverErrorCode.BadFilter, ex.Code);
    }

    [Fact]
    public void OrChain_OfTenThousandTerms_Works()
    {
        var source = FilterFixture.Source();
        var text = string.Join(" or ", Enumerable.Range(0, 10_000).Select(i => $"id == {i + 3}"));
        var all = OnSmallStack(() => source.Matches(text));
        Assert.Equal(source.Matches("id >= 3"), all);
    }

    [Fact]
    public void AndChain_OfTenThousandTerms_Works()
    {
        var source = FilterFixture.Source();
        var text = string.Join(" && ", Enumerable.Range(0, 10_000).Select(i => $"id != {i + 100} and big > {long.MinValue}"));
        var all = OnSmallStack(() => source.Matches(text));
        Assert.Equal(source.Matches("big > -9223372036854775808"), all);
    }

    [Fact]
    public void MixedLogicChain_OfTenThousandGroups_Works()
    {
        var source = FilterFixture.Source();
        var text = string.Join(" or ", Enumerable.Range(0, 10_000).Select(i => $"(id == {i} and not (age < 0 or title like \"x{i}%\"))"));
        var rows = OnSmallStack(() => source.Matches(text));
        Assert.Equal(source.Matches("not (age < 0 or title like \"x%\")"), rows);
    }

    [Fact]
    public void InList_OfHundredThousandValues_Works()
    {
        var source = FilterFixture.Source();
        var text = "id in [" + string.Join(", ", Enumerable.Range(0, 100_000).Select(i => (i * 2).ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
        var rows = OnSmallStack(() => source.Matches(text));
        Assert.Equal(source.Matches("id % 2 == 0"), rows);
        var param = OnSmallStack(() => source.Matches("id in {ids}", new Dictionary<string, object?> { ["ids"] = Enumerable.Range(0, 100_000).Select(i => (long)i * 2).ToList() }));
        Assert.Equal(rows, param);
    }

    [Fact]
    public void TemplateList_NestedPastTheLimit_IsRefusedNamingTheLimit()
    {
        object deep = 1L;
        for (var i = 0; i < 100_000; i++)
        {
            deep = new List<object> { deep };
        }

        var ex = OnSmallStack(() => Assert.Throws<FilterException>(() => Compile("meta[\"k\"] in {v}", new Dictionary<string, object?> { ["v"] = deep })));
        Assert.Contains($"nesting depth limit of {FilterLimits.MaxTemplateValueDepth}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("FilterLimits.MaxTemplateValueDepth", ex.Message, StringComparison.Ordinal);
        Assert.Equal(13, ex.Position);

        object atLimit = 1L;
        for (var i = 0; i < FilterLimits.MaxTemplateValueDepth; i++)
        {
            atLimit = new List<object> { atLimit };
        }

        Assert.NotNull(Compile("meta[\"k\"] in {v}", new Dictionary<string, object?> { ["v"] = atLimit }));
    }

    private static BoundFilter? Compile(string text, IReadOnlyDictionary<string, object?>? parameters = null) =>
        FilterPlan.Compile(text, FilterFixture.Schema(), parameters);

    private static string Repeat(string s, int n) => new StringBuilder(s.Length * Math.Max(n, 0)).Insert(0, s, Math.Max(n, 0)).ToString();

    /// <summary>Runs <paramref name="work"/> on a thread with a 256 KB stack and rethrows what it threw;
    /// <paramref name="deadline"/> (default 5 minutes) only guards against a hang.</summary>
    internal static T OnSmallStack<T>(Func<T> work, TimeSpan? deadline = null)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(
            () =>
            {
                try
                {
                    result = work();
                }
                catch (Exception ex)
                {
                    failure = ExceptionDispatchInfo.Capture(ex);
                }
            },
            SmallStack);
        thread.Start();
        Assert.True(thread.Join(deadline ?? TimeSpan.FromMinutes(5)), "the small-stack worker did not finish");
        failure?.Throw();
        return result;
    }
}
