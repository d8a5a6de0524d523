using System.Collections;
using System.Globalization;
using System.Text.Json;

namespace Quiver.Typed;

/// <summary>CLR values from what a client returns for a field (engine values, JSON elements from the wire), shared by
/// the typed API and the VectorData provider.</summary>
internal static class ClrValues
{
    /// <summary>The Quiver scalar type of a CLR type, or null.</summary>
    internal static DataType? ScalarType(Type t) =>
        t == typeof(bool) ? DataType.Bool
        : t == typeof(sbyte) ? DataType.Int8
        : t == typeof(short) ? DataType.Int16
        : t == typeof(int) ? DataType.Int32
        : t == typeof(long) ? DataType.Int64
        : t == typeof(float) ? DataType.Float
        : t == typeof(double) ? DataType.Double
        : null;

    /// <summary>Converts a returned value to <paramref name="target"/> (nullable, arrays and lists of scalars,
    /// <see cref="ReadOnlyMemory{T}"/> of float, <see cref="JsonElement"/>); InvalidArgument names the field when it
    /// does not fit.</summary>
    internal static object? FromWire(object? value, Type target, string field)
    {
        if (value is null)
        {
            return target.IsValueType && Nullable.GetUnderlyingType(target) is null ? Activator.CreateInstance(target) : null;
        }

        var type = Nullable.GetUnderlyingType(target) ?? target;
        if (type.IsInstanceOfType(value))
        {
            return value;
        }

        if (type == typeof(ReadOnlyMemory<float>))
        {
            return new ReadOnlyMemory<float>((float[])FromWire(value, typeof(float[]), field)!);
        }

        if (ClrVectors.FromWire(value, type, field) is { } vectorOrTime)
        {
            return vectorOrTime;
        }

        if (type == typeof(JsonElement))
        {
            return value is string s ? JsonDocument.Parse(s).RootElement.Clone() : JsonSerializer.SerializeToElement(value);
        }

        if (value is JsonElement { ValueKind: JsonValueKind.Array } jsonArray)
        {
            value = jsonArray.EnumerateArray().Select(e => (object)e).ToList();
        }

        if (ElementType(type) is { } element && value is IEnumerable items and not string)
        {
            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element))!;
            foreach (var item in items)
            {
                list.Add(FromWire(item is JsonElement je ? Scalar(je) : item, element, field));
            }

            if (!type.IsArray)
            {
                return list;
            }

            var array = Array.CreateInstance(element, list.Count);
            list.CopyTo(array, 0);
            return array;
        }

        if (value is JsonElement j)
        {
            value = Scalar(j);
        }

        try
        {
            return Convert.ChangeType(value, type, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is InvalidCastException or FormatException or OverflowException)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"field {field}: a {value!.GetType().Name} value does not fit property type {target.Name}");
        }
    }

    internal static object? Scalar(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number when e.TryGetInt64(out var l) => l,
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.Null => null,
        _ => e,
    };

    internal static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() is var g && (g == typeof(List<>) || g == typeof(IList<>) || g == typeof(IReadOnlyList<>) || g == typeof(IEnumerable<>)))
        {
            return type.GetGenericArguments()[0];
        }

        return null;
    }
}
