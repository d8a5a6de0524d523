using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Quiver.Server.Tests.Rest;

/// <summary>An HTTP/1.1 request written by hand on a socket, so that a test controls how much of the body is sent and
/// when: a client that announces a large body and sends only its first bytes, or a chunked body.</summary>
internal sealed class RawHttp : IAsyncDisposable
{
    /// <summary>Hang guard for answers: generous, never a time bound the test asserts.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawHttp(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>Connects and writes the request line and headers of a POST to <paramref name="path"/>: with
    /// <c>Content-Length: contentLength</c>, or chunked when it is null.</summary>
    public static async Task<RawHttp> StartAsync(int port, string path, long? contentLength, string? bearer = null)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var http = new RawHttp(tcp);
        var head = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")
            .Append(contentLength is { } n ? $"Content-Length: {n.ToString(CultureInfo.InvariantCulture)}\r\n" : "Transfer-Encoding: chunked\r\n")
            .Append(bearer is null ? "" : $"Authorization: Bearer {bearer}\r\n")
            .Append("\r\n");
        await http.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
        return http;
    }

    /// <summary>Writes raw bytes.</summary>
    public async Task WriteAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Writes one chunk of a chunked body (an empty one ends the body).</summary>
    public Task WriteChunkAsync(byte[] bytes) => WriteAsync([
        .. Encoding.ASCII.GetBytes(bytes.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), .. bytes, .. "\r\n"u8.ToArray()]);

    /// <summary>Reads the answer: the status code and the JSON body. Fails (the hang guard) when no answer comes.</summary>
    public async Task<(int Status, JsonObject Body)> ReadResponseAsync()
    {
        using var guard = new CancellationTokenSource(Patience);
        var received = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            var text = Encoding.UTF8.GetString(received.ToArray());
            var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headEnd > 0)
            {
                var bodyStart = text.IndexOf('{', headEnd);
                var bodyEnd = text.LastIndexOf('}');
                if (bodyStart > 0 && bodyEnd > bodyStart && TryParse(text[bodyStart..(bodyEnd + 1)]) is { } json)
                {
                    return (int.Parse(text.AsSpan(9, 3), CultureInfo.InvariantCulture), json);
                }
            }
            var read = await _stream.ReadAsync(buffer, guard.Token);
            if (read == 0)
            {
                throw new InvalidOperationException("the server closed the connection without a complete answer: " + text);
            }
            received.Write(buffer, 0, read);
        }
    }

    private static JsonObject? TryParse(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null; // not all of it yet
        }
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
