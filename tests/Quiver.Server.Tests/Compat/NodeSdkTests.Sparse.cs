namespace Quiver.Server.Tests.Compat;

public sealed partial class NodeSdkTests
{
    /// <summary>Sparse vectors through the SDK: every input form (dict, CSR, COO, array) inserted and queried back equal,
    /// searched exactly and through SPARSE_INVERTED_INDEX against a brute-force oracle, over gRPC and REST (sparse.js).</summary>
    [Fact]
    public Task SparseVectors_EveryInputForm_RoundTripAndSearch() => RunScriptAsync("sparse.js");
}
