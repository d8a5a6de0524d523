namespace Quiver.Server.Tests.Compat;

public sealed partial class NodeSdkTests
{
    /// <summary>The SDK's <c>transformers</c> option: custom BFLOAT16/FLOAT16 encoders on insert and upsert stored byte for
    /// byte (a nullable field too), custom decoders on query, get and search answered the raw bytes sent, searches equal
    /// to a brute-force oracle over those bytes, and an encoder answering too few bytes refused with nothing written
    /// (transformers.js).</summary>
    [Fact]
    public Task Transformers_CustomEncodersAndDecoders_RoundTripTheBytesExactly() => RunScriptAsync("transformers.js");
}
