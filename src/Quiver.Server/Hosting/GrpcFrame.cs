using System.Buffers;
using System.Buffers.Binary;

namespace Quiver.Server.Hosting;

/// <summary>gRPC's length-prefixed message framing: a compression flag byte, then the message's length as a big-endian
/// 32-bit integer, then the message. Read by the middlewares that look at a request before gRPC does.</summary>
internal static class GrpcFrame
{
    /// <summary>Bytes before a message: the flag and the length.</summary>
    public const int HeaderLength = 5;

    /// <summary>The length of the message that <paramref name="buffer"/> starts with (without its header), or null while
    /// fewer than <see cref="HeaderLength"/> bytes have arrived.</summary>
    public static uint? MessageLength(ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length < HeaderLength)
        {
            return null;
        }
        Span<byte> header = stackalloc byte[HeaderLength];
        buffer.Slice(0, HeaderLength).CopyTo(header);
        return BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
    }
}
