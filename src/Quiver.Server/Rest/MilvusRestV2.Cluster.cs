using Microsoft.AspNetCore.Http;

namespace Quiver.Server.Rest;

internal static partial class MilvusRestV2
{
    /// <summary>Runs the endpoint at <paramref name="path"/> (with <see cref="Prefix"/>) exactly as the standalone server
    /// does, over the services of <paramref name="http"/>'s request (a cluster node serves its users and roles this
    /// way). False, with nothing answered, when no endpoint has that path.</summary>
    internal static async Task<bool> RunEndpointAsync(HttpContext http, string path)
    {
        foreach (var (known, endpoint) in Endpoints)
        {
            if (Prefix + known == path)
            {
                await RunAsync(http, path, endpoint).ConfigureAwait(false);
                return true;
            }
        }
        return false;
    }
}
