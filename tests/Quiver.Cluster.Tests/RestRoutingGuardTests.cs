using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>The cluster REST router's catch-all (<see cref="RestRouting.GuardedAsync"/>): an exception a handler did not
/// expect is answered as the standalone server answers one (HTTP 200, JSON with code 65535), never an empty HTTP 500.</summary>
public sealed class RestRoutingGuardTests
{
    [Fact]
    public async Task UnexpectedException_AnswersTheStandaloneServersInternalError()
    {
        var http = new DefaultHttpContext();
        http.Request.Path = "/v2/vectordb/entities/search";
        http.Response.Body = new MemoryStream();
        http.Response.Headers["X-Partial"] = "set before the failure";

        await RestRouting.GuardedAsync(http, _ => throw new InvalidCastException("a bug"), NullLogger.Instance);

        Assert.Equal(StatusCodes.Status200OK, http.Response.StatusCode);
        Assert.False(http.Response.Headers.ContainsKey("X-Partial"));
        http.Response.Body.Position = 0;
        using var json = await JsonDocument.ParseAsync(http.Response.Body);
        Assert.Equal(65535, json.RootElement.GetProperty("code").GetInt32());
        Assert.Equal("internal error; see the server log", json.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task CallerGone_AnswersNothing()
    {
        using var gone = new CancellationTokenSource();
        var http = new DefaultHttpContext { RequestAborted = gone.Token };
        http.Response.Body = new MemoryStream();
        await gone.CancelAsync();

        await RestRouting.GuardedAsync(http, c => Task.FromCanceled(c.RequestAborted), NullLogger.Instance);

        Assert.Equal(0, http.Response.Body.Length);
    }

    [Fact]
    public async Task NoException_LeavesTheAnswerAlone()
    {
        var http = new DefaultHttpContext();
        http.Response.Body = new MemoryStream();

        await RestRouting.GuardedAsync(http, c =>
        {
            c.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }, NullLogger.Instance);

        Assert.Equal(StatusCodes.Status404NotFound, http.Response.StatusCode);
        Assert.Equal(0, http.Response.Body.Length);
    }
}
