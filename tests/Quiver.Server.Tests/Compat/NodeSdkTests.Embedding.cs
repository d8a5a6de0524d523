namespace Quiver.Server.Tests.Compat;

public sealed partial class NodeSdkTests
{
    /// <summary>tests/compat/embedding.js: a TextEmbedding function (local all-MiniLM-L6-v2) created, described, fed text
    /// only and searched by text through the SDK over gRPC (hits equal to a brute-force cosine oracle over the stored
    /// vectors) and through REST v2 (create with <c>schema.functions</c>, insert text rows, search with text data).</summary>
    [Fact]
    public Task TextEmbedding_OverGrpcAndRestV2() => RunScriptAsync("embedding.js");
}
