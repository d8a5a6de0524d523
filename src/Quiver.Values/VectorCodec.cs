using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Quiver;

/// <summary>The dense vector types and how each is held in the engine's float32 columns. FLOAT16, BFLOAT16 and INT8
/// components are widened to float32 (exactly: every value of those types is a float32), so distances and indexes are
/// the float32 ones, and narrowed back on output, bit for bit. A BINARY row is packed: its dim/8 bytes are copied into
/// <see cref="Width(DataType, int)"/> float slots as raw bits (zero padded to a multiple of 8 bytes) and never read as numbers; binary
/// metrics read the slots as 64-bit words (the engine's <c>Distance.BinaryMath</c>).
/// <para>Memory per row: FLOAT16 and BFLOAT16 take 4·dim bytes (twice their wire size), INT8 4·dim (four times),
/// BINARY ⌈dim/64⌉·8 bytes (its wire size rounded up to 8 bytes).</para></summary>
public static class VectorCodec
{
    /// <summary>True for the metrics of binary vectors (HAMMING, JACCARD).</summary>
    public static bool IsBinary(this MetricType metric) => metric is MetricType.Hamming or MetricType.Jaccard;

    /// <summary>True when a smaller score is closer (L2, HAMMING, JACCARD); false for IP and COSINE.</summary>
    public static bool SmallerIsCloser(this MetricType metric) => metric is MetricType.L2 or MetricType.Hamming or MetricType.Jaccard;

    /// <summary>The metric's Milvus name (L2, IP, COSINE, HAMMING, JACCARD).</summary>
    public static string MilvusName(this MetricType metric) => metric switch
    {
        MetricType.Cosine => "COSINE",
        MetricType.Hamming => "HAMMING",
        MetricType.Jaccard => "JACCARD",
        _ => metric.ToString(),
    };

    /// <summary>Parses a Milvus metric name (case-insensitive); false for an unknown one.</summary>
    public static bool TryParseMetric(string? name, out MetricType metric)
    {
        MetricType? m = (name ?? "").Trim().ToUpperInvariant() switch
        {
            "L2" => MetricType.L2,
            "IP" => MetricType.IP,
            "COSINE" => MetricType.Cosine,
            "HAMMING" => MetricType.Hamming,
            "JACCARD" => MetricType.Jaccard,
            "BM25" => MetricType.BM25,
            _ => null,
        };
        metric = m ?? MetricType.L2;
        return m is not null;
    }

    /// <summary>The metrics a vector type may be compared with: HAMMING and JACCARD for BINARY, else L2, IP and COSINE.</summary>
    public static bool MetricFits(DataType type, MetricType metric) => metric != MetricType.BM25 && (type == DataType.BinaryVector) == metric.IsBinary();

    /// <summary>The Milvus names of the metrics valid for a type, for messages.</summary>
    public static string MetricNames(DataType type) => type == DataType.BinaryVector ? "HAMMING, JACCARD" : "L2, IP, COSINE";

    /// <summary>Milvus's name of a vector type in messages (FloatVector, Float16Vector, BFloat16Vector, Int8Vector, BinaryVector).</summary>
    public static string TypeName(DataType type) => type.ToString();

    /// <summary>Largest dimension of a type: 32,768 components, or 32,768 × 8 bits for BINARY (Milvus's limits).</summary>
    public static int MaxDimension(DataType type) => type == DataType.BinaryVector ? FieldSchema.MaxDimension * 8 : FieldSchema.MaxDimension;

    /// <summary>Float32 slots one row takes in engine columns and segment files: the dimension, or for BINARY
    /// ⌈dim/64⌉·2 (the packed bits in whole 64-bit words).</summary>
    public static int Width(DataType type, int dimension) => type == DataType.BinaryVector ? (dimension + 63) / 64 * 2 : dimension;

    /// <summary>Float32 slots one row of the field takes in engine columns.</summary>
    public static int Width(FieldSchema field)
    {
        ArgumentNullException.ThrowIfNull(field);
        return Width(field.DataType, field.Dimension ?? 0);
    }

    /// <summary>Float32 slots one row of this vector field takes in engine columns (<see cref="Width(FieldSchema)"/>).</summary>
    internal static int VectorWidth(this FieldSchema field) => Width(field);

    /// <summary>Bytes of one row in Milvus's wire form: 4·dim (FLOAT), 2·dim (FLOAT16, BFLOAT16), dim (INT8), dim/8 (BINARY).</summary>
    public static int WireBytes(DataType type, int dimension) => type switch
    {
        DataType.Float16Vector or DataType.BFloat16Vector => 2 * dimension,
        DataType.Int8Vector => dimension,
        DataType.BinaryVector => dimension / 8,
        _ => 4 * dimension,
    };

    /// <summary>Decodes <paramref name="rows"/> rows of wire bytes (little-endian, row-major) into engine slots
    /// (<paramref name="destination"/>: rows × <see cref="Width(DataType, int)"/>). Null on success, else what is wrong
    /// (a FLOAT16 or BFLOAT16 component that is NaN or infinite, a zero vector under COSINE).</summary>
    public static string? Decode(FieldSchema field, ReadOnlySpan<byte> bytes, int rows, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(field);
        var dim = field.Dimension!.Value;
        var rowBytes = WireBytes(field.DataType, dim);
        var width = Width(field.DataType, dim);
        for (var r = 0; r < rows; r++)
        {
            var src = bytes.Slice(r * rowBytes, rowBytes);
            var dst = destination.Slice(r * width, width);
            switch (field.DataType)
            {
                case DataType.BinaryVector:
                    var raw = MemoryMarshal.AsBytes(dst);
                    src.CopyTo(raw);
                    raw[src.Length..].Clear();
                    continue;
                case DataType.Float16Vector:
                    for (var i = 0; i < dim; i++)
                    {
                        dst[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(src[(2 * i)..]);
                    }

                    break;
                case DataType.BFloat16Vector:
                    for (var i = 0; i < dim; i++)
                    {
                        dst[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]) << 16);
                    }

                    break;
                case DataType.Int8Vector:
                    for (var i = 0; i < dim; i++)
                    {
                        dst[i] = (sbyte)src[i];
                    }

                    break;
                default:
                    MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                    break;
            }

            if (CheckComponents(field, dst) is { } error)
            {
                return rows > 1 ? string.Create(CultureInfo.InvariantCulture, $"row {r}: {error}") : error;
            }
        }

        return null;
    }

    /// <summary>Encodes rows of engine slots back into the wire form <see cref="Decode"/> reads; exact for values that
    /// came in through it. <paramref name="destination"/> holds rows × <see cref="WireBytes"/> bytes.</summary>
    public static void Encode(FieldSchema field, ReadOnlySpan<float> source, int rows, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(field);
        var dim = field.Dimension!.Value;
        var rowBytes = WireBytes(field.DataType, dim);
        var width = Width(field.DataType, dim);
        for (var r = 0; r < rows; r++)
        {
            var src = source.Slice(r * width, width);
            var dst = destination.Slice(r * rowBytes, rowBytes);
            switch (field.DataType)
            {
                case DataType.BinaryVector:
                    MemoryMarshal.AsBytes(src)[..rowBytes].CopyTo(dst);
                    break;
                case DataType.Float16Vector:
                    for (var i = 0; i < dim; i++)
                    {
                        BinaryPrimitives.WriteHalfLittleEndian(dst[(2 * i)..], (Half)src[i]);
                    }

                    break;
                case DataType.BFloat16Vector:
                    for (var i = 0; i < dim; i++)
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(dst[(2 * i)..], (ushort)(BitConverter.SingleToUInt32Bits(src[i]) >> 16));
                    }

                    break;
                case DataType.Int8Vector:
                    for (var i = 0; i < dim; i++)
                    {
                        dst[i] = (byte)(sbyte)src[i];
                    }

                    break;
                default:
                    MemoryMarshal.AsBytes(src).CopyTo(dst);
                    break;
            }
        }
    }

    /// <summary>Wire bytes of rows of engine slots, as a new array.</summary>
    public static byte[] Encode(FieldSchema field, ReadOnlySpan<float> source)
    {
        ArgumentNullException.ThrowIfNull(field);
        var width = Width(field);
        var rows = width == 0 ? 0 : source.Length / width;
        var bytes = new byte[rows * WireBytes(field.DataType, field.Dimension!.Value)];
        Encode(field, source, rows, bytes);
        return bytes;
    }

    /// <summary>One row given as numbers (the SDKs' number-array form) into engine slots: FLOAT16 and BFLOAT16 values
    /// are rounded to the nearest representable value (as the SDKs convert them), INT8 values must be integers in
    /// -128..127, BINARY takes dim/8 byte values 0..255. Null on success, else what is wrong.</summary>
    public static string? FromNumbers(FieldSchema field, ReadOnlySpan<float> numbers, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(field);
        var dim = field.Dimension!.Value;
        var expected = field.DataType == DataType.BinaryVector ? dim / 8 : dim;
        if (numbers.Length != expected)
        {
            return field.DataType == DataType.BinaryVector
                ? string.Create(CultureInfo.InvariantCulture, $"binary vector has {numbers.Length} bytes, expected {expected} (dim {dim} bits / 8)")
                : string.Create(CultureInfo.InvariantCulture, $"vector has dimension {numbers.Length}, expected {dim}");
        }

        if (field.DataType == DataType.BinaryVector)
        {
            var bytes = new byte[expected];
            for (var i = 0; i < expected; i++)
            {
                if (numbers[i] is not (>= 0 and <= 255) || numbers[i] != MathF.Floor(numbers[i]))
                {
                    return string.Create(CultureInfo.InvariantCulture, $"binary vector byte {i} is {numbers[i]}; bytes are integers in 0..255");
                }

                bytes[i] = (byte)numbers[i];
            }

            return Decode(field, bytes, 1, destination);
        }

        for (var i = 0; i < dim; i++)
        {
            var x = numbers[i];
            switch (field.DataType)
            {
                case DataType.Float16Vector:
                    x = (float)(Half)x;
                    break;
                case DataType.BFloat16Vector:
                    x = float.IsFinite(x) ? RoundToBFloat16(x) : x;
                    break;
                case DataType.Int8Vector when x is not (>= -128 and <= 127) || x != MathF.Floor(x):
                    return string.Create(CultureInfo.InvariantCulture, $"Int8Vector component {i} is {x}; components are integers in -128..127");
            }

            destination[i] = x;
        }

        return CheckComponents(field, destination[..dim]);
    }

    /// <summary>Null when one row of engine slots (the column form of the embedded API and of the wire readers) is valid
    /// for the field: FLOAT16, BFLOAT16 and INT8 components finite and representable in the type, BINARY padding bits
    /// clear; else what is wrong.</summary>
    public static string? CheckSlots(FieldSchema field, ReadOnlySpan<float> row)
    {
        ArgumentNullException.ThrowIfNull(field);
        var dim = field.Dimension!.Value;
        if (row.Length != Width(field.DataType, dim))
        {
            return string.Create(CultureInfo.InvariantCulture, $"vector row has {row.Length} values, expected {Width(field.DataType, dim)}");
        }

        if (field.DataType == DataType.BinaryVector)
        {
            return MemoryMarshal.AsBytes(row)[(dim / 8)..].ContainsAnyExcept((byte)0) ? "binary vector row has bits set past its dimension" : null;
        }

        for (var i = 0; i < dim; i++)
        {
            var x = row[i];
            var fits = field.DataType switch
            {
                DataType.Float16Vector => !float.IsFinite(x) || (float)(Half)x == x,
                DataType.BFloat16Vector => (BitConverter.SingleToUInt32Bits(x) & 0xFFFF) == 0,
                DataType.Int8Vector => x is >= -128 and <= 127 && x == MathF.Floor(x),
                _ => true,
            };
            if (!fits)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{field.DataType} component {i} is {x}, which the type cannot hold exactly");
            }
        }

        return CheckComponents(field, row);
    }

    /// <summary>The nearest bfloat16 to a finite float32 (round half to even), widened back.</summary>
    public static float RoundToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        bits += 0x7FFFu + ((bits >> 16) & 1);
        return BitConverter.UInt32BitsToSingle(bits & 0xFFFF0000u);
    }

    private static string? CheckComponents(FieldSchema field, ReadOnlySpan<float> row)
    {
        var zero = true;
        for (var i = 0; i < row.Length; i++)
        {
            if (!float.IsFinite(row[i]))
            {
                return string.Create(CultureInfo.InvariantCulture, $"{field.DataType} component {i} is {row[i]}; components must be finite");
            }

            zero &= row[i] == 0f;
        }

        return zero && field.Metric == MetricType.Cosine ? "zero vector cannot be compared under COSINE" : null;
    }

    /// <summary>Copies a row given in a raw form — wire bytes (<c>byte[]</c>, <c>ReadOnlyMemory&lt;byte&gt;</c>), INT8 as
    /// <c>sbyte[]</c>, FLOAT16 as <c>Half[]</c> — into engine slots. Null when the value is not a raw form (the caller
    /// reads it as numbers).</summary>
    internal static bool? CopyRaw(FieldSchema field, object value, Span<float> destination, out string? error)
    {
        error = null;
        ReadOnlySpan<byte> bytes;
        switch (value)
        {
            case byte[] b:
                bytes = b;
                break;
            case ReadOnlyMemory<byte> rm:
                bytes = rm.Span;
                break;
            case sbyte[] sb when field.DataType == DataType.Int8Vector:
                bytes = MemoryMarshal.AsBytes(sb.AsSpan());
                break;
            case Half[] h when field.DataType == DataType.Float16Vector && BitConverter.IsLittleEndian:
                bytes = MemoryMarshal.AsBytes(h.AsSpan());
                break;
            default:
                return null;
        }

        var expected = WireBytes(field.DataType, field.Dimension!.Value);
        if (bytes.Length != expected)
        {
            error = $"{field.DataType} of dim {field.Dimension} takes {expected} bytes per row, got {bytes.Length}";
            return false;
        }

        error = Decode(field, bytes, 1, destination);
        return error is null;
    }
}
