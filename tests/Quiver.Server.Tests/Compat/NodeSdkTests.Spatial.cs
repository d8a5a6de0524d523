namespace Quiver.Server.Tests.Compat;

public sealed partial class NodeSdkTests
{
    /// <summary>Every spatial filter function (ST_INTERSECTS, ST_CONTAINS, ST_WITHIN, ST_EQUALS, ST_TOUCHES, ST_CROSSES,
    /// ST_OVERLAPS, ST_DWITHIN) and its NOT through the SDK's query and search over gRPC and REST v2, over points, boxes,
    /// segments and nulls on a grid that puts many rows on the query box's edges, each answer equal to an oracle written
    /// from the OGC definitions and Milvus 2.6's ST_DWITHIN rule; bad spatial arguments answered 1100 (spatial.js).</summary>
    [Fact]
    public Task SpatialFilters_EveryFunction_EqualOracles_OverGrpcAndRest() => RunScriptAsync("spatial.js");
}
