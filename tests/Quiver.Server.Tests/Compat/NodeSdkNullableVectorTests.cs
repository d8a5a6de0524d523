namespace Quiver.Server.Tests.Compat;

public sealed partial class NodeSdkTests
{
    /// <summary>A nullable field of each vector type through the SDK (gRPC) and REST: rows without a vector insert, query
    /// back null, and are never search hits; the others come back as sent and score as a brute-force oracle
    /// (nullable-vectors.js).</summary>
    [Fact]
    public Task NullableVectors_NullRowsReadNull_AndAreNeverHits() => RunScriptAsync("nullable-vectors.js");
}
