using Grpc.Core;
using Grpc.Net.Client;
using Quiver.Testing;

namespace Quiver.Server.Tests;

/// <summary>The row of docs/errors.md for a gRPC request body that does not parse as its RPC's message.</summary>
public sealed partial class ErrorTableTests
{
    /// <summary><paramref name="cases"/> with the malformed-request case added.</summary>
    private static Dictionary<string, Func<Servers, Task<Answer>>> WithMalformedCases(Dictionary<string, Func<Servers, Task<Answer>>> cases)
    {
        // Field 1 (collection_name) declares 127 bytes and one follows.
        cases.Add("grpc-malformed-request", s => RawGrpcAsync(s.Plain.Channel, "HasCollection", [0x0A, 0x7F, 0x61]));
        return cases;
    }

    /// <summary>The answer to <paramref name="rpc"/> called with <paramref name="body"/> as its raw request: a gRPC status
    /// as <c>gRPC NAME</c> (NAME as the gRPC spec spells it), or a Milvus status' code when the call is answered.</summary>
    private static async Task<Answer> RawGrpcAsync(GrpcChannel channel, string rpc, byte[] body)
    {
        try
        {
            var answer = await RawGrpc.CallAsync(channel.CreateCallInvoker(), rpc, body);
            return Answer.Of(Protocol.Common.Status.Parser.ParseFrom(answer));
        }
        catch (RpcException e)
        {
            var name = System.Text.RegularExpressions.Regex.Replace(e.StatusCode.ToString(), "(?<=[a-z])(?=[A-Z])", "_").ToUpperInvariant();
            return new Answer("gRPC " + name, null, e.Status.Detail);
        }
    }
}
