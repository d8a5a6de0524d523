namespace Quiver.Server.Tests.Compat;

public sealed partial class NodeSdkTests
{
    /// <summary>tests/compat/bm25.js: the SDK's full-text search flow (a BM25 function, text-only inserts, an index with
    /// metric BM25 and bm25_k1/bm25_b, searches by raw text with and without a filter, after deletes) with every score
    /// checked against a BM25 written in the script; hybrid search of a BM25 request with a dense one against an RRF
    /// oracle; the same over REST v2.</summary>
    [Fact]
    public Task Bm25_FullTextSearchOverGrpcAndRestV2() => RunScriptAsync("bm25.js");
}
