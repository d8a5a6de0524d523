namespace Quiver.Server.Tests.Compat;

public sealed partial class NodeSdkTests
{
    /// <summary>partitionkey.isolation (pinned searches equal to a brute-force oracle, IN/OR/no key refused with Milvus's
    /// messages, a change while the vector field has an index refused with 702 and allowed once it is dropped), ttl_field
    /// refused at create and alter, and `*` leaving a BM25 output field out of query and search results while naming it
    /// is refused, all through the SDK (retrieval-rules.js).</summary>
    [Fact]
    public Task IsolationTtlFieldAndStarRule_AsTheSdkUsesThem() => RunScriptAsync("retrieval-rules.js");
}
