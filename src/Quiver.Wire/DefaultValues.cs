using System.Globalization;
using System.Text.Json;
using Quiver.Protocol.Schema;

namespace Quiver.Wire;

/// <summary>
/// A field's default value on the wire (<c>schema.ValueField</c> in <c>FieldSchema.default_value</c>) and in the engine
/// (a <see cref="JsonElement"/>), one conversion for the client and the server. Milvus holds defaults for Bool, the
/// integer types (Int8..Int32 in <c>int_data</c>, Int64 in <c>long_data</c>), Float (<c>float_data</c>), Double
/// (<c>double_data</c>) and VarChar (<c>string_data</c>) fields only: JSON and Array fields, vectors and the primary key
/// take none, and a default that is not a finite number is refused.
/// </summary>
public static class DefaultValues
{
    /// <summary>Whether Milvus holds a default value for a field of <paramref name="type"/>.</summary>
    public static bool Supported(DataType type) =>
        type is DataType.Bool or DataType.Float or DataType.Double or DataType.VarChar || type.IsInteger();

    /// <summary>The wire form of <paramref name="field"/>'s default <paramref name="value"/>; false with the reason in
    /// <paramref name="problem"/> when Milvus cannot hold it (the type takes no default, or the value does not fit).</summary>
    public static bool TryToWire(FieldSchema field, JsonElement value, out ValueField? wire, out string? problem)
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
    public static JsonElement? FromWire(string field, DataType type, ValueField? value)
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
            ValueField.DataOneofCase.StringData => type == DataType.VarChar,
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
            _ => JsonSerializer.SerializeToElement(value.StringData),
        };
    }

    private static string Unsupported(string field, DataType type) =>
        $"field '{field}': {type} fields take no default value; Milvus holds defaults for Bool, integer, Float, Double and VarChar fields other than the primary key";

    private static QuiverException NotFinite(string field, double value) =>
        Invalid($"field '{field}': default_value {value.ToString(CultureInfo.InvariantCulture)} is not a finite number");

    private static QuiverException Invalid(string reason) => new(QuiverErrorCode.InvalidArgument, reason);
}
