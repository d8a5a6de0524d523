namespace Quiver.Cluster.Nodes;

/// <summary>How a shard or replica grain hands a REST v2 call to its engine's loopback server: the body as it came and
/// the one header that changes an answer's form (the database header is folded into the body by the router).</summary>
internal static class RestForward
{
    /// <summary>Milvus's header asking for Int64 values as JSON numbers rather than strings.</summary>
    public const string AllowInt64Header = "Accept-Type-Allow-Int64";

    /// <summary>POSTs <paramref name="body"/> to <paramref name="path"/> (below <c>/v2/vectordb</c>) on
    /// <paramref name="http"/>'s server: the HTTP status and the body answered.</summary>
    public static async Task<(int Status, byte[] Body)> PostAsync(HttpClient http, string path, byte[] body, bool allowInt64)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(RestRouting.Prefix + path, UriKind.Relative));
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        if (allowInt64)
        {
            request.Headers.TryAddWithoutValidation(AllowInt64Header, "true");
        }

        using var response = await http.SendAsync(request).ConfigureAwait(false);
        return ((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false));
    }
}
