using System.Buffers;
using System.Text.Json;
using Quiver.Protocol.Schema;

namespace Quiver.Wire;

/// <summary>One value of an Array field: on the wire a <c>ScalarField</c> holding the elements, in the engine a JSON
/// array of them.</summary>
public static class ArrayValues
{
    /// <summary>The elements of one <c>array_data</c> row as a JSON array (Int8..Int32 from <c>int_data</c>, Float from
    /// <c>float_data</c> at float32 precision).</summary>
    public static JsonElement ToJson(ScalarField value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            switch (value.DataCase)
            {
                case ScalarField.DataOneofCase.BoolData:
                    foreach (var b in value.BoolData.Data)
                    {
                        w.WriteBooleanValue(b);
                    }

                    break;
                case ScalarField.DataOneofCase.IntData:
                    foreach (var n in value.IntData.Data)
                    {
                        w.WriteNumberValue(n);
                    }

                    break;
                case ScalarField.DataOneofCase.LongData:
                    foreach (var n in value.LongData.Data)
                    {
                        w.WriteNumberValue(n);
                    }

                    break;
                case ScalarField.DataOneofCase.FloatData:
                    for (var i = 0; i < value.FloatData.Data.Count; i++)
                    {
                        w.WriteNumberValue(Finite(value.FloatData.Data[i], i));
                    }

                    break;
                case ScalarField.DataOneofCase.DoubleData:
                    for (var i = 0; i < value.DoubleData.Data.Count; i++)
                    {
                        w.WriteNumberValue(Finite(value.DoubleData.Data[i], i));
                    }

                    break;
                case ScalarField.DataOneofCase.StringData:
                    foreach (var t in value.StringData.Data)
                    {
                        w.WriteStringValue(t);
                    }

                    break;
                case ScalarField.DataOneofCase.None:
                    break;
                default:
                    throw new QuiverException(QuiverErrorCode.InvalidArgument, $"array element kind {value.DataCase} is not supported");
            }

            w.WriteEndArray();
        }

        var reader = new Utf8JsonReader(buffer.WrittenSpan);
        return JsonElement.ParseValue(ref reader);
    }

    /// <summary>JSON has no NaN or infinity: such an element is refused as the engine refuses it in a row.</summary>
    private static double Finite(double value, int index) => double.IsFinite(value) ? value : throw NotFinite(value, index);

    private static float Finite(float value, int index) => float.IsFinite(value) ? value : throw NotFinite(value, index);

    private static QuiverException NotFinite(double value, int index) => new(QuiverErrorCode.InvalidArgument,
        $"array element {index} is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}, not a finite number");

    /// <summary>A JSON array whose elements obey <paramref name="elementType"/> (as the engine stores them) as one
    /// <c>array_data</c> row; anything else (undefined, null, not an array) as an empty row.</summary>
    public static ScalarField FromJson(DataType elementType, JsonElement array)
    {
        var items = array.ValueKind == JsonValueKind.Array ? array.EnumerateArray().ToList() : [];
        var s = new ScalarField();
        switch (elementType)
        {
            case DataType.Bool:
                s.BoolData = new BoolArray { Data = { items.Select(e => e.GetBoolean()) } };
                break;
            case DataType.Int8 or DataType.Int16 or DataType.Int32:
                s.IntData = new IntArray { Data = { items.Select(e => e.GetInt32()) } };
                break;
            case DataType.Int64:
                s.LongData = new LongArray { Data = { items.Select(e => e.GetInt64()) } };
                break;
            case DataType.Float:
                s.FloatData = new FloatArray { Data = { items.Select(e => e.GetSingle()) } };
                break;
            case DataType.Double:
                s.DoubleData = new DoubleArray { Data = { items.Select(e => e.GetDouble()) } };
                break;
            default:
                s.StringData = new StringArray { Data = { items.Select(e => e.GetString() ?? "") } };
                break;
        }

        return s;
    }
}
