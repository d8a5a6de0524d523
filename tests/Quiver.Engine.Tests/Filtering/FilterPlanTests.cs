using Quiver.Filtering;
using Quiver.Segments;

namespace Quiver.Engine.Tests.Filtering;

public class FilterPlanTests
{
    private static PredicateNode Plan(string text) => FilterExpression.Parse(text).Bind(FilterFixture.Schema()).Root;

    [Theory]
    [InlineData("age > 5", typeof(NumericComparePredicate))]
    [InlineData("5 < age", typeof(NumericComparePredicate))]
    [InlineData("big == 9223372036854775807", typeof(NumericComparePredicate))]
    [InlineData("price * 2 + age > 100", typeof(NumericComparePredicate))]
    [InlineData("array_length(tags) == 3", typeof(NumericComparePredicate))]
    [InlineData("age in [1, 2]", typeof(NumericInPredicate))]
    [InlineData("title == \"x\"", typeof(StringComparePredicate))]
    [InlineData("title in [\"x\"]", typeof(StringInPredicate))]
    [InlineData("title like \"x%\"", typeof(StringLikePredicate))]
    [InlineData("active", typeof(BoolColumnPredicate))]
    [InlineData("active != false", typeof(BoolColumnPredicate))]
    [InlineData("age is null", typeof(ColumnIsNullPredicate))]
    [InlineData("age > 1 and title == \"x\" and active", typeof(AndPredicate))]
    [InlineData("meta[\"a\"] == 1", typeof(RowComparePredicate))]
    [InlineData("color == \"red\"", typeof(RowComparePredicate))]
    public void Bind_PicksColumnWiseNodesForPlainComparisons(string text, Type expected) => Assert.IsType(expected, Plan(text));

    [Fact]
    public void Bind_FlattensAndFoldsLogic()
    {
        var and = Assert.IsType<AndPredicate>(Plan("age > 1 and (price > 2 and title == \"a\") and true"));
        Assert.Equal(3, and.Children.Count);
        Assert.IsType<NumericComparePredicate>(Plan("age > 1 or 1 > 2"));
        Assert.IsType<ConstPredicate>(Plan("age > 1 or not false"));
        Assert.IsType<ConstPredicate>(Plan("age in [] or 2 ** 2 == 4"));
    }

    [Theory]
    [InlineData("Star%", "Star Wars", true)]
    [InlineData("Star%", "star wars", false)]
    [InlineData("%Wars", "Star Wars", true)]
    [InlineData("%ar W%", "Star Wars", true)]
    [InlineData("%a%a%", "banana", true)]
    [InlineData("%a%a%a%a%", "banana", false)]
    [InlineData("b_n_n_", "banana", true)]
    [InlineData("b_n_n", "banana", false)]
    [InlineData("a%a", "abca", true)]
    [InlineData("a%a", "abcab", false)]
    [InlineData("%aab", "aaaab", true)]
    [InlineData("_", "", false)]
    [InlineData("%", "", true)]
    [InlineData("%%", "x", true)]
    [InlineData("", "", true)]
    [InlineData("50\\%", "50%", true)]
    [InlineData("50\\%", "500", false)]
    [InlineData("a\\_c", "abc", false)]
    [InlineData("a\\_c", "a_c", true)]
    [InlineData("a\\\\c", "a\\c", true)]
    [InlineData("a\\c", "a\\c", true)]
    [InlineData("%\\%", "100%", true)]
    public void LikePattern_Matches(string pattern, string input, bool expected) => Assert.Equal(expected, new LikePattern(pattern).IsMatch(input));

    [Fact]
    public void Evaluate_SourceWithLongerColumns_LooksOnlyAtRowCount()
    {
        var full = FilterFixture.Source();
        var prefix = new PrefixSource(full, 3);
        var bits = FilterExpression.Parse("age > 0 or age is null or title like \"%\" or meta[\"n\"] > 0").Bind(full.Schema).Evaluate(prefix);
        Assert.Equal(3, bits.Length);
        Assert.Equal(3, bits.PopCount());
        Assert.Equal(1, FilterExpression.Parse("age is null").Bind(full.Schema).Evaluate(prefix).PopCount());
        Assert.Equal(2, FilterExpression.Parse("age * 1 > 0").Bind(full.Schema).Evaluate(prefix).PopCount());
    }

    [Fact]
    public void Evaluate_EmptySource_ReturnsEmptyBitmap()
    {
        var empty = new InMemoryRowSource(FilterFixture.Schema(), []);
        Assert.Empty(empty.Matches("age > 1 and meta[\"x\"] == 1 or title like \"%\" or age is null"));
    }

    /// <summary>A snapshot that sees only the first rows of a source, as a segment being appended to would.</summary>
    private sealed class PrefixSource(IRowSource inner, int rows) : IRowSource
    {
        public CollectionSchema Schema => inner.Schema;

        public int RowCount => rows;

        public ScalarColumn GetColumn(int fieldIndex) => inner.GetColumn(fieldIndex);

        public JsonColumn? Dynamic => inner.Dynamic;
    }
}
