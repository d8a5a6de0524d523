using Quiver.Filtering;

namespace Quiver.Engine.Tests.Filtering;

public class FilterBinderTests
{
    private static FilterException BindError(string text, bool dynamic = true, IReadOnlyDictionary<string, object?>? parameters = null) =>
        Assert.Throws<FilterException>(() => FilterExpression.Parse(text).Bind(FilterFixture.Schema(dynamic), parameters));

    [Theory]
    [InlineData("color == 1", false, 0, "color", "unknown field 'color'")]
    [InlineData("age > 1 or $meta[\"x\"] == 1", false, 11, "$meta", "unknown field '$meta'")]
    [InlineData("vec == 1", true, 0, "vec", "vector field 'vec'")]
    [InlineData("title > 5", true, 8, "5", "cannot compare VarChar field 'title' with the integer 5")]
    [InlineData("5 < title", true, 0, "5", "cannot compare")]
    [InlineData("title == true", true, 9, "true", "cannot compare")]
    [InlineData("age == \"x\"", true, 7, "\"x\"", "cannot compare Int32 field 'age' with the string")]
    [InlineData("age == title", true, 7, "title", "cannot compare")]
    [InlineData("active > true", true, 7, ">", "bool values can only be compared with == and !=")]
    [InlineData("price like \"a%\"", true, 0, "price", "'like' needs a VarChar field")]
    [InlineData("title like {p}", true, 11, "{p}", "missing template parameter 'p'")]
    [InlineData("tags == \"a\"", true, 0, "tags", "cannot be compared as a whole")]
    [InlineData("tags[\"a\"] == \"a\"", true, 5, "\"a\"", "needs an integer index")]
    [InlineData("tags[0][1] == 1", true, 8, "1", "only JSON and Array fields can be indexed")]
    [InlineData("age[\"x\"] == 1", true, 4, "\"x\"", "only JSON and Array fields can be indexed")]
    [InlineData("tags[0] > 5", true, 10, "5", "cannot compare VarChar element of array field 'tags'")]
    [InlineData("nums[0] == \"a\"", true, 11, "\"a\"", "cannot compare Int64 element")]
    [InlineData("age in [1, \"a\"]", true, 11, "\"a\"", "list item \"a\" does not match Int32 field 'age'")]
    [InlineData("age in [1, age]", true, 11, "age", "list items must be constants")]
    [InlineData("age == [1, 2]", true, 7, "[", "a list can only be used")]
    [InlineData("age + \"x\" > 1", true, 6, "\"x\"", "arithmetic needs numbers")]
    [InlineData("title * 2 > 1", true, 0, "title", "arithmetic needs numbers")]
    [InlineData("-title > 1", true, 1, "title", "arithmetic needs numbers")]
    [InlineData("price", true, 0, "price", "Double field 'price' is not a boolean condition")]
    [InlineData("age + 1", true, 0, "age", "is not a boolean condition")]
    [InlineData("5", true, 0, "5", "is not a boolean condition")]
    [InlineData("tags", true, 0, "tags", "is not a boolean condition")]
    [InlineData("(age > 1) == true", true, 1, "age", "a condition cannot be used as a value")]
    [InlineData("foo(1)", true, 0, "foo", "unknown function 'foo'")]
    [InlineData("json_contains(meta)", true, 0, "json_contains", "json_contains takes 2 arguments, got 1")]
    [InlineData("JSON_CONTAINS_ALL(meta, [1], 2)", true, 0, "JSON_CONTAINS_ALL", "takes 2 arguments, got 3")]
    [InlineData("array_length(tags, 1) == 2", true, 0, "array_length", "array_length takes 1 argument, got 2")]
    [InlineData("array_length(tags)", true, 0, "array_length", "array_length returns a number")]
    [InlineData("array_length(age) == 1", true, 13, "age", "needs a JSON or Array field")]
    [InlineData("json_contains(title, 1)", true, 14, "title", "needs a JSON or Array field")]
    [InlineData("json_contains_all(meta, 1)", true, 24, "1", "must be a list")]
    [InlineData("json_contains(meta, age)", true, 20, "age", "must be a constant")]
    [InlineData("array_contains(tags, 1)", true, 21, "1", "does not match the element type VarChar of array field 'tags'")]
    [InlineData("array_contains_any(nums, [1, \"x\"])", true, 25, "[", "does not match the element type Int64")]
    [InlineData("json_contains(meta, 1) + 1 > 2", true, 0, "json_contains", "is a condition and cannot be used as a value")]
    [InlineData("age in title", true, 7, "title", "expected a list")]
    [InlineData("age + 1 is null", true, 0, "age", "'is null' needs a field or a JSON path")]
    [InlineData("title like 5", true, 11, "5", "a string pattern")]
    public void Bind_Errors_NameTokenAndPosition(string text, bool dynamic, int position, string token, string message)
    {
        var ex = BindError(text, dynamic);
        Assert.Equal(position, ex.Position);
        Assert.Equal(token, ex.Token);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_MissingParameter_NamesIt()
    {
        var ex = BindError("price > {min} and title in {cats}", parameters: new Dictionary<string, object?> { ["min"] = 1 });
        Assert.Equal(27, ex.Position);
        Assert.Equal("{cats}", ex.Token);
        Assert.Contains("missing template parameter 'cats'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("price > {p}", "abc", 8, "cannot compare Double field 'price' with the string \"abc\"")]
    [InlineData("title in {p}", 5, 9, "'in' needs a list")]
    [InlineData("title in {p}", new[] { 1, 2 }, 9, "list item 1 does not match VarChar field 'title'")]
    [InlineData("price > {p}", null, 8, "template parameter 'p' is null")]
    [InlineData("price > {p}", double.NaN, 8, "template parameter 'p' is not a finite number (NaN and infinity match no row)")]
    public void Bind_WrongTypeParameter_NamesIt(string text, object? value, int position, string message)
    {
        var ex = BindError(text, parameters: new Dictionary<string, object?> { ["p"] = value });
        Assert.Equal(position, ex.Position);
        Assert.Equal("{p}", ex.Token);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_UnsupportedParameterType_NamesIt()
    {
        var ex = BindError("price > {p}", parameters: new Dictionary<string, object?> { ["p"] = DateTime.UnixEpoch });
        Assert.Equal("{p}", ex.Token);
        Assert.Contains("unsupported value (DateTime)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_PrimaryKeysAreOrdinaryFields()
    {
        var schema = new CollectionSchema
        {
            Fields = [FieldSchema.VarCharKey("pk", 64), FieldSchema.Vector("v", 2)],
        };
        var rows = new[] { "abc", "abd", "x" }.Select(s => (IReadOnlyDictionary<string, object?>)FilterFixture.Row(("pk", s))).ToList();
        var source = new InMemoryRowSource(schema, rows);
        Assert.Equal([0], source.Matches("pk == \"abc\""));
        Assert.Equal([0, 1], source.Matches("pk like \"ab%\""));
        Assert.Equal([2], source.Matches("pk in [\"x\", \"y\"]"));
        Assert.Equal(QuiverErrorCode.BadFilter, Assert.Throws<FilterException>(() => source.Matches("pk == 1")).Code);
    }
}

/// <summary>The error examples in docs/filter-language.md, verbatim.</summary>
public class FilterDocExamplesTests
{
    [Theory]
    [InlineData("age >", true, "unexpected end of expression; expected a field, a literal or '(' at position 5")]
    [InlineData("title == 'abc", true, "unterminated string at position 9 (near ''abc')")]
    [InlineData("(age == 1", true, "unbalanced parenthesis: '(' is never closed at position 0 (near '(')")]
    [InlineData("age == 1)", true, "unbalanced parenthesis: ')' has no matching '(' at position 8 (near ')')")]
    [InlineData("()", true, "empty parentheses at position 1 (near ')')")]
    [InlineData("age == 1 b", true, "unexpected 'b' after the end of the expression at position 9 (near 'b')")]
    [InlineData("age == 12abc", true, "malformed number at position 7 (near '12abc')")]
    [InlineData("age = 1", true, "unexpected '='; use '==' to compare at position 4 (near '=')")]
    [InlineData("1 < x > 5", true, "a chained comparison must use '<'/'<=' twice or '>'/'>=' twice at position 6 (near '>')")]
    [InlineData("color == 1", false, "unknown field 'color' at position 0 (near 'color')")]
    [InlineData("title > 5", true, "cannot compare VarChar field 'title' with the integer 5 at position 8 (near '5')")]
    [InlineData("vec == 1", true, "vector field 'vec' cannot be used in a filter at position 0 (near 'vec')")]
    [InlineData("json_contains(meta)", true, "json_contains takes 2 arguments, got 1 at position 0 (near 'json_contains')")]
    [InlineData("foo(1)", true, "unknown function 'foo' at position 0 (near 'foo')")]
    public void Errors_MatchTheDocumentation(string text, bool dynamic, string message)
    {
        var ex = Assert.Throws<FilterException>(() => FilterExpression.Parse(text).Bind(FilterFixture.Schema(dynamic)));
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void Template_WrongType_MatchesTheDocumentation()
    {
        var ex = Assert.Throws<FilterException>(() => FilterExpression.Parse("price > {min}")
            .Bind(FilterFixture.Schema(), new Dictionary<string, object?> { ["min"] = "abc" }));
        Assert.Equal("cannot compare Double field 'price' with the string \"abc\" at position 8 (near '{min}')", ex.Message);
    }
}
