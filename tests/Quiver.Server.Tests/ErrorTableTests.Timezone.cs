using Quiver.Protocol.Milvus;
using static Quiver.Server.Tests.Data.Columns;

namespace Quiver.Server.Tests;

/// <summary>The rows of docs/errors.md for Milvus's <c>timezone</c>: a collection or database property, or a read's
/// parameter, that names no IANA time zone (nothing is changed).</summary>
public sealed partial class ErrorTableTests
{
    /// <summary><paramref name="cases"/> with the time-zone cases added.</summary>
    private static Dictionary<string, Func<Servers, Task<Answer>>> WithTimezoneCases(Dictionary<string, Func<Servers, Task<Answer>>> cases)
    {
        cases.Add("timezone-property-invalid", async s => Answer.Of(await s.Plain.Milvus.AlterCollectionAsync(new AlterCollectionRequest
        {
            CollectionName = "docs",
            Properties = { Kv("timezone", "Mars/Olympus_Mons") },
        })));
        cases.Add("timezone-database-invalid", async s => Answer.Of(await s.Plain.Milvus.AlterDatabaseAsync(new AlterDatabaseRequest
        {
            DbName = "default",
            Properties = { Kv("timezone", "Pacific Standard Time") },
        })));
        cases.Add("timezone-parameter-invalid", s => QueryAsync(s.Plain, new Protocol.Milvus.QueryRequest
        {
            CollectionName = "docs",
            Expr = "id > 0",
            QueryParams = { Kv("limit", "1"), Kv("timezone", "UTC+8") },
        }));
        return cases;
    }
}
