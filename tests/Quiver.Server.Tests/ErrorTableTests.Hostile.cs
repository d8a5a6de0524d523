using System.Globalization;
using Google.Protobuf;
using Quiver.Protocol.Milvus;
using Quiver.Server.Console;
using Quiver.Server.Tests.Rest;

namespace Quiver.Server.Tests;

/// <summary>The rows of docs/errors.md that a hostile client found (session 36): a RunAnalyzer answer bigger than the
/// result budget (it held gigabytes), and a console tool body Kestrel cannot read (it answered 65535).</summary>
public sealed partial class ErrorTableTests
{
    /// <summary><paramref name="cases"/> with the hostile-client cases added.</summary>
    private static Dictionary<string, Func<Servers, Task<Answer>>> WithHostileCases(Dictionary<string, Func<Servers, Task<Answer>>> cases)
    {
        // Small's result budget (1,000 bytes) holds 6 tokens; 20 one-letter words may give 20.
        cases.Add("run-analyzer-result-too-large", async s => Answer.Of((await s.Small.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest
        {
            Placeholder = { ByteString.CopyFromUtf8(string.Join(' ', Enumerable.Repeat("a", 20))) },
        })).Status));
        cases.Add("console-tool-body-unreadable", s => UnreadableConsoleBodyAsync(s.Plain));
        return cases;
    }

    /// <summary>A console tune whose chunked body has a chunk size that is not hexadecimal.</summary>
    private static async Task<Answer> UnreadableConsoleBodyAsync(TestServer server)
    {
        await using var client = await RawHttp.StartAsync(server.Server.Port, ConsoleEndpoints.Prefix + "/api/tune", contentLength: null);
        await client.WriteAsync("zz\r\n{}\r\n0\r\n\r\n"u8.ToArray());
        var (status, reply) = await client.ReadResponseAsync();
        return new Answer(reply["code"]!.GetValue<int>().ToString(CultureInfo.InvariantCulture), status, reply["message"]?.GetValue<string>() ?? "");
    }
}
