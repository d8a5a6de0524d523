using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Quiver.Common;

/// <summary>Appends little-endian primitives to a growable buffer. Used for WAL payloads and segment blocks.</summary>
internal sealed class ByteWriter
{
    private byte[] _buffer;
    private int _length;

    public ByteWriter(int capacity = 256) => _buffer = new byte[Math.Max(16, capacity)];

    public int Length => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _length);

    public void Reset() => _length = 0;

    public Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            var size = Math.Max(_buffer.Length * 2L, _length + (long)count);
            if (size > Array.MaxLength)
            {
                size = Math.Max(Array.MaxLength, _length + count);
            }

            Array.Resize(ref _buffer, (int)size);
        }

        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }

    public void U8(byte v) => Reserve(1)[0] = v;

    public void I32(int v) => BinaryPrimitives.WriteInt32LittleEndian(Reserve(4), v);

    public void U32(uint v) => BinaryPrimitives.WriteUInt32LittleEndian(Reserve(4), v);

    public void I64(long v) => BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), v);

    public void F64(double v) => BinaryPrimitives.WriteDoubleLittleEndian(Reserve(8), v);

    public void Bytes(ReadOnlySpan<byte> data) => data.CopyTo(Reserve(data.Length));

    /// <summary>Raw little-endian copy of unmanaged values (the engine only runs on little-endian machines).</summary>
    public void Raw<T>(ReadOnlySpan<T> values)
        where T : unmanaged => Bytes(MemoryMarshal.AsBytes(values));

    /// <summary>Length-prefixed UTF-8 string (i32 byte count).</summary>
    public void Str(string s)
    {
        var n = Encoding.UTF8.GetByteCount(s);
        I32(n);
        Encoding.UTF8.GetBytes(s, Reserve(n));
    }

    /// <summary>Pads with zeros to a multiple of <paramref name="alignment"/>.</summary>
    public void Align(int alignment)
    {
        var pad = (alignment - (_length % alignment)) % alignment;
        Reserve(pad).Clear();
    }
}

/// <summary>Reads what <see cref="ByteWriter"/> wrote. Every read is bounds-checked and throws
/// <see cref="FormatException"/> on a short buffer, which callers turn into a corruption error naming the file.</summary>
internal ref struct ByteReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public ByteReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public readonly int Position => _pos;

    public readonly int Remaining => _data.Length - _pos;

    public ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > _data.Length - _pos)
        {
            throw new FormatException($"need {count} bytes at offset {_pos}, have {_data.Length - _pos}");
        }

        var s = _data.Slice(_pos, count);
        _pos += count;
        return s;
    }

    public byte U8() => Take(1)[0];

    public int I32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public long I64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

    public double F64() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

    public T[] Raw<T>(int count)
        where T : unmanaged
    {
        var size = checked(count * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        return MemoryMarshal.Cast<byte, T>(Take(size)).ToArray();
    }

    public string Str()
    {
        var n = I32();
        return Encoding.UTF8.GetString(Take(n));
    }
}
