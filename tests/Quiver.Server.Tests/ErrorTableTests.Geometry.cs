namespace Quiver.Server.Tests;

/// <summary>The rows of docs/errors.md for ST_DWITHIN's arguments: a constant that is not a point, a distance that is
/// not a constant non-negative number, or a call without exactly three arguments.</summary>
public sealed partial class ErrorTableTests
{
    /// <summary><paramref name="cases"/> with the geometry cases added.</summary>
    private static Dictionary<string, Func<Servers, Task<Answer>>> WithGeometryCases(Dictionary<string, Func<Servers, Task<Answer>>> cases)
    {
        cases.Add("filter-dwithin-argument", s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest
        {
            CollectionName = "places",
            Expr = "ST_DWITHIN(geo, 'LINESTRING (0 0, 1 1)', 10)",
        }));
        return cases;
    }
}
