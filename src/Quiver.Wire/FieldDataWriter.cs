using System.Text.Json;
using Google.Protobuf;
using Quiver.Protocol.Schema;
using ProtoDataType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Wire;

/// <summary>How a nullable column's values travel next to its <c>valid_data</c>.</summary>
public enum NullForm
{
    /// <summary>Values of valid rows only (what Milvus's SDKs send on insert).</summary>
    Compact,

    /// <summary>One value per row, the type's zero where the row is null (what Quiver's server answers).</summary>
    Dense,
}

/// <summary>
/// Writes engine columns (<see cref="ColumnBatch"/>) as Milvus's columnar <c>schema.FieldData</c>: the request columns of
/// an insert or upsert on the client, the result columns of a query or search on the server. Int8, Int16 and Int32
/// travel in <c>int_data</c>; JSON as UTF-8 bytes in <c>json_data</c>; arrays as one <c>ScalarField</c> per row in
/// <c>array_data</c>; vectors flattened in <c>float_vector</c> with <c>dim</c>; a nullable field with
/// <c>valid_data</c>; the dynamic keys as one JSON object per row in the <c>$meta</c> column (<c>is_dynamic</c>).
/// Field ids are Milvus's: 100 + the field's position in the schema.
/// </summary>
public static class FieldDataWriter
{
    /// <summary>Milvus numbers user fields from 100 in declaration order; Quiver reports the same ids.</summary>
    public const long FirstFieldId = 100;

    /// <summary>One <c>FieldData</c> per column of <paramref name="batch"/> whose field <paramref name="schema"/> declares,
    /// in the batch's order, then the <c>$meta</c> column when the batch carries dynamic data.</summary>
    public static List<FieldData> Write(CollectionSchema schema, ColumnBatch batch, NullForm nulls)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(batch);
        var columns = new List<FieldData>(batch.Columns.Count + 1);
        foreach (var column in batch.Columns)
        {
            if (schema.Find(column.Name) is { } field)
            {
                columns.Add(Write(schema, field, column, batch.RowCount, nulls));
            }
        }

        if (batch.Dynamic is { } dynamic)
        {
            columns.Add(DynamicColumn(schema, dynamic));
        }

        return columns;
    }

    /// <summary>One field's column of <paramref name="rows"/> rows.</summary>
    public static FieldData Write(CollectionSchema schema, FieldSchema field, FieldColumn column, int rows, NullForm nulls)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(column);
        var data = new FieldData
        {
            Type = (ProtoDataType)(int)field.DataType,
            FieldName = field.Name,
            FieldId = FirstFieldId + Math.Max(0, schema.IndexOf(field.Name)),
        };
        if (field.IsVector || field.IsSparseVector)
        {
            // A nullable vector field's rows travel compact whatever the scalar form: valid_data, then the vectors of the
            // valid rows only, as Milvus sends them (the SDKs read both forms).
            var valid = field.Nullable ? NullableVectors.ValidRows(data, column, rows) : null;
            if (field.IsSparseVector)
            {
                data.Vectors = SparseVectors.Write(valid is null ? column.Sparse ?? [] : [.. valid.Select(r => column.Sparse![r])]);
                return data;
            }

            var slots = valid is null ? column.Vectors ?? [] : NullableVectors.Gather(column.Vectors ?? [], field.VectorWidth(), valid);
            if (field.DataType != Quiver.DataType.FloatVector)
            {
                data.Vectors = WireVectors.Write(field, slots);
                return data;
            }

            var floats = new FloatArray();
            floats.Data.AddRange(slots);
            data.Vectors = new VectorField { Dim = field.Dimension!.Value, FloatVector = floats };
            return data;
        }

        var scalars = new ScalarField();
        data.Scalars = scalars;
        var sink = new ScalarSink(field, scalars, rows);
        // A null row of a field with a default value (not nullable) is a value left out: it travels as valid_data false,
        // as Milvus's SDKs send it, so that the receiver fills the default (written as the type's zero without
        // valid_data, it was stored as that zero).
        var validity = field.Nullable || (field.DefaultValue is not null && AnyNull(column, rows));
        for (var r = 0; r < rows; r++)
        {
            var isNull = column.IsNull(r);
            if (validity)
            {
                data.ValidData.Add(!isNull);
                if (isNull && nulls == NullForm.Compact)
                {
                    continue;
                }
            }

            sink.Add(column, r, isNull);
        }

        return data;
    }

    private static bool AnyNull(FieldColumn column, int rows)
    {
        for (var r = 0; r < rows; r++)
        {
            if (column.IsNull(r))
            {
                return true;
            }
        }
        return false;
    }

    private static FieldData DynamicColumn(CollectionSchema schema, JsonElement[] dynamic)
    {
        var json = new JSONArray();
        foreach (var value in dynamic)
        {
            json.Data.Add(value.ValueKind == JsonValueKind.Object
                ? ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(value))
                : ByteString.CopyFromUtf8("{}"));
        }

        return new FieldData
        {
            Type = ProtoDataType.Json,
            FieldName = CollectionSchema.DynamicFieldName,
            FieldId = FirstFieldId + schema.Fields.Length,
            IsDynamic = true,
            Scalars = new ScalarField { JsonData = json },
        };
    }

    /// <summary>Appends a column's canonical values to the right array of a <c>ScalarField</c>, a type's zero for a null.</summary>
    private readonly struct ScalarSink
    {
        private readonly FieldSchema _field;
        private readonly ScalarField _target;

        /// <param name="field">The column's field.</param>
        /// <param name="target">The scalars to fill.</param>
        /// <param name="rows">The values to come at most: fixed-width arrays are sized for them once (they grew by
        /// doubling, an array per step).</param>
        public ScalarSink(FieldSchema field, ScalarField target, int rows)
        {
            _field = field;
            _target = target;
            switch (field.DataType)
            {
                case Quiver.DataType.Bool: target.BoolData = new BoolArray { Data = { Capacity = rows } }; break;
                case Quiver.DataType.Int8 or Quiver.DataType.Int16 or Quiver.DataType.Int32: target.IntData = new IntArray { Data = { Capacity = rows } }; break;
                case Quiver.DataType.Int64: target.LongData = new LongArray { Data = { Capacity = rows } }; break;
                case Quiver.DataType.Float: target.FloatData = new FloatArray { Data = { Capacity = rows } }; break;
                case Quiver.DataType.Double: target.DoubleData = new DoubleArray { Data = { Capacity = rows } }; break;
                case Quiver.DataType.VarChar: target.StringData = new StringArray { Data = { Capacity = rows } }; break;
                case Quiver.DataType.Json: target.JsonData = new JSONArray(); break;
                case Quiver.DataType.Array: target.ArrayData = new ArrayArray { ElementType = (ProtoDataType)(int)field.ElementType!.Value }; break;
                case Quiver.DataType.Geometry: target.GeometryWktData = new GeometryWktArray(); break;
                case Quiver.DataType.Timestamptz: target.StringData = new StringArray(); break;
                default: throw new ArgumentOutOfRangeException(nameof(field), field.DataType, "not a scalar type");
            }
        }

        public void Add(FieldColumn c, int r, bool isNull)
        {
            switch (_field.DataType)
            {
                case Quiver.DataType.Bool: _target.BoolData.Data.Add(!isNull && c.Bools![r]); break;
                case Quiver.DataType.Int8 or Quiver.DataType.Int16 or Quiver.DataType.Int32: _target.IntData.Data.Add(isNull ? 0 : checked((int)c.Longs![r])); break;
                case Quiver.DataType.Int64: _target.LongData.Data.Add(isNull ? 0 : c.Longs![r]); break;
                case Quiver.DataType.Float: _target.FloatData.Data.Add(isNull ? 0 : (float)c.Doubles![r]); break;
                case Quiver.DataType.Double: _target.DoubleData.Data.Add(isNull ? 0 : c.Doubles![r]); break;
                case Quiver.DataType.VarChar: _target.StringData.Data.Add(isNull ? "" : c.Strings![r]); break;
                case Quiver.DataType.Geometry: _target.GeometryWktData.Data.Add(isNull ? "" : c.Strings![r]); break;
                // A result read back from a server keeps its text (FieldDataReader.ReadResult), already in the read's zone.
                case Quiver.DataType.Timestamptz: _target.StringData.Data.Add(isNull ? "" : c.Strings?[r] ?? Timestamptz.Format(c.Longs![r], c.TimeZone)); break;
                case Quiver.DataType.Json:
                    _target.JsonData.Data.Add(isNull ? ByteString.Empty : ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(c.Json![r])));
                    break;
                default: _target.ArrayData.Data.Add(ArrayValues.FromJson(_field.ElementType!.Value, isNull ? default : c.Json![r])); break;
            }
        }
    }
}
