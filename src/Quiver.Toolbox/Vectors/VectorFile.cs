using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Quiver.Toolbox.Vectors;

/// <summary>The element type of a <see cref="VectorFile"/>.</summary>
internal enum VectorElement
{
    /// <summary>IEEE float32 (<c>.fvecs</c>, npy <c>&lt;f4</c>).</summary>
    Float32,

    /// <summary>Unsigned byte (<c>.bvecs</c>, npy <c>|u1</c>); read as float 0..255.</summary>
    UInt8,

    /// <summary>Signed 32-bit integer (<c>.ivecs</c>, npy <c>&lt;i4</c>): ground-truth ids.</summary>
    Int32,

    /// <summary>Signed 64-bit integer (npy <c>&lt;i8</c>, as NumPy writes ids by default): ground-truth ids.</summary>
    Int64,

    /// <summary>IEEE float64 (npy <c>&lt;f8</c>, NumPy's default float); read as float32.</summary>
    Float64,
}

/// <summary>A matrix of vectors in a file, one row per vector, in the formats ANN benchmarks ship:
/// <list type="bullet">
/// <item><c>.fvecs</c> / <c>.ivecs</c> / <c>.bvecs</c> (TEXMEX): each row is a little-endian int32 dimension followed by
/// that many float32 / int32 / uint8 values; every row must declare the same dimension.</item>
/// <item><c>.npy</c> (NumPy, header versions 1 to 3): a 2-D C-order array of little-endian float32, float64, uint8,
/// int32 or int64.</item>
/// </list>
/// <see cref="Open(string, string?)"/> reads the header and checks the file length against it, so a truncated file fails before any
/// work; rows are then read on demand. Every error is a <see cref="QuiverException"/> whose message starts with the
/// path and says what is wrong. Not thread-safe.</summary>
internal sealed class VectorFile : IDisposable
{
    private const int ChunkBytes = 1 << 20;
    private static readonly byte[] NpyMagic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private readonly SafeFileHandle _handle;
    private readonly long _dataOffset;
    private readonly int _rowPrefix;

    // The stream the handle belongs to, when the file was opened from one (disposing it closes the handle).
    private FileStream? _owner;

    private VectorFile(string path, SafeFileHandle handle, VectorElement element, int count, int dimension, long dataOffset, int rowPrefix)
    {
        Path = path;
        _handle = handle;
        Element = element;
        Count = count;
        Dimension = dimension;
        _dataOffset = dataOffset;
        _rowPrefix = rowPrefix;
    }

    /// <summary>The file's path as given.</summary>
    public string Path { get; }

    /// <summary>What each value is.</summary>
    public VectorElement Element { get; }

    /// <summary>Number of rows (vectors).</summary>
    public int Count { get; }

    /// <summary>Values per row.</summary>
    public int Dimension { get; }

    /// <summary>True for integer files (ids), false for vector files (float32, uint8).</summary>
    public bool IsInteger => Element is VectorElement.Int32 or VectorElement.Int64;

    private int ElementSize => SizeOf(Element);

    private long RowBytes => _rowPrefix + ((long)Dimension * ElementSize);

    /// <summary>Opens <paramref name="path"/>, reads its header and checks its length; the format comes from
    /// <paramref name="extension"/> when given (e.g. ".npy" for a file named otherwise), else from the file's extension
    /// (<c>.fvecs</c>, <c>.ivecs</c>, <c>.bvecs</c>, <c>.npy</c>).</summary>
    public static VectorFile Open(string path, string? extension = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var element = ElementOf(path, extension);
        if (!File.Exists(path))
        {
            throw Error(path, "no such file");
        }

        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            return element is { } e ? OpenVecs(path, handle, e) : OpenNpy(path, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>As <see cref="Open(string, string?)"/>, reading the already opened <paramref name="stream"/> (which the
    /// result owns; it is disposed on failure too); <paramref name="path"/> only names the file in messages and gives
    /// the format when <paramref name="extension"/> is null.</summary>
    public static VectorFile Open(string path, FileStream stream, string? extension = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            var element = ElementOf(path, extension);
            var file = element is { } e ? OpenVecs(path, stream.SafeFileHandle, e) : OpenNpy(path, stream.SafeFileHandle);
            file._owner = stream;
            return file;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The element type of a <c>.fvecs</c>/<c>.ivecs</c>/<c>.bvecs</c> file, or null for <c>.npy</c> (its
    /// header says).</summary>
    private static VectorElement? ElementOf(string path, string? extension)
    {
        var ext = (extension ?? System.IO.Path.GetExtension(path)).ToLowerInvariant();
        return ext switch
        {
            ".fvecs" => VectorElement.Float32,
            ".ivecs" => VectorElement.Int32,
            ".bvecs" => VectorElement.UInt8,
            ".npy" => null,
            _ => throw Error(path, $"unknown extension '{ext}'; expected .fvecs, .ivecs, .bvecs or .npy"),
        };
    }

    /// <summary>Reads the first <paramref name="maxRows"/> rows (all when 0 or more than the file has) as floats.</summary>
    public static float[] ReadFloats(string path, int maxRows, out int count, out int dimension) =>
        ReadAll<float>(path, maxRows, out count, out dimension, static (file, n, into) => file.ReadFloats(0, n, into));

    /// <summary>Reads the first <paramref name="maxRows"/> rows (all when 0 or more than the file has) as int32 ids.</summary>
    public static int[] ReadInts(string path, int maxRows, out int count, out int dimension) =>
        ReadAll<int>(path, maxRows, out count, out dimension, static (file, n, into) => file.ReadInts(0, n, into));

    /// <summary>Rows <paramref name="start"/>..start+count-1 as floats into <paramref name="destination"/>
    /// (count * <see cref="Dimension"/> floats, owned by the caller). Integer files are refused.</summary>
    public void ReadFloats(int start, int count, Span<float> destination)
    {
        if (IsInteger)
        {
            throw Error(Path, $"holds {Describe(Element)} values (ids); expected vectors of float32 or uint8");
        }

        ReadRows(start, count, destination, static (values, element, dest) =>
        {
            if (element == VectorElement.Float32)
            {
                MemoryMarshal.Cast<byte, float>(values).CopyTo(dest);
            }
            else if (element == VectorElement.Float64)
            {
                var wide = MemoryMarshal.Cast<byte, double>(values);
                for (var i = 0; i < wide.Length; i++)
                {
                    dest[i] = (float)wide[i];
                }
            }
            else
            {
                for (var i = 0; i < values.Length; i++)
                {
                    dest[i] = values[i];
                }
            }
        });
    }

    /// <summary>Rows <paramref name="start"/>..start+count-1 as int32 ids into <paramref name="destination"/>
    /// (count * <see cref="Dimension"/> ints, owned by the caller). Float files are refused; int64 ids must fit in int32.</summary>
    public void ReadInts(int start, int count, Span<int> destination)
    {
        if (!IsInteger)
        {
            throw Error(Path, $"holds {Describe(Element)} values; expected integer ids (int32 or int64)");
        }

        var path = Path;
        ReadRows(start, count, destination, (values, element, dest) =>
        {
            if (element == VectorElement.Int32)
            {
                MemoryMarshal.Cast<byte, int>(values).CopyTo(dest);
                return;
            }

            var wide = MemoryMarshal.Cast<byte, long>(values);
            for (var i = 0; i < wide.Length; i++)
            {
                if (wide[i] is < int.MinValue or > int.MaxValue)
                {
                    throw Error(path, string.Create(CultureInfo.InvariantCulture, $"id {wide[i]} does not fit in int32"));
                }

                dest[i] = (int)wide[i];
            }
        });
    }

    /// <summary>Writes <paramref name="values"/> (rows of <paramref name="dimension"/>) to <paramref name="path"/> in the
    /// format its extension names, through a temporary file renamed into place, so a reader never sees half a file.</summary>
    public static void Write<T>(string path, ReadOnlySpan<T> values, int dimension)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        var element = typeof(T) == typeof(float) ? VectorElement.Float32
            : typeof(T) == typeof(byte) ? VectorElement.UInt8
            : typeof(T) == typeof(int) ? VectorElement.Int32
            : typeof(T) == typeof(long) ? VectorElement.Int64
            : throw new ArgumentException($"no vector file element type for {typeof(T).Name}", nameof(values));
        if (values.Length % dimension != 0)
        {
            throw new ArgumentException("the values are not whole rows of the dimension", nameof(values));
        }

        using var writer = Create(path, element, dimension);
        writer.Append(values);
        writer.Complete();
    }

    /// <summary>Starts a file of rows of <paramref name="dimension"/> <paramref name="element"/> values at
    /// <paramref name="path"/> in the format <paramref name="extension"/> names (default: the path's extension), written
    /// row by row through a temporary file that <see cref="VectorFileWriter.Complete"/> renames into place.</summary>
    public static VectorFileWriter Create(string path, VectorElement element, int dimension, string? extension = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        var ext = (extension ?? System.IO.Path.GetExtension(path)).ToLowerInvariant();
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

        return new VectorFileWriter(path, element, dimension, npy: vecs is null);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_owner is { } owner)
        {
            owner.Dispose();
        }
        else
        {
            _handle.Dispose();
        }
    }

    private delegate void RowReader<T>(VectorFile file, int count, Span<T> destination);

    private static T[] ReadAll<T>(string path, int maxRows, out int count, out int dimension, RowReader<T> read)
    {
        using var file = Open(path);
        count = maxRows > 0 ? Math.Min(maxRows, file.Count) : file.Count;
        dimension = file.Dimension;
        var values = new T[(long)count * dimension];
        read(file, count, values);
        return values;
    }

    private delegate void Convert<T>(ReadOnlySpan<byte> values, VectorElement element, Span<T> destination);

    private void ReadRows<T>(int start, int count, Span<T> destination, Convert<T> convert)
    {
        if (start < 0 || count < 0 || start + count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"rows {start}..{start + count} are outside the file's {Count}");
        }

        if (destination.Length < (long)count * Dimension)
        {
            throw new ArgumentException("the destination is shorter than the rows", nameof(destination));
        }

        var rowsPerChunk = (int)Math.Max(1, ChunkBytes / RowBytes);
        var buffer = ArrayPool<byte>.Shared.Rent((int)(rowsPerChunk * RowBytes));
        try
        {
            var valueBytes = Dimension * ElementSize;
            for (var done = 0; done < count;)
            {
                var rows = Math.Min(rowsPerChunk, count - done);
                var chunk = buffer.AsSpan(0, (int)(rows * RowBytes));
                ReadExactly(_dataOffset + ((start + done) * RowBytes), chunk);
                var dest = destination.Slice(done * Dimension, rows * Dimension);
                if (_rowPrefix == 0)
                {
                    convert(chunk, Element, dest);
                }
                else
                {
                    for (var r = 0; r < rows; r++)
                    {
                        var row = chunk.Slice((int)(r * RowBytes), (int)RowBytes);
                        var declared = BinaryPrimitives.ReadInt32LittleEndian(row);
                        if (declared != Dimension)
                        {
                            var at = _dataOffset + ((start + done + r) * RowBytes);
                            throw Error(Path, string.Create(CultureInfo.InvariantCulture,
                                $"row {start + done + r + 1} (at byte offset {at}) declares dimension {declared} but the first row has {Dimension} (corrupt, or rows of mixed sizes)"));
                        }

                        convert(row.Slice(_rowPrefix, valueBytes), Element, dest.Slice(r * Dimension, Dimension));
                    }
                }

                done += rows;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void ReadExactly(long offset, Span<byte> into)
    {
        while (into.Length > 0)
        {
            var n = RandomAccess.Read(_handle, into, offset);
            if (n == 0)
            {
                throw Error(Path, string.Create(CultureInfo.InvariantCulture, $"truncated: the file ended at byte {offset} while its header promises more (was it changed while open?)"));
            }

            offset += n;
            into = into[n..];
        }
    }

    private static VectorFile OpenVecs(string path, SafeFileHandle handle, VectorElement element)
    {
        var length = RandomAccess.GetLength(handle);
        if (length == 0)
        {
            throw Error(path, "empty file: no rows");
        }

        if (length < 4)
        {
            throw Error(path, string.Create(CultureInfo.InvariantCulture, $"truncated: {length} bytes, shorter than one row's 4-byte dimension"));
        }

        Span<byte> prefix = stackalloc byte[4];
        RandomAccess.Read(handle, prefix, 0);
        var dim = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        if (dim is < 1 or > 1_000_000)
        {
            throw Error(path, $"the first row declares dimension {dim}; not a {System.IO.Path.GetExtension(path)} file, or corrupt");
        }

        var rowBytes = 4 + ((long)dim * SizeOf(element));
        if (length % rowBytes != 0)
        {
            var whole = length / rowBytes;
            throw Error(path, string.Create(CultureInfo.InvariantCulture,
                $"truncated or malformed: {length} bytes is not a whole number of rows of {rowBytes} bytes (dimension {dim} from the first row, {Describe(element)} values); {whole} whole rows, and row {whole + 1} starting at byte offset {whole * rowBytes} has only {length % rowBytes} bytes"));
        }

        var count = length / rowBytes;
        if (count > int.MaxValue)
        {
            throw Error(path, string.Create(CultureInfo.InvariantCulture, $"{count} rows; at most {int.MaxValue} are supported"));
        }

        return new VectorFile(path, handle, element, (int)count, dim, 0, 4);
    }

    private static VectorFile OpenNpy(string path, SafeFileHandle handle)
    {
        var length = RandomAccess.GetLength(handle);
        Span<byte> fixedPart = stackalloc byte[12];
        var got = RandomAccess.Read(handle, fixedPart, 0);
        if (got < 10 || !fixedPart[..6].SequenceEqual(NpyMagic))
        {
            throw Error(path, "not a NumPy .npy file (no \\x93NUMPY magic at the start)");
        }

        var major = fixedPart[6];
        int headerLength, headerStart;
        switch (major)
        {
            case 1:
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[8..]);
                headerStart = 10;
                break;
            case 2 or 3 when got >= 12:
                var wide = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[8..]);
                if (wide > 1 << 20)
                {
                    throw Error(path, $"npy header of {wide} bytes is implausibly long (corrupt)");
                }

                headerLength = (int)wide;
                headerStart = 12;
                break;
            default:
                throw Error(path, $"npy format version {major}.{fixedPart[7]} is not supported (1.0, 2.0 and 3.0 are)");
        }

        if (headerStart + headerLength > length)
        {
            throw Error(path, "truncated: the npy header runs past the end of the file");
        }

        var headerBytes = new byte[headerLength];
        RandomAccess.Read(handle, headerBytes, headerStart);
        var header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        var (descr, fortran, shape) = NpyHeaderParser.Parse(path, header);
        var element = descr switch
        {
            "<f4" => VectorElement.Float32,
            "<f8" => VectorElement.Float64,
            "|u1" or "<u1" or "u1" => VectorElement.UInt8,
            "<i4" => VectorElement.Int32,
            "<i8" => VectorElement.Int64,
            ">f4" or ">f8" or ">i4" or ">i8" => throw Error(path, $"dtype '{descr}' is big-endian; save it little-endian (arr.astype('<{descr[1..]}'))"),
            _ => throw Error(path, $"dtype '{descr}' is not supported; expected float32 ('<f4'), float64 ('<f8'), uint8 ('|u1'), int32 ('<i4') or int64 ('<i8')"),
        };
        if (fortran)
        {
            throw Error(path, "the array is in Fortran (column-major) order; save it in C order (np.ascontiguousarray)");
        }

        if (shape.Length != 2)
        {
            throw Error(path, $"the array has shape ({string.Join(", ", shape)}); expected 2-D (rows, dimension)");
        }

        if (shape[0] > int.MaxValue || shape[1] is < 1 or > 1_000_000)
        {
            throw Error(path, $"the array shape ({shape[0]}, {shape[1]}) is out of range");
        }

        var dataOffset = (long)headerStart + headerLength;
        var expected = shape[0] * shape[1] * SizeOf(element);
        if (length - dataOffset < expected)
        {
            var rowBytes = shape[1] * SizeOf(element);
            var whole = (length - dataOffset) / rowBytes;
            throw Error(path, string.Create(CultureInfo.InvariantCulture,
                $"truncated: shape ({shape[0]}, {shape[1]}) of {descr} needs {expected} data bytes after the header, the file has {length - dataOffset}: row {whole + 1} of {shape[0]} starts at byte offset {dataOffset + (whole * rowBytes)} and the file ends at byte {length}"));
        }

        return new VectorFile(path, handle, element, (int)shape[0], (int)shape[1], dataOffset, 0);
    }

    /// <summary>A version 1.0 npy header for <paramref name="count"/> rows, at least <paramref name="minLength"/> bytes
    /// long (a streaming writer reserves room for any count and rewrites the header at the end).</summary>
    internal static byte[] NpyHeader(VectorElement element, long count, int dimension, int minLength = 0)
    {
        var descr = element switch
        {
            VectorElement.Float32 => "<f4",
            VectorElement.Float64 => "<f8",
            VectorElement.UInt8 => "|u1",
            VectorElement.Int32 => "<i4",
            _ => "<i8",
        };
        var dict = string.Create(CultureInfo.InvariantCulture, $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({count}, {dimension}), }}");

        // NumPy pads the header with spaces and a newline so the data starts on a 64-byte boundary.
        var total = Math.Max(10 + dict.Length + 1, minLength);
        var padded = dict + new string(' ', ((64 - (total % 64)) % 64) + (total - (10 + dict.Length + 1))) + "\n";
        var bytes = new byte[10 + padded.Length];
        NpyMagic.CopyTo(bytes, 0);
        bytes[6] = 1;
        bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)padded.Length);
        Encoding.ASCII.GetBytes(padded, bytes.AsSpan(10));
        return bytes;
    }

    /// <summary>Bytes per value.</summary>
    internal static int SizeOf(VectorElement element) => element switch
    {
        VectorElement.UInt8 => 1,
        VectorElement.Int64 or VectorElement.Float64 => 8,
        _ => 4,
    };

    /// <summary>The NumPy name of the element type, for messages.</summary>
    internal static string Describe(VectorElement element) => element switch
    {
        VectorElement.Float32 => "float32",
        VectorElement.Float64 => "float64",
        VectorElement.UInt8 => "uint8",
        VectorElement.Int32 => "int32",
        _ => "int64",
    };

    /// <summary>An error about a file: the message starts with its path.</summary>
    public static QuiverException Error(string path, string problem) => new(QuiverErrorCode.InvalidArgument, $"{path}: {problem}");
}
