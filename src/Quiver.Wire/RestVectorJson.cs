using System.Text.Json;

namespace Quiver.Wire;

/// <summary>FLOAT16, BFLOAT16, INT8 and BINARY vectors in REST v2 rows. In: a number array (FLOAT16 / BFLOAT16
/// components, rounded to the type as the SDKs do; INT8 integers -128..127; BINARY dim/8 byte values 0..255) or, for
/// FLOAT16, BFLOAT16 and BINARY, a base64 string of the wire bytes. Out: FLOAT16, BFLOAT16 and BINARY as base64 strings
/// of the wire bytes (how Milvus's REST answers write a byte vector), INT8 as a number array.</summary>
public static class RestVectorJson
{
    /// <summary>Reads one row's value into engine slots; throws <see cref="RestDataException"/> naming
    /// <paramref name="path"/> and the problem.</summary>
    public static void Read(JsonElement value, FieldSchema field, Span<float> target, string path)
    {
        ArgumentNullException.ThrowIfNull(field);
        string? error;
        if (value.ValueKind == JsonValueKind.String && field.DataType != DataType.Int8Vector)
        {
            byte[] bytes;
            try
            {
                bytes = value.GetBytesFromBase64();
            }
            catch (FormatException)
            {
                throw new RestDataException($"{path} is not valid base64");
            }

            var expected = VectorCodec.WireBytes(field.DataType, field.Dimension!.Value);
            if (bytes.Length != expected)
            {
                throw new RestDataException($"{path} holds {bytes.Length} bytes, a {field.DataType} of dim {field.Dimension} takes {expected}");
            }

            error = VectorCodec.Decode(field, bytes, 1, target);
        }
        else if (value.ValueKind == JsonValueKind.Array)
        {
            var numbers = new float[value.GetArrayLength()];
            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out var d))
                {
                    throw new RestDataException($"{path}[{i}] must be a number, got {item.ValueKind}");
                }

                numbers[i++] = (float)d;
            }

            error = VectorCodec.FromNumbers(field, numbers, target);
        }
        else
        {
            var forms = field.DataType == DataType.Int8Vector ? "an array of integers" : "an array of numbers or a base64 string";
            throw new RestDataException($"{path} must be {forms}, got {value.ValueKind}");
        }

        if (error is not null)
        {
            throw new RestDataException($"{path}: {error}");
        }
    }

    /// <summary>Writes one row of engine slots in the REST form.</summary>
    public static void Write(Utf8JsonWriter writer, FieldSchema field, ReadOnlySpan<float> slots)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(field);
        var bytes = VectorCodec.Encode(field, slots);
        if (field.DataType != DataType.Int8Vector)
        {
            writer.WriteBase64StringValue(bytes);
            return;
        }

        writer.WriteStartArray();
        foreach (var b in bytes)
        {
            writer.WriteNumberValue((sbyte)b);
        }

        writer.WriteEndArray();
    }
}
