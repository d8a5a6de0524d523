namespace Quiver.Server.Tests.Compat;

public sealed partial class NodeSdkTests
{
    /// <summary>AddCollectionField through the SDK (gRPC) and REST on a loaded collection with sealed and growing rows:
    /// old rows read null or the default, new rows their values, filters and searches see both; refusals answer 1100
    /// (add-field.js).</summary>
    [Fact]
    public Task AddCollectionField_OnALoadedCollection() => RunScriptAsync("add-field.js");
}
