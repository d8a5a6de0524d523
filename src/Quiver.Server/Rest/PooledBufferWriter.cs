using System.Buffers;

namespace Quiver.Server.Rest;

/// <summary>
/// A growing buffer for a REST answer, rented from the shared pool instead of allocated per request: it doubles as bytes
/// are written (the old array goes back to the pool), and <see cref="Dispose"/> returns the last one once the answer has
/// been sent. The written bytes must not be used after that.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    /// <summary>First size rented: a search answer of ten hits without output fields fits.</summary>
    private const int FirstSize = 4096;

    /// <summary>The largest buffer taken from and given back to the pool; a larger answer grows in arrays of its own, so
    /// that the pool never keeps a large buffer alive.</summary>
    public const int MaxPooledBytes = 1 << 20;

    private byte[] _buffer;
    private int _written;

    public PooledBufferWriter() => _buffer = ArrayPool<byte>.Shared.Rent(FirstSize);

    /// <summary>The bytes written so far.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>How many bytes have been written.</summary>
    public int WrittenCount => _written;

    /// <summary>Forgets what was written (the buffer is kept).</summary>
    public void ResetWrittenCount() => _written = 0;

    /// <inheritdoc />
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _buffer.Length - _written)
        {
            throw new InvalidOperationException($"cannot advance {count} bytes past the end of the buffer");
        }
        _written += count;
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _written = 0;
        Release(buffer);
    }

    private void Ensure(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= needed)
        {
            return;
        }
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        var size = (int)Math.Min(Math.Max((long)_buffer.Length * 2, (long)_written + needed), Array.MaxLength);
        if (size - _written < needed)
        {
            throw new OutOfMemoryException($"a REST answer cannot grow past {Array.MaxLength} bytes");
        }
        var larger = size <= MaxPooledBytes ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);
        _buffer.AsSpan(0, _written).CopyTo(larger);
        Release(_buffer);
        _buffer = larger;
    }

    /// <summary>Gives a buffer of the pool's sizes back; a larger one (allocated, not rented) is left to the GC.</summary>
    private static void Release(byte[] buffer)
    {
        if (buffer.Length is > 0 and <= MaxPooledBytes)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
