using System.Buffers;
using System.IO.Pipelines;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Quiver.Server.Hosting;

/// <summary>
/// Serves a unary gRPC call as soon as its one request message has arrived, whether or not the client has ended the
/// request stream, as Go's gRPC server (and so Milvus) does.
/// </summary>
/// <remarks>
/// ASP.NET Core's gRPC reads a unary request until the end of the stream, to refuse a second message. The Milvus Node.js
/// SDK's retry interceptor re-sends a failed call (UNAVAILABLE while a server restarts, say) without ever half-closing
/// the new attempt: the message arrives, the end of the stream never does. Such a call would hang until Kestrel's
/// minimum body data rate faults the whole HTTP/2 connection (about 6 s later, taking the connection's other calls with
/// it), and the SDK retries the same way again. This middleware, placed after routing, gives unary gRPC endpoints a
/// request body that ends after the first complete length-prefixed message. Bytes after that message are not read; the
/// response ends the call and Kestrel resets the client's half of the stream.
/// </remarks>
internal static class UnaryGrpcRequests
{
    /// <summary>Adds the middleware. Call after <c>Build</c>; WebApplication runs routing before it.</summary>
    public static void UseUnaryGrpcRequestEnd(this IApplicationBuilder app) => app.Use(next => context =>
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is { Method.Type: MethodType.Unary }
            && context.Features.Get<IRequestBodyPipeFeature>() is { } body)
        {
            context.Features.Set<IRequestBodyPipeFeature>(new FirstMessageReader(body.Reader));
        }
        return next(context);
    });

    /// <summary>A request body that reports its end once the first gRPC message (length-prefixed: a compression flag
    /// byte, a big-endian 32-bit length, the message) is in the buffer. One reader at a time, as for any PipeReader. It
    /// is its own body feature: one object per call, not two.</summary>
    internal sealed class FirstMessageReader(PipeReader inner) : PipeReader, IRequestBodyPipeFeature
    {
        PipeReader IRequestBodyPipeFeature.Reader => this;

        private ReadOnlySequence<byte> _last;
        private bool _lastIsWholeMessage;
        private bool _messageConsumed;

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
            _messageConsumed ? Ended : Shape(await inner.ReadAsync(cancellationToken).ConfigureAwait(false));

        public override bool TryRead(out ReadResult result)
        {
            if (_messageConsumed)
            {
                result = Ended;
                return true;
            }
            if (!inner.TryRead(out var raw))
            {
                result = default;
                return false;
            }
            result = Shape(raw);
            return true;
        }

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            if (_lastIsWholeMessage && _last.Slice(consumed).IsEmpty)
            {
                _messageConsumed = true;
            }
            inner.AdvanceTo(consumed, examined);
        }

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        private static ReadResult Ended => new(ReadOnlySequence<byte>.Empty, isCanceled: false, isCompleted: true);

        private ReadResult Shape(ReadResult raw)
        {
            var buffer = raw.Buffer;
            var whole = GrpcFrame.MessageLength(buffer) is { } length ? GrpcFrame.HeaderLength + (long)length : long.MaxValue;
            _lastIsWholeMessage = !raw.IsCanceled && buffer.Length >= whole;
            _last = _lastIsWholeMessage ? buffer.Slice(0, whole) : buffer;
            return _lastIsWholeMessage ? new ReadResult(_last, isCanceled: false, isCompleted: true) : raw;
        }
    }
}
