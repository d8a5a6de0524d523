using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;
using Status = Quiver.Protocol.Common.Status;

namespace Quiver.Server.Hosting;

/// <summary>
/// Middleware that counts gRPC request messages against the server's <see cref="InFlightBytes"/> before they are read.
/// It peeks at the message's 5-byte gRPC frame header (compression flag and length), takes that many bytes from the
/// budget for the whole call, and gives them back when the call ends. A message that does not fit is answered at once,
/// unread, with the RPC's own response type carrying Milvus code 4 (retriable), as an SDK expects an error status.
/// Messages over <c>MaxReceiveMessageSize</c> are left to gRPC, which refuses them from the same header. Once the
/// answer is sent, a large message or answer is reported to the <see cref="MemoryReclaimer"/>.
/// </summary>
internal static class GrpcInFlight
{
    private const string ServicePath = "/milvus.proto.milvus.MilvusService";
    private const string ServicePrefix = ServicePath + "/";

    /// <summary>The middleware, with the server's singletons it reads resolved once: looking the three up in the call's
    /// service scope on every call was about a tenth of this middleware's CPU samples in a loopback search's profile
    /// (bench/README.md, session 37).</summary>
    public static Func<HttpContext, RequestDelegate, Task> For(IServiceProvider services)
    {
        var maxMessageBytes = services.GetRequiredService<ServerOptions>().Security.MaxMessageBytes;
        var budget = services.GetRequiredService<InFlightBytes>();
        var reclaimer = services.GetRequiredService<MemoryReclaimer>();
        return (http, next) => InvokeAsync(http, next, maxMessageBytes, budget, reclaimer);
    }

    private static async Task InvokeAsync(HttpContext http, RequestDelegate next, long maxMessageBytes, InFlightBytes budget,
        MemoryReclaimer reclaimer)
    {
        if (!(http.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) ?? false)
            || !http.Request.Path.StartsWithSegments(ServicePath, StringComparison.Ordinal))
        {
            await next(http).ConfigureAwait(false);
            return;
        }
        // gRPC lifts Kestrel's body limit for its calls (it checks each message against MaxReceiveMessageSize), but only
        // while the body is unread; the peek below reads it, so the limit is lifted here.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
        {
            bodyLimit.MaxRequestBodySize = null;
        }
        var length = await MessageLengthAsync(http.Request.BodyReader, http.RequestAborted).ConfigureAwait(false);
        long held = 0;
        if (length is { } size && size <= maxMessageBytes)
        {
            held = size + GrpcFrame.HeaderLength;
        }
        if (!budget.TryTake(held))
        {
            await RefuseAsync(http, budget.Refusal(held)).ConfigureAwait(false);
            return;
        }
        try
        {
            await next(http).ConfigureAwait(false);
        }
        finally
        {
            budget.Give(held);
        }
        // The answer is sent: a large one (or a large message) leaves garbage to give back. The call's info is in the
        // context's items, where gRPC keeps a call's user state.
        var answer = http.Items.TryGetValue(CallInfo.Key, out var value) && value is CallInfo call ? call.ResultBytes : 0;
        reclaimer.Noted(Math.Max(held, answer));
    }

    /// <summary>The length of the first message, read from its frame header without consuming it; null when the body
    /// ends first.</summary>
    private static ValueTask<long?> MessageLengthAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        // Usually the frame header is already buffered (it came with the HEADERS frame's DATA): no async state to allocate.
        if (reader.TryRead(out var ready))
        {
            var length = GrpcFrame.MessageLength(ready.Buffer);
            reader.AdvanceTo(ready.Buffer.Start); // nothing consumed or examined: gRPC reads the same bytes next
            if (length is not null || ready.IsCompleted)
            {
                return ValueTask.FromResult<long?>(length);
            }
        }
        return WaitForHeaderAsync(reader, cancellationToken);
    }

    private static async ValueTask<long?> WaitForHeaderAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (GrpcFrame.MessageLength(buffer) is { } length)
            {
                reader.AdvanceTo(buffer.Start); // nothing consumed or examined: gRPC reads the same bytes next
                return length;
            }
            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.Start);
                return null;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Answers the call with its response type carrying <paramref name="refusal"/>'s status, without reading
    /// the request.</summary>
    private static async Task RefuseAsync(HttpContext http, MilvusException refusal)
    {
        var status = MilvusStatus.Error(refusal.Code, refusal.Message, refusal.Retriable);
        var method = MilvusService.Descriptor.FindMethodByName(http.Request.Path.Value![ServicePrefix.Length..]);
        IMessage? response = method is null ? null : method.OutputType == Status.Descriptor ? status : WithStatus(method.OutputType, status);
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/grpc";
        if (response is null)
        {
            // No response type carries a status: the gRPC status says it (trailers-only).
            http.Response.Headers["grpc-status"] = "8"; // RESOURCE_EXHAUSTED
            http.Response.Headers["grpc-message"] = Uri.EscapeDataString(refusal.Message);
            return;
        }
        var payload = response.ToByteArray();
        var frame = new byte[GrpcFrame.HeaderLength + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, GrpcFrame.HeaderLength);
        await http.Response.Body.WriteAsync(frame, http.RequestAborted).ConfigureAwait(false);
        http.Response.AppendTrailer("grpc-status", "0");
    }

    private static IMessage? WithStatus(MessageDescriptor type, Status status)
    {
        if (type.FindFieldByName("status") is not { FieldType: FieldType.Message } field || field.MessageType != Status.Descriptor)
        {
            return null;
        }
        var response = type.Parser.ParseFrom(ByteString.Empty);
        field.Accessor.SetValue(response, status);
        return response;
    }
}
