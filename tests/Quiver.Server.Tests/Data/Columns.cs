using System.Text;
using Google.Protobuf;
using Quiver.Protocol.Schema;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests.Data;

/// <summary>Builds request columns as the Milvus SDKs send them, and reads response columns back.</summary>
internal static class Columns
{
    public static FieldData Long(string name, params long[] values) =>
        Scalar(name, ProtoType.Int64, new ScalarField { LongData = new LongArray { Data = { values } } });

    public static FieldData Int(string name, ProtoType type, params int[] values) =>
        Scalar(name, type, new ScalarField { IntData = new IntArray { Data = { values } } });

    public static FieldData Bool(string name, params bool[] values) =>
        Scalar(name, ProtoType.Bool, new ScalarField { BoolData = new BoolArray { Data = { values } } });

    public static FieldData Float(string name, params float[] values) =>
        Scalar(name, ProtoType.Float, new ScalarField { FloatData = new FloatArray { Data = { values } } });

    public static FieldData Double(string name, params double[] values) =>
        Scalar(name, ProtoType.Double, new ScalarField { DoubleData = new DoubleArray { Data = { values } } });

    public static FieldData VarChar(string name, params string[] values) =>
        Scalar(name, ProtoType.VarChar, new ScalarField { StringData = new StringArray { Data = { values } } });

    public static FieldData Json(string name, params string[] json) =>
        Scalar(name, ProtoType.Json, new ScalarField { JsonData = new JSONArray { Data = { json.Select(j => ByteString.CopyFromUtf8(j)) } } });

    public static FieldData Dynamic(params string[] json)
    {
        var column = Json("$meta", json);
        column.IsDynamic = true;
        return column;
    }

    public static FieldData LongArrays(string name, params long[][] rows)
    {
        var arrays = new ArrayArray { ElementType = ProtoType.Int64 };
        arrays.Data.AddRange(rows.Select(r => new ScalarField { LongData = new LongArray { Data = { r } } }));
        return Scalar(name, ProtoType.Array, new ScalarField { ArrayData = arrays });
    }

    public static FieldData FloatArrays(string name, params float[][] rows)
    {
        var arrays = new ArrayArray { ElementType = ProtoType.Float };
        arrays.Data.AddRange(rows.Select(r => new ScalarField { FloatData = new FloatArray { Data = { r } } }));
        return Scalar(name, ProtoType.Array, new ScalarField { ArrayData = arrays });
    }

    public static FieldData StringArrays(string name, params string[][] rows)
    {
        var arrays = new ArrayArray { ElementType = ProtoType.VarChar };
        arrays.Data.AddRange(rows.Select(r => new ScalarField { StringData = new StringArray { Data = { r } } }));
        return Scalar(name, ProtoType.Array, new ScalarField { ArrayData = arrays });
    }

    public static FieldData Vectors(string name, int dim, params float[][] rows)
    {
        var floats = new FloatArray();
        foreach (var r in rows)
        {
            floats.Data.AddRange(r);
        }

        return new FieldData { Type = ProtoType.FloatVector, FieldName = name, Vectors = new VectorField { Dim = dim, FloatVector = floats } };
    }

    public static FieldData WithValid(this FieldData column, params bool[] valid)
    {
        column.ValidData.AddRange(valid);
        return column;
    }

    private static FieldData Scalar(string name, ProtoType type, ScalarField scalars) =>
        new() { Type = type, FieldName = name, Scalars = scalars };

    public static FieldData Get(this IEnumerable<FieldData> columns, string name) => columns.Single(c => c.FieldName == name);

    public static List<string> JsonRows(this FieldData column) =>
        [.. column.Scalars.JsonData.Data.Select(b => Encoding.UTF8.GetString(b.Span))];

    public static Quiver.Protocol.Common.KeyValuePair Kv(string key, string value) => new() { Key = key, Value = value };
}
