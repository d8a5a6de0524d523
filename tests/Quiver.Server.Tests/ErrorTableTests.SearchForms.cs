namespace Quiver.Server.Tests;

/// <summary>The REST search-vector form rows of docs/errors.md: a search whose <c>data</c> mixes base64 strings with
/// number arrays (Milvus's REST reads every query's form from the first).</summary>
public sealed partial class ErrorTableTests
{
    private static Dictionary<string, Func<Servers, Task<Answer>>> SearchFormCases() => new(StringComparer.Ordinal)
    {
        ["rest-search-mixed-forms"] = s => RestAsync(s.Plain, "/entities/search",
            """{"collectionName": "docs", "data": [[0.5, 0.5, 0.5, 0.5], "AAAAAAAAAAA="], "limit": 3}"""),
    };
}
