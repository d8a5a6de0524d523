namespace Quiver.Server.Tests.Compat;

public sealed partial class NodeSdkTests
{
    /// <summary>BINARY vectors under JACCARD (BIN_FLAT; BIN_IVF_FLAT with every list probed and with fewer) and a sparse
    /// field indexed with drop_ratio_build, through the SDK over gRPC and over REST v2, against a bit-by-bit JACCARD
    /// oracle and an inner product over the values drop_ratio_build keeps (jaccard-drop-build.js).</summary>
    [Fact]
    public Task JaccardAndDropRatioBuild_OverGrpcAndRest_EqualOracles() => RunScriptAsync("jaccard-drop-build.js");
}
