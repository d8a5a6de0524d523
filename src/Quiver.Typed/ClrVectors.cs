using System.Buffers.Binary;
using System.Collections;
using System.Globalization;

namespace Quiver.Typed;

/// <summary>CLR vector and time types and the Quiver types they map to, shared by the typed API and the VectorData
/// provider: <see cref="float"/> vectors as FloatVector, <see cref="Half"/> as Float16Vector, <see cref="sbyte"/> as
/// Int8Vector (each as an array or a <see cref="ReadOnlyMemory{T}"/>), <see cref="BitArray"/> as BinaryVector (bit i of
/// the vector is bit i % 8 of byte i / 8, Milvus's layout), and <see cref="DateTime"/> / <see cref="DateTimeOffset"/> as
/// Timestamptz (UTC microseconds: ticks finer than a microsecond are dropped).</summary>
internal static class ClrVectors
{
    /// <summary>The vector type a CLR type maps to, or null.</summary>
    internal static DataType? VectorType(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        return t == typeof(float[]) || t == typeof(ReadOnlyMemory<float>) ? DataType.FloatVector
            : t == typeof(Half[]) || t == typeof(ReadOnlyMemory<Half>) ? DataType.Float16Vector
            : t == typeof(sbyte[]) || t == typeof(ReadOnlyMemory<sbyte>) ? DataType.Int8Vector
            : t == typeof(BitArray) ? DataType.BinaryVector
            : null;
    }

    /// <summary>True for <see cref="DateTime"/> and <see cref="DateTimeOffset"/> (nullable or not).</summary>
    internal static bool IsTime(Type t) => (Nullable.GetUnderlyingType(t) ?? t) is var bare && (bare == typeof(DateTime) || bare == typeof(DateTimeOffset));

    /// <summary>A record's value as a row takes it: vectors as arrays (binary as its bytes), times as
    /// <see cref="DateTimeOffset"/> (a <see cref="DateTime"/> of unspecified kind is taken as UTC, a local one converted).</summary>
    internal static object? ToWire(object? value) => value switch
    {
        ReadOnlyMemory<float> m => m.ToArray(),
        ReadOnlyMemory<Half> m => m.ToArray(),
        ReadOnlyMemory<sbyte> m => m.ToArray(),
        BitArray bits => Bytes(bits),
        DateTime { Kind: DateTimeKind.Local } local => new DateTimeOffset(local.ToUniversalTime()),
        DateTime other => new DateTimeOffset(DateTime.SpecifyKind(other, DateTimeKind.Utc)),
        _ => value,
    };

    /// <summary>A query vector as a search takes it: float components, or a binary vector's byte values.</summary>
    internal static float[] Query(object vector, string property) => vector switch
    {
        float[] a => a,
        ReadOnlyMemory<float> m => m.ToArray(),
        Half[] h => [.. h.Select(x => (float)x)],
        ReadOnlyMemory<Half> m => [.. m.ToArray().Select(x => (float)x)],
        sbyte[] s => [.. s.Select(x => (float)x)],
        ReadOnlyMemory<sbyte> m => [.. m.ToArray().Select(x => (float)x)],
        BitArray bits => [.. Bytes(bits).Select(b => (float)b)],
        _ => throw new NotSupportedException($"search input of type {vector.GetType().Name} for {property}: give float[], Half[], sbyte[] (or a ReadOnlyMemory of those) or a BitArray"),
    };

    /// <summary>Converts a returned vector or time to <paramref name="type"/> (non-nullable); null when the type is none of
    /// these, so the caller converts it as a scalar.</summary>
    internal static object? FromWire(object value, Type type, string field)
    {
        if (type == typeof(DateTimeOffset) || type == typeof(DateTime))
        {
            var at = value switch
            {
                string s => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                DateTimeOffset d => d,
                long micros => DateTimeOffset.UnixEpoch.AddTicks(micros * 10),
                _ => throw Mismatch(value, type, field),
            };
            return type == typeof(DateTime) ? (object)at.UtcDateTime : at;
        }

        if (type == typeof(Half[]) || type == typeof(ReadOnlyMemory<Half>))
        {
            Half[] halves = value switch
            {
                float[] f => [.. f.Select(x => (Half)x)],
                byte[] b => [.. Enumerable.Range(0, b.Length / 2).Select(i => BinaryPrimitives.ReadHalfLittleEndian(b.AsSpan(i * 2)))],
                _ => throw Mismatch(value, type, field),
            };
            return type.IsArray ? halves : (object)new ReadOnlyMemory<Half>(halves);
        }

        if (type == typeof(sbyte[]) || type == typeof(ReadOnlyMemory<sbyte>))
        {
            sbyte[] bytes = value switch
            {
                float[] f => [.. f.Select(x => (sbyte)x)],
                byte[] b => [.. b.Select(x => (sbyte)x)],
                _ => throw Mismatch(value, type, field),
            };
            return type.IsArray ? bytes : (object)new ReadOnlyMemory<sbyte>(bytes);
        }

        if (type == typeof(BitArray))
        {
            return value switch
            {
                byte[] b => new BitArray(b),
                float[] f => new BitArray([.. f.Select(x => (byte)x)]),
                _ => throw Mismatch(value, type, field),
            };
        }

        return null;
    }

    /// <summary>An ISO literal of the filter language for a time: <c>ISO '2026-01-02T03:04:05.000006Z'</c>.</summary>
    internal static string IsoLiteral(object time)
    {
        var utc = ((DateTimeOffset)ToWire(time)!).UtcDateTime;
        return $"ISO '{utc.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)}'";
    }

    private static byte[] Bytes(BitArray bits)
    {
        if (bits.Length % 8 != 0)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"a binary vector has a multiple of 8 bits, got {bits.Length}");
        }

        var bytes = new byte[bits.Length / 8];
        bits.CopyTo(bytes, 0);
        return bytes;
    }

    private static QuiverException Mismatch(object value, Type type, string field) =>
        new(QuiverErrorCode.InvalidArgument, $"field {field}: a {value.GetType().Name} value does not fit property type {type.Name}");
}
