using System.Text.Json;
using Quiver.Segments;

namespace Quiver.Search;

/// <summary>Which fields a read returns, resolved once against the schema: declared fields by index, dynamic keys by
/// name, <c>*</c> for everything. The primary key is always included.</summary>
internal sealed class Projection
{
    private readonly List<int> _fields = [];
    private readonly List<string> _dynamicKeys = [];
    private bool _allDynamic;

    private Projection(CollectionSchema schema) => Schema = schema;

    public CollectionSchema Schema { get; }

    public static Projection Resolve(CollectionSchema schema, IReadOnlyList<string> outputFields, bool includeVectorsForStar = true)
    {
        var p = new Projection(schema);
        var pkIndex = schema.IndexOf(schema.PrimaryKey.Name);
        p._fields.Add(pkIndex);
        foreach (var raw in outputFields)
        {
            var name = raw.Trim();
            if (name == "*")
            {
                for (var i = 0; i < schema.Fields.Length; i++)
                {
                    if (!p._fields.Contains(i) && (includeVectorsForStar || !schema.Fields[i].IsVector))
                    {
                        p._fields.Add(i);
                    }
                }

                p._allDynamic = schema.EnableDynamicField;
                continue;
            }

            var idx = schema.IndexOf(name);
            if (idx >= 0)
            {
                if (!p._fields.Contains(idx))
                {
                    p._fields.Add(idx);
                }

                continue;
            }

            if (!schema.EnableDynamicField)
            {
                Throw.Invalid($"output field '{name}' does not exist in the schema, and the collection has no dynamic field");
            }

            if (name == CollectionSchema.DynamicFieldName)
            {
                p._allDynamic = true;
            }
            else if (!p._dynamicKeys.Contains(name))
            {
                p._dynamicKeys.Add(name);
            }
        }

        return p;
    }

    /// <summary>Builds the output row for one row of a segment snapshot.</summary>
    public Row Materialize(SegmentSnapshot snap, int row)
    {
        var result = new Row();
        foreach (var f in _fields)
        {
            var field = Schema.Fields[f];
            if (field.IsVector)
            {
                result[field.Name] = snap.Vectors[f].Row(row).ToArray();
            }
            else
            {
                result[field.Name] = ToApi(field, snap.GetColumn(f).GetValue(row));
            }
        }

        if ((_allDynamic || _dynamicKeys.Count > 0) && snap.Dynamic is { } dyn && dyn.Get(row) is { ValueKind: JsonValueKind.Object } obj)
        {
            foreach (var p in obj.EnumerateObject())
            {
                if (_allDynamic || _dynamicKeys.Contains(p.Name))
                {
                    result[p.Name] = p.Value.Clone();
                }
            }
        }

        return result;
    }

    /// <summary>The canonical stored value (long, double, bool, string, JsonElement) as the CLR type of the field's type.</summary>
    public static object? ToApi(FieldSchema field, object? value) => value is null ? null : field.DataType switch
    {
        DataType.Int8 => (sbyte)(long)value,
        DataType.Int16 => (short)(long)value,
        DataType.Int32 => (int)(long)value,
        DataType.Float => (float)(double)value,
        _ => value,
    };
}
