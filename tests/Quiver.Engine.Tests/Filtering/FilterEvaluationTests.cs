using System.Text.Json;
using Quiver.Filtering;

namespace Quiver.Engine.Tests.Filtering;

public class FilterEvaluationTests
{
    private static readonly InMemoryRowSource Source = FilterFixture.Source();

    private static void Check(string filter, string expected, IReadOnlyDictionary<string, object?>? parameters = null)
    {
        var actual = string.Join(",", Source.Matches(filter, parameters));
        Assert.True(expected == actual, $"filter `{filter}`: expected rows [{expected}], got [{actual}]");
    }

    [Theory]
    [InlineData("", "0,1,2,3,4,5,6,7")]
    [InlineData("   ", "0,1,2,3,4,5,6,7")]
    [InlineData("true", "0,1,2,3,4,5,6,7")]
    [InlineData("TRUE", "0,1,2,3,4,5,6,7")]
    [InlineData("false", "")]
    [InlineData("1 == 1", "0,1,2,3,4,5,6,7")]
    [InlineData("1 > 2", "")]
    public void Evaluate_Constants(string filter, string expected) => Check(filter, expected);

    [Theory]
    [InlineData("age == 30", "0,5")]
    [InlineData("age != 30", "1,3,4,6,7")]
    [InlineData("age < 17", "4,6")]
    [InlineData("age <= 17", "1,4,6")]
    [InlineData("age > 45", "7")]
    [InlineData("age >= 45", "3,7")]
    [InlineData("30 == age", "0,5")]
    [InlineData("17 > age", "4,6")]
    [InlineData("age > 2.5", "0,1,3,4,5,7")]
    [InlineData("age >= 2.5", "0,1,3,4,5,7")]
    [InlineData("age < 3.5", "4,6")]
    [InlineData("age == 30.0", "0,5")]
    [InlineData("age == 30.5", "")]
    [InlineData("age != 30.5", "0,1,3,4,5,6,7")]
    [InlineData("age < 1e300", "0,1,3,4,5,6,7")]
    [InlineData("age > -1e300", "0,1,3,4,5,6,7")]
    [InlineData("id in [1, 3, 5]", "1,3,5")]
    [InlineData("id not in [1, 3, 5]", "0,2,4,6,7")]
    [InlineData("id in []", "")]
    [InlineData("age in [30, 3.0, 17.5]", "0,4,5")]
    [InlineData("price in [10.5, 7]", "0,6")]
    [InlineData("price == 99", "1")]
    [InlineData("price > 100", "4,7")]
    [InlineData("score == 1.1", "0")]
    [InlineData("score < 1.1", "3,4")]
    [InlineData("score in [1.1, 2.5]", "0,1,5")]
    public void Evaluate_NumericComparisons(string filter, string expected) => Check(filter, expected);

    [Theory]
    [InlineData("big == 9223372036854775807", "0")]
    [InlineData("big == 9223372036854775806", "1")]
    [InlineData("big == -9223372036854775808", "4")]
    [InlineData("big > 9223372036854775806", "0")]
    [InlineData("big == 9007199254740993", "5")]
    [InlineData("big == 9007199254740992", "")]
    [InlineData("big > 9007199254740992.0", "0,1,5")]
    [InlineData("big < 9.3e18", "0,1,2,3,4,5,6,7")]
    [InlineData("big >= 9.3e18", "")]
    [InlineData("big in [9007199254740993, 9223372036854775807]", "0,5")]
    [InlineData("big + 1 > 0", "1,3,5,6,7")]
    [InlineData("big * 2 > 4", "5,7")]
    [InlineData("price > 9007199254740993", "")]
    public void Evaluate_LargeIntegersAreExact(string filter, string expected) => Check(filter, expected);

    [Theory]
    [InlineData("1 < age < 30", "1,4")]
    [InlineData("1 <= age <= 30", "0,1,4,5")]
    [InlineData("30 > age >= 3", "1,4")]
    [InlineData("50 >= age > 17", "0,3,5")]
    [InlineData("\"Star\" <= title < \"Stas\"", "0,1")]
    public void Evaluate_Ranges(string filter, string expected) => Check(filter, expected);

    [Theory]
    [InlineData("age > 20 and price < 50", "0,3,5")]
    [InlineData("age > 20 && price < 50", "0,3,5")]
    [InlineData("age > 20 AND price < 50", "0,3,5")]
    [InlineData("age < 10 or age > 40", "3,4,6,7")]
    [InlineData("age < 10 || age > 40", "3,4,6,7")]
    [InlineData("age < 10 Or age > 40", "3,4,6,7")]
    [InlineData("not age == 30", "1,3,4,6,7")]
    [InlineData("!(age == 30)", "1,3,4,6,7")]
    [InlineData("NOT (age == 30)", "1,3,4,6,7")]
    [InlineData("age == 30 or age == 17 and price > 50", "0,1,5")]
    [InlineData("(age == 30 or age == 17) and price > 50", "1")]
    [InlineData("not age == 30 and not age == 17", "3,4,6,7")]
    [InlineData("not not age == 30", "0,5")]
    public void Evaluate_Logic(string filter, string expected) => Check(filter, expected);

    [Theory]
    [InlineData("age is null", "2")]
    [InlineData("age IS NULL", "2")]
    [InlineData("age is not null", "0,1,3,4,5,6,7")]
    [InlineData("age IS NOT NULL", "0,1,3,4,5,6,7")]
    [InlineData("not age is null", "0,1,3,4,5,6,7")]
    [InlineData("active is null", "2,6")]
    [InlineData("meta is null", "2")]
    [InlineData("nums is null", "2")]
    [InlineData("big is null", "")]
    [InlineData("age != 30", "1,3,4,6,7")]
    [InlineData("not (age == 30)", "1,3,4,6,7")]
    [InlineData("not (age > 1000)", "0,1,3,4,5,6,7")]
    [InlineData("age > 1000 or true", "0,1,2,3,4,5,6,7")]
    [InlineData("not (age > 1000 and id == 2)", "0,1,3,4,5,6,7")]
    [InlineData("not (age > 1000 or id == 2)", "0,1,3,4,5,6,7")]
    [InlineData("not (age < 1000 or id == 2)", "")]
    [InlineData("not (age > 10 and price > 5)", "3,4,5,6")]
    [InlineData("not (age > 10 or price > 5)", "")]
    [InlineData("age in [17, 30]", "0,1,5")]
    [InlineData("age not in [17, 30]", "3,4,6,7")]
    [InlineData("title not like \"Star%\"", "3,4,5,6,7")]
    public void Evaluate_NullsUseThreeValuedLogic(string filter, string expected) => Check(filter, expected);

    [Theory]
    [InlineData("active", "0,3,5,7")]
    [InlineData("active == true", "0,3,5,7")]
    [InlineData("active == True", "0,3,5,7")]
    [InlineData("active != true", "1,4")]
    [InlineData("active == false", "1,4")]
    [InlineData("not active", "1,4")]
    [InlineData("!active", "1,4")]
    [InlineData("active in [false]", "1,4")]
    [InlineData("true == active", "0,3,5,7")]
    public void Evaluate_Bool(string filter, string expected) => Check(filter, expected);

    [Theory]
    [InlineData("title == \"Star Wars\"", "0")]
    [InlineData("title == 'Star Wars'", "0")]
    [InlineData("title != \"Star Wars\"", "1,3,4,5,6,7")]
    [InlineData("title > \"Star\"", "0,1,4,5")]
    [InlineData("title == \"\"", "6")]
    [InlineData("title == \"It's \\\"quoted\\\"\"", "7")]
    [InlineData("title == 'It\\'s \"quoted\"'", "7")]
    [InlineData("title in [\"Star Wars\", \"Dune 50% off\", \"nope\"]", "0,3")]
    [InlineData("title like \"Star%\"", "0,1")]
    [InlineData("title LIKE \"%Star\"", "5")]
    [InlineData("title like \"%Star%\"", "0,1,5")]
    [InlineData("title like \"%tar%\"", "0,1,4,5")]
    [InlineData("title like \"Star Wars\"", "0")]
    [InlineData("title like \"S%r%s\"", "0")]
    [InlineData("title like \"star_wars\"", "4")]
    [InlineData("title like \"star\\_wars\"", "4")]
    [InlineData("title like \"Star_Wars\"", "0")]
    [InlineData("title like \"%50\\%%\"", "3")]
    [InlineData("title like \"%\"", "0,1,3,4,5,6,7")]
    [InlineData("title like \"\"", "6")]
    [InlineData("title like \"_\"", "")]
    [InlineData("title like \"D___ %\"", "3")]
    [InlineData("pk_title like \"x\" or true", "0,1,2,3,4,5,6,7")]
    public void Evaluate_Strings(string filter, string expected)
    {
        var sorted = string.Join(",", expected.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).Order());
        Check(filter, sorted);
    }

    [Theory]
    [InlineData("age * 2 > 50", "0,3,5,7")]
    [InlineData("age + price > 100", "1,4,7")]
    [InlineData("price - age > 0", "1,4,6,7")]
    [InlineData("age / 2 == 15", "0,5")]
    [InlineData("age / 4 == 7", "0,5")]
    [InlineData("age / 4.0 == 7.5", "0,5")]
    [InlineData("age % 10 == 7", "1")]
    [InlineData("age ** 2 == 900", "0,5")]
    [InlineData("2 ** 3 == 8", "0,1,2,3,4,5,6,7")]
    [InlineData("-age < -40", "3,7")]
    [InlineData("price / age > 1", "1,4,7")]
    [InlineData("price / age >= 0", "0,1,3,4,5,7")]
    [InlineData("not (price / age >= 0)", "")]
    [InlineData("100 / age == 1", "7")]
    [InlineData("age % 0 == 0", "")]
    [InlineData("price > 1 / 0", "")]
    [InlineData("age * 2 == age + age", "0,1,3,4,5,6,7")]
    [InlineData("10 < age * 2 < 70", "0,1,5")]
    [InlineData("(age + 1) * 2 == 62", "0,5")]
    [InlineData("age + 1 * 2 == 32", "0,5")]
    [InlineData("big * 4 > 0", "5,6,7")]
    [InlineData("score * 2 == 5", "1,5")]
    [InlineData("age > price", "0,3,5")]
    [InlineData("age == score", "7")]
    [InlineData("big < age", "3,4,7")]
    public void Evaluate_Arithmetic(string filter, string expected) => Check(filter, expected);

    [Theory]
    [InlineData("meta[\"a\"][\"b\"] == 1", "0")]
    [InlineData("meta['a']['b'] >= 1", "0,1")]
    [InlineData("meta[\"a\"][\"b\"] is null", "2,3,4,5,6,7")]
    [InlineData("meta[\"a\"] is not null", "0,1,4,5")]
    [InlineData("meta[\"arr\"][0] > 2", "1")]
    [InlineData("meta[\"arr\"][0] == \"a\"", "3")]
    [InlineData("meta[\"arr\"][0][1] == 2", "5")]
    [InlineData("meta[\"s\"] == \"red\"", "0")]
    [InlineData("meta[\"s\"] != \"red\"", "1,3,6")]
    [InlineData("meta[\"s\"] like \"r%\"", "0")]
    [InlineData("meta[\"s\"] like \"%E%\"", "6")]
    [InlineData("meta[\"s\"] in [\"blue\", 7]", "1,3")]
    [InlineData("meta[\"n\"] > 5", "1,5,7")]
    [InlineData("meta[\"n\"] == 5", "0")]
    [InlineData("meta[\"n\"] == 9007199254740993", "5")]
    [InlineData("meta[\"n\"] == 9007199254740992", "")]
    [InlineData("meta[\"n\"] == 1000", "7")]
    [InlineData("meta[\"n\"] * 2 > 10", "1,5,7")]
    [InlineData("meta[\"n\"] + age > 40", "5,7")]
    [InlineData("not (meta[\"n\"] > 5)", "0,3,4,6")]
    [InlineData("meta[\"missing\"] == 1", "")]
    [InlineData("not (meta[\"missing\"] == 1)", "")]
    [InlineData("meta[\"n\"] < price", "0,1,4,6,7")]
    [InlineData("meta[\"arr\"][5] == 1", "")]
    public void Evaluate_JsonPaths(string filter, string expected) => Check(filter, expected);

    [Theory]
    [InlineData("json_contains(meta[\"arr\"], 1)", "0,7")]
    [InlineData("JSON_CONTAINS(meta[\"arr\"], \"a\")", "3")]
    [InlineData("json_contains(meta[\"arr\"], [1, 2])", "5")]
    [InlineData("json_contains_all(meta[\"arr\"], [1, 3])", "0")]
    [InlineData("json_contains_all(meta[\"arr\"], [])", "0,1,3,4,5,7")]
    [InlineData("json_contains_any(meta[\"arr\"], [4, \"b\", true])", "1,3,7")]
    [InlineData("JSON_CONTAINS_ANY(meta[\"arr\"], [])", "")]
    [InlineData("json_contains(meta[\"s\"], 1)", "")]
    [InlineData("not json_contains(meta[\"arr\"], 1)", "1,3,4,5")]
    public void Evaluate_JsonFunctions(string filter, string expected) => Check(filter, expected);

    [Theory]
    [InlineData("tags[0] == \"x\"", "0,3,5,7")]
    [InlineData("tags[1] == \"y\"", "0,7")]
    [InlineData("tags[2] is null", "0,1,2,4,5,6")]
    [InlineData("tags[0] like \"a%\"", "6")]
    [InlineData("tags[0] in [\"q\", \"y\"]", "1,4")]
    [InlineData("nums[0] > 3", "1,4,5")]
    [InlineData("nums[1] + nums[0] == 3", "0")]
    [InlineData("array_contains(tags, \"y\")", "0,1,7")]
    [InlineData("ARRAY_CONTAINS(tags, \"y\")", "0,1,7")]
    [InlineData("array_contains_all(tags, [\"x\", \"y\"])", "0,7")]
    [InlineData("array_contains_any(tags, [\"z\", \"q\"])", "3,4,7")]
    [InlineData("array_contains(nums, 1)", "0,7")]
    [InlineData("array_contains_any(nums, [1.0, 9])", "0,5,7")]
    [InlineData("array_length(tags) == 3", "3,7")]
    [InlineData("ARRAY_LENGTH(tags) == 0", "2")]
    [InlineData("array_length(nums) >= 2", "0,4,5,7")]
    [InlineData("array_length(nums) < 2", "1,3,6")]
    [InlineData("not (array_length(nums) < 2)", "0,4,5,7")]
    [InlineData("array_length(meta[\"arr\"]) == 2", "1,3,5")]
    public void Evaluate_Arrays(string filter, string expected) => Check(filter, expected);

    [Theory]
    [InlineData("color == \"red\"", "0,4")]
    [InlineData("$meta[\"color\"] == \"red\"", "0,4")]
    [InlineData("color in [\"red\", \"Red\"]", "0,4,7")]
    [InlineData("color like \"%e%\"", "0,1,3,4,7")]
    [InlineData("color is null", "2,5,6")]
    [InlineData("size > 3", "1,5")]
    [InlineData("size == 3", "0")]
    [InlineData("flag", "3")]
    [InlineData("not flag", "4")]
    [InlineData("flag == false", "4")]
    [InlineData("json_contains($meta[\"nothing\"], 1)", "")]
    public void Evaluate_DynamicField(string filter, string expected) => Check(filter, expected);

    [Fact]
    public void Evaluate_TemplateParameters()
    {
        var p = new Dictionary<string, object?>
        {
            ["min"] = 20,
            ["maxPrice"] = 50.0,
            ["ids"] = new long[] { 1, 5, 7 },
            ["names"] = new List<string> { "Star Wars", "Star Trek" },
            ["pattern"] = "%Star%",
            ["flag"] = true,
            ["json"] = JsonDocument.Parse("[30, 17]").RootElement,
            ["jnum"] = JsonDocument.Parse("45").RootElement,
            ["tag"] = "y",
        };
        Check("age > {min} and price < {maxPrice}", "0,3,5", p);
        Check("id in {ids}", "1,5,7", p);
        Check("id not in {ids}", "0,2,3,4,6", p);
        Check("title in {names}", "0,1", p);
        Check("title like {pattern}", "0,1,5", p);
        Check("active == {flag}", "0,3,5,7", p);
        Check("age in {json}", "0,1,5", p);
        Check("age == {jnum}", "3", p);
        Check("id in [{min}, 1]", "1", p);
        Check("array_contains(tags, {tag})", "0,1,7", p);
        Check("{ min } < age", "0,3,5,7", p);
    }

    [Fact]
    public void Evaluate_WithoutDynamicField_UnknownNameFails()
    {
        var source = FilterFixture.Source(dynamic: false);
        var ex = Assert.Throws<FilterException>(() => source.Matches("age > 1 and color == \"red\""));
        Assert.Equal(12, ex.Position);
        Assert.Equal("color", ex.Token);
    }

    [Fact]
    public void Bind_ReportsReferencedFieldsAndAlwaysTrue()
    {
        var schema = FilterFixture.Schema();
        var bound = FilterExpression.Parse("age > 1 and (title like \"a%\" or color == 1) and json_contains(meta[\"x\"], 1)").Bind(schema);
        Assert.Equal(["$meta", "age", "meta", "title"], bound.ReferencedFields.Order(StringComparer.Ordinal));
        Assert.False(bound.IsAlwaysTrue);
        Assert.True(FilterExpression.Parse("").Bind(schema).IsAlwaysTrue);
        Assert.True(FilterExpression.Parse(" true ").Bind(schema).IsAlwaysTrue);
        Assert.True(FilterExpression.Parse("1 < 2 or age > 3").Bind(schema).IsAlwaysTrue);
        Assert.True(FilterExpression.Parse("1 > 2 and age > 3").Bind(schema).IsAlwaysFalse);
        Assert.Empty(FilterExpression.Parse("").Bind(schema).ReferencedFields);
    }

    [Fact]
    public void Evaluate_SameBoundFilterOverTwoSources()
    {
        var bound = FilterExpression.Parse("age >= 30").Bind(FilterFixture.Schema());
        Assert.Equal(4, bound.Evaluate(FilterFixture.Source()).PopCount());
        var rows = Enumerable.Range(0, 1000).Select(i => (IReadOnlyDictionary<string, object?>)FilterFixture.Row(
            ("id", (long)i), ("age", i % 7 == 0 ? null : i % 100), ("big", (long)i), ("score", 1.0), ("tags", "[]"))).ToList();
        var big = new InMemoryRowSource(FilterFixture.Schema(), rows);
        var bits = bound.Evaluate(big);
        Assert.Equal(1000, bits.Length);
        var expected = rows.Count(r => r["age"] is int a && a >= 30);
        Assert.Equal(expected, bits.PopCount());
    }
}
