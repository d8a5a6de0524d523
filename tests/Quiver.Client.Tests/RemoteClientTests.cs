namespace Quiver.Client.Tests;

/// <summary>
/// The contract suite against Quiver's server over gRPC (in process, loopback): the same tests as
/// <see cref="EmbeddedClientTests"/>, so the two clients behave alike. 
/// </summary>
public sealed class RemoteClientTests : ClientContractTests
{
    protected override Task<ClientTarget> OpenAsync() => ClientTarget.RemoteAsync();
}
