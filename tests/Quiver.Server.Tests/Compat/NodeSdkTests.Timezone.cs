namespace Quiver.Server.Tests.Compat;

public sealed partial class NodeSdkTests
{
    /// <summary>Milvus's timezone through the SDK and REST (timezone.js): a collection's zone reads naive TIMESTAMPTZ text
    /// on insert (gRPC and REST) and in ISO literals and writes values in it; a query's or search's own timezone
    /// overrides it (SDK params, REST body); a database's zone is copied into collections created in it and reads their
    /// defaults; unknown zones are refused with 1100 and Milvus's message, changing nothing. Oracle: the instants the
    /// naive times name at fixed offsets.</summary>
    [Fact]
    public Task Timezone_PropertyAndParameter_AsTheSdkAndRestUseThem() => RunScriptAsync("timezone.js");
}
