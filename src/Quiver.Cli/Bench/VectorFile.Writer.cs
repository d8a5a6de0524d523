using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Quiver.Cli.Bench;

/// <content>Writing vector files row by row.</content>
internal sealed partial class VectorFile
{
    /// <summary>Writes a vector file (<c>.fvecs</c>, <c>.ivecs</c>, <c>.bvecs</c>, <c>.npy</c>, by extension) row by row,
    /// so a file larger than memory can be written. Rows go to a temporary file renamed into place by
    /// <see cref="Complete"/>; disposing without it deletes the temporary file, so a reader never sees half a file.
    /// An <c>.npy</c> header needs the row count: given up front it is written once, otherwise a header with room for
    /// any count is written first and overwritten with the real count at the end. Not thread-safe.</summary>
    /// <typeparam name="T">float, byte, int or long, matching the extension (<c>.npy</c> takes any).</typeparam>
    public sealed class Writer<T> : IDisposable
        where T : unmanaged
    {
        private readonly string _path;
        private readonly string _temporary;
        private readonly VectorElement _element;
        private readonly bool _npy;
        private readonly int? _expectedCount;
        private readonly int _headerLength;
        private FileStream? _stream;
        private bool _completed;

        private Writer(string path, VectorElement element, bool npy, int dimension, int? expectedCount)
        {
            _path = path;
            _temporary = path + ".tmp";
            _element = element;
            _npy = npy;
            Dimension = dimension;
            _expectedCount = expectedCount;
            _stream = new FileStream(_temporary, FileMode.Create, FileAccess.Write, FileShare.None, ChunkBytes);
            if (npy)
            {
                var header = expectedCount is { } count
                    ? NpyHeader(element, count, dimension)
                    : NpyHeader(element, 0, dimension, NpyHeader(element, int.MaxValue, dimension).Length - 10);
                _headerLength = header.Length;
                _stream.Write(header);
            }
        }

        /// <summary>Values per row.</summary>
        public int Dimension { get; }

        /// <summary>Rows written so far.</summary>
        public int Count { get; private set; }

        /// <summary>Starts writing <paramref name="path"/> with rows of <paramref name="dimension"/>;
        /// <paramref name="count"/> is the number of rows when known (checked by <see cref="Complete"/>).</summary>
        public static Writer<T> Create(string path, int dimension, int? count = null)
        {
            ArgumentNullException.ThrowIfNull(path);
            ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
            var element = typeof(T) == typeof(float) ? VectorElement.Float32
                : typeof(T) == typeof(byte) ? VectorElement.UInt8
                : typeof(T) == typeof(int) ? VectorElement.Int32
                : typeof(T) == typeof(long) ? VectorElement.Int64
                : throw new ArgumentException($"no vector file element type for {typeof(T).Name}", nameof(T));
            var ext = System.IO.Path.GetExtension(path).ToLowerInvariant();
            var vecs = ext switch
            {
                ".fvecs" => VectorElement.Float32,
                ".ivecs" => VectorElement.Int32,
                ".bvecs" => VectorElement.UInt8,
                ".npy" => (VectorElement?)null,
                _ => throw Error(path, $"unknown extension '{ext}'; expected .fvecs, .ivecs, .bvecs or .npy"),
            };
            if (vecs is { } expected && expected != element)
            {
                throw Error(path, $"a {ext} file holds {Describe(expected)} values, not {Describe(element)}");
            }

            return new Writer<T>(path, element, vecs is null, dimension, count);
        }

        /// <summary>Appends whole rows (<paramref name="rows"/>.Length a multiple of <see cref="Dimension"/>).</summary>
        public void Append(ReadOnlySpan<T> rows)
        {
            var stream = _stream ?? throw new ObjectDisposedException(nameof(Writer<T>));
            if (rows.Length % Dimension != 0)
            {
                throw new ArgumentException("the values are not whole rows of the dimension", nameof(rows));
            }

            var count = rows.Length / Dimension;
            if ((long)Count + count > int.MaxValue)
            {
                throw Error(_path, string.Create(CultureInfo.InvariantCulture, $"more than {int.MaxValue} rows"));
            }

            var bytes = MemoryMarshal.AsBytes(rows);
            if (_npy)
            {
                stream.Write(bytes);
            }
            else
            {
                var rowBytes = Dimension * SizeOf(_element);
                Span<byte> prefix = stackalloc byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(prefix, Dimension);
                for (var r = 0; r < count; r++)
                {
                    stream.Write(prefix);
                    stream.Write(bytes.Slice(r * rowBytes, rowBytes));
                }
            }

            Count += count;
        }

        /// <summary>Finishes the file (the real row count in an <c>.npy</c> header) and renames it into place.</summary>
        public void Complete()
        {
            var stream = _stream ?? throw new ObjectDisposedException(nameof(Writer<T>));
            if (_expectedCount is { } expected && expected != Count)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{_path}: {Count} rows written, {expected} announced"));
            }

            if (_npy && _expectedCount is null)
            {
                var header = NpyHeader(_element, Count, Dimension, _headerLength - 10);
                stream.Position = 0;
                stream.Write(header);
            }

            stream.Dispose();
            _stream = null;
            File.Move(_temporary, _path, overwrite: true);
            _completed = true;
        }

        /// <summary>Closes the file; without <see cref="Complete"/>, deletes what was written.</summary>
        public void Dispose()
        {
            _stream?.Dispose();
            _stream = null;
            if (!_completed && File.Exists(_temporary))
            {
                File.Delete(_temporary);
            }
        }
    }
}
