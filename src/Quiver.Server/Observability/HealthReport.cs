using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Quiver.Server.Observability;

/// <summary>The answer to <c>GET /healthz</c>, written alike by the standalone server (<see cref="ObservabilityEndpoints"/>)
/// and by a cluster node, so the two keep the same members in the same order (docs/server-ops.md): <c>status</c>,
/// <c>uptimeSeconds</c>, <c>dataPath</c>, <c>databases</c>, <c>collections</c>, then <see cref="More"/>,
/// then <c>error</c> when there is one. 200 when serving, else 503.</summary>
/// <param name="Stopping">The host is stopping.</param>
/// <param name="Error">Why the server cannot serve, or null.</param>
/// <param name="Uptime">How long the process has served.</param>
/// <param name="DataPath">The data folder, in full.</param>
/// <param name="Databases">The number of databases.</param>
/// <param name="Collections">The number of collections.</param>
internal sealed record HealthReport(bool Stopping, string? Error, TimeSpan Uptime, string DataPath, int Databases, int Collections)
{
    /// <summary>Members of the answerer's own (a node's <c>cluster</c> and <c>silo</c>), written after the common ones.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> More { get; init; } = [];

    /// <summary><c>stopping</c>, <c>unavailable</c> (with <see cref="Error"/>) or <c>serving</c>.</summary>
    public string Status => Stopping ? "stopping" : Error is not null ? "unavailable" : "serving";

    /// <summary>Writes the status code, the headers and the JSON body onto <paramref name="response"/>.</summary>
    public async Task WriteAsync(HttpResponse response, CancellationToken ct)
    {
        var status = Status;
        response.StatusCode = status == "serving" ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(response.Body);
        json.WriteStartObject();
        json.WriteString("status", status);
        json.WriteNumber("uptimeSeconds", Math.Round(Uptime.TotalSeconds, 3));
        json.WriteString("dataPath", DataPath);
        json.WriteNumber("databases", Databases);
        json.WriteNumber("collections", Collections);
        foreach (var (name, value) in More)
        {
            json.WriteString(name, value);
        }

        if (Error is not null)
        {
            json.WriteString("error", Error);
        }

        json.WriteEndObject();
        await json.FlushAsync(ct).ConfigureAwait(false);
    }
}
