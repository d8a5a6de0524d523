using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Quiver.Toolbox.Vectors;

/// <summary>Writes a <see cref="VectorFile"/> row by row (from <see cref="VectorFile.Create"/>), so a file of any size
/// is written with bounded memory. The rows go to a temporary file beside the target; <see cref="Complete"/> finishes it
/// (an <c>.npy</c> header is rewritten with the final row count in the room reserved for it) and renames it into place.
/// Disposed without <see cref="Complete"/>, it deletes the temporary file, so a failed write never leaves a file that
/// looks whole. Not thread-safe.</summary>
internal sealed class VectorFileWriter : IDisposable
{
    // Room for any row count: the header of the largest count is the longest.
    private const long ReservedCount = long.MaxValue;

    private readonly string _path;
    private readonly string _temporary;
    private readonly VectorElement _element;
    private readonly int _dimension;
    private readonly bool _npy;
    private readonly int _headerLength;
    private FileStream? _stream;
    private long _count;

    internal VectorFileWriter(string path, VectorElement element, int dimension, bool npy)
    {
        _path = path;
        _temporary = string.Create(CultureInfo.InvariantCulture, $"{path}.{Guid.NewGuid():N}.tmp");
        _element = element;
        _dimension = dimension;
        _npy = npy;
        _stream = new FileStream(_temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        if (npy)
        {
            var header = VectorFile.NpyHeader(element, ReservedCount, dimension);
            _headerLength = header.Length;
            _stream.Write(header);
        }
    }

    /// <summary>Rows written so far.</summary>
    public long Count => _count;

    /// <summary>Appends whole rows: <paramref name="values"/> holds a multiple of the dimension, of the file's element
    /// type (<typeparamref name="T"/> must match it).</summary>
    public void Append<T>(ReadOnlySpan<T> values)
        where T : unmanaged
    {
        var stream = _stream ?? throw new ObjectDisposedException(nameof(VectorFileWriter));
        if (Marshal.SizeOf<T>() != VectorFile.SizeOf(_element))
        {
            throw new ArgumentException($"{typeof(T).Name} values do not match the file's {VectorFile.Describe(_element)}", nameof(values));
        }

        if (values.Length % _dimension != 0)
        {
            throw new ArgumentException("the values are not whole rows of the dimension", nameof(values));
        }

        var rows = values.Length / _dimension;
        // Row by row (or whole chunks of rows for .npy), never the span as bytes at once: 10M x 128 floats are 5 GB, more
        // bytes than a span can count (the view of them as one byte span overflowed).
        Span<byte> prefix = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(prefix, _dimension);
        var rowsPerChunk = _npy ? Math.Max(1, (1 << 24) / (_dimension * VectorFile.SizeOf(_element))) : 1;
        for (var first = 0; first < rows; first += rowsPerChunk)
        {
            var chunk = MemoryMarshal.AsBytes(values.Slice(first * _dimension, Math.Min(rowsPerChunk, rows - first) * _dimension));
            if (!_npy)
            {
                stream.Write(prefix);
            }

            stream.Write(chunk);
        }

        _count += rows;
    }

    /// <summary>Finishes the file (the <c>.npy</c> header gets the row count), flushes it to disk and renames it to the
    /// target path, replacing any file there.</summary>
    public void Complete()
    {
        var stream = _stream ?? throw new ObjectDisposedException(nameof(VectorFileWriter));
        if (_npy)
        {
            stream.Position = 0;
            stream.Write(VectorFile.NpyHeader(_element, _count, _dimension, _headerLength));
        }

        stream.Flush(flushToDisk: true);
        stream.Dispose();
        _stream = null;
        File.Move(_temporary, _path, overwrite: true);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_stream is null)
        {
            return;
        }

        _stream.Dispose();
        _stream = null;
        File.Delete(_temporary);
    }
}
