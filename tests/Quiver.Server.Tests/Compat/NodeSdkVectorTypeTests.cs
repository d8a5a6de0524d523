namespace Quiver.Server.Tests.Compat;

public sealed partial class NodeSdkTests
{
    /// <summary>FLOAT16, BFLOAT16, INT8 and BINARY fields beside a FLOAT one through the SDK: every input form inserted,
    /// queried back as sent, each field searched by anns_field against a brute-force oracle (vector-types.js).</summary>
    [Fact]
    public Task VectorTypes_RoundTripAndSearchEachField() => RunScriptAsync("vector-types.js");
}
