using System.Globalization;
using System.Text.Json;
using Quiver.Protocol.Schema;

namespace Quiver.Wire;

/// <summary>
/// A field's default value on the wire (<c>schema.ValueField</c> in <c>FieldSchema.default_value</c>) and in the engine
/// (a <see cref="JsonElement"/>), one conversion for the client and the server. Milvus holds defaults for Bool, the
/// integer types (Int8..Int32 in <c>int_data</c>, Int64 in <c>long_data</c>), Float (<c>float_data</c>), Double
/// (<c>double_data</c>), VarChar and Geometry (<c>string_data</c>) and Timestamptz (<c>timestamptz_data</c> microseconds
/// or ISO 8601 <c>string_data</c> in; ISO 8601 text out, as Milvus describes it) fields only: JSON and Array fields, vectors and the primary key
/// take none, and a default that is not a finite number is refused.
/// </summary>
public static class DefaultValues
{
    /// <summary>Whether Milvus holds a default value for a field of <paramref name="type"/>.</summary>
    public static bool Supported(DataType type) =>
        type is DataType.Bool or DataType.Float or DataType.Double or DataType.VarChar or DataType.Geometry or DataType.Timestamptz
        || type.IsInteger();

    /// <summary>The wire form of <paramref name="field"/>'s default <paramref name="value"/>; false with the reason in
    /// <paramref name="problem"/> when Milvus cannot hold it (the type takes no default, or the value does not fit).</summary>
    public static bool TryToWire(FieldSchema field, JsonElement value, out ValueField? wire, out string? problem) =>
        TryToWire(field, value, null, out wire, out problem);

    /// <summary>As <see cref="TryToWire(FieldSchema, JsonElement, out ValueField?, out string?)"/>, a TIMESTAMPTZ default
    /// written as RFC 3339 text in <paramref name="zone"/> (the collection's <c>timezone</c>; null for UTC), as Milvus's
    /// proxy describes it (<c>RewriteTimestampTzDefaultValueToString</c>).</summary>
    public static bool TryToWire(FieldSchema field, JsonElement value, TimeZoneInfo? zone, out ValueField? wire, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(field);
        wire = null;
        problem = null;
        if (!Supported(field.DataType) || field.IsPrimaryKey)
        {
            problem = Unsupported(field.Name, field.DataType);
            return false;
        }

        try
        {
            wire = field.DataType switch
            {
                DataType.Bool => new ValueField { BoolData = value.GetBoolean() },
                DataType.Int8 or DataType.Int16 or DataType.Int32 => new ValueField { IntData = value.GetInt32() },
                DataType.Int64 => new ValueField { LongData = value.GetInt64() },
                DataType.Float => new ValueField { FloatData = value.GetSingle() },
                DataType.Double => new ValueField { DoubleData = value.GetDouble() },
                DataType.Timestamptz => new ValueField { StringData = TimestamptzText(value, zone) },
                _ => new ValueField { StringData = value.GetString() ?? throw new InvalidOperationException() },
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            problem = $"field '{field.Name}': default value {value.GetRawText()} does not fit {field.DataType}";
            return false;
        }

        return true;
    }

    /// <summary>The engine form of a field's wire default; null when <paramref name="value"/> holds none. Throws
    /// <see cref="QuiverException"/> (<see cref="QuiverErrorCode.InvalidArgument"/>) naming the field when the type
    /// takes no default, the value's kind does not fit the type, or a number is not finite. Integer kinds serve every
    /// integer type and floating kinds both floating types (the engine then checks the range).</summary>
    public static JsonElement? FromWire(string field, DataType type, ValueField? value) => FromWire(field, type, value, null);

    /// <summary>As <see cref="FromWire(string, DataType, ValueField?)"/>, a TIMESTAMPTZ default given as text without an
    /// offset read in <paramref name="zone"/> (the collection's <c>timezone</c> when it is created; null for UTC).</summary>
    public static JsonElement? FromWire(string field, DataType type, ValueField? value, TimeZoneInfo? zone)
    {
        if (value is null || value.DataCase == ValueField.DataOneofCase.None)
        {
            return null;
        }

        if (!Supported(type))
        {
            throw Invalid(Unsupported(field, type));
        }

        var fits = value.DataCase switch
        {
            ValueField.DataOneofCase.BoolData => type == DataType.Bool,
            ValueField.DataOneofCase.IntData or ValueField.DataOneofCase.LongData => type.IsInteger(),
            ValueField.DataOneofCase.FloatData or ValueField.DataOneofCase.DoubleData => type.IsFloatingPoint(),
            ValueField.DataOneofCase.StringData => type is DataType.VarChar or DataType.Geometry or DataType.Timestamptz,
            ValueField.DataOneofCase.TimestamptzData => type == DataType.Timestamptz,
            _ => false,
        };
        if (!fits)
        {
            throw Invalid($"field '{field}': default_value of kind {value.DataCase} does not fit a {type} field");
        }

        return value.DataCase switch
        {
            ValueField.DataOneofCase.BoolData => JsonSerializer.SerializeToElement(value.BoolData),
            ValueField.DataOneofCase.IntData => JsonSerializer.SerializeToElement(value.IntData),
            ValueField.DataOneofCase.LongData => JsonSerializer.SerializeToElement(value.LongData),
            ValueField.DataOneofCase.FloatData => float.IsFinite(value.FloatData)
                ? JsonSerializer.SerializeToElement(value.FloatData)
                : throw NotFinite(field, value.FloatData),
            ValueField.DataOneofCase.DoubleData => double.IsFinite(value.DoubleData)
                ? JsonSerializer.SerializeToElement(value.DoubleData)
                : throw NotFinite(field, value.DoubleData),
            // TIMESTAMPTZ defaults are kept as UTC microseconds: the SDKs send them so, or as ISO 8601 text.
            ValueField.DataOneofCase.TimestamptzData => JsonSerializer.SerializeToElement(value.TimestamptzData),
            ValueField.DataOneofCase.StringData when type == DataType.Timestamptz =>
                Timestamptz.TryParse(value.StringData, zone, out var micros, out var error)
                    ? JsonSerializer.SerializeToElement(micros)
                    : throw Invalid($"field '{field}': default_value {error}"),
            _ => JsonSerializer.SerializeToElement(value.StringData),
        };
    }

    // Milvus describes a TIMESTAMPTZ default as text, which the SDKs read with their date parsers.
    private static string TimestamptzText(JsonElement value, TimeZoneInfo? zone) =>
        Timestamptz.TryConvert(value, null, out var micros, out _) ? Timestamptz.Format(micros, zone) : throw new FormatException();

    private static string Unsupported(string field, DataType type) =>
        $"field '{field}': {type} fields take no default value; Milvus holds defaults for Bool, integer, Float, Double, VarChar, Geometry and Timestamptz fields other than the primary key";

    private static QuiverException NotFinite(string field, double value) =>
        Invalid($"field '{field}': default_value {value.ToString(CultureInfo.InvariantCulture)} is not a finite number");

    private static QuiverException Invalid(string reason) => new(QuiverErrorCode.InvalidArgument, reason);
}
