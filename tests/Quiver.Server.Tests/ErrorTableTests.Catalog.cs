using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests;

/// <summary>The catalog's rows of docs/errors.md that no other file covers: a collection created under a name an alias
/// of the database already holds (the engine's refusal; a cluster node answers it from its catalog in the same words).</summary>
public sealed partial class ErrorTableTests
{
    /// <summary><paramref name="cases"/> with the catalog cases added.</summary>
    private static Dictionary<string, Func<Servers, Task<Answer>>> WithCatalogCases(Dictionary<string, Func<Servers, Task<Answer>>> cases)
    {
        // a1 is an alias of docs (the fixture makes it).
        cases.Add("collection-name-is-alias", async s => Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection("a1",
            Field("id", ProtoType.Int64, primary: true), Field("v", ProtoType.FloatVector, typeParams: ("dim", "2"))))));
        return cases;
    }
}
