using System.Text.Json;

namespace Quiver;

internal static class SchemaValidator
{
    public const int MaxFields = 64;

    public static void Validate(CollectionSchema schema)
    {
        if (schema.Fields.IsDefaultOrEmpty)
        {
            Throw.Invalid("schema has no fields");
        }

        if (schema.Fields.Length > MaxFields)
        {
            Throw.Invalid($"schema has {schema.Fields.Length} fields; at most {MaxFields} are allowed");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var keys = 0;
        var vectors = 0;
        foreach (var f in schema.Fields)
        {
            ValidateName(f.Name, "field");
            if (!names.Add(f.Name))
            {
                Throw.Invalid($"field '{f.Name}' is declared twice");
            }

            ValidateField(f);
            keys += f.IsPrimaryKey ? 1 : 0;
            vectors += f.IsVector || f.IsSparseVector ? 1 : 0;
        }

        if (keys != 1)
        {
            Throw.Invalid($"schema must have exactly one primary key field, found {keys}");
        }

        if (vectors == 0)
        {
            Throw.Invalid("schema must have at least one vector field");
        }

        Shards.PartitionKeys.Validate(schema);
    }

    public static void ValidateName(string name, string what)
    {
        if (string.IsNullOrEmpty(name))
        {
            Throw.Invalid($"{what} name is empty");
        }

        if (name.Length > 255)
        {
            Throw.Invalid($"{what} name '{name[..32]}...' is longer than 255 characters");
        }

        if (!(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            Throw.Invalid($"{what} name '{name}' must start with a letter or underscore");
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                Throw.Invalid($"{what} name '{name}' may hold only letters, digits and underscores; found '{c}'");
            }
        }
    }

    private static void ValidateField(FieldSchema f)
    {
        var n = f.Name;
        if (f.IsPrimaryKey)
        {
            if (f.DataType is not (DataType.Int64 or DataType.VarChar))
            {
                Throw.Invalid($"primary key field '{n}' must be Int64 or VarChar, not {f.DataType}");
            }

            if (f.Nullable || f.DefaultValue is not null)
            {
                Throw.Invalid($"primary key field '{n}' cannot be nullable or have a default value");
            }
        }

        if (f.AutoId && !(f.IsPrimaryKey && f.DataType == DataType.Int64))
        {
            Throw.Invalid($"field '{n}': auto_id is only allowed on an Int64 primary key");
        }

        switch (f.DataType)
        {
            case DataType.FloatVector:
                if (f.Dimension is not (>= 1 and <= FieldSchema.MaxDimension))
                {
                    Throw.Invalid($"vector field '{n}' must have a dimension in 1..{FieldSchema.MaxDimension}, got {f.Dimension?.ToString() ?? "none"}");
                }

                VectorFieldRules.RefuseDefault(f);
                break;
            case DataType.Float16Vector or DataType.BFloat16Vector or DataType.Int8Vector or DataType.BinaryVector:
                VectorFieldRules.Validate(f);
                break;
            case DataType.SparseFloatVector:
                SparseSchema.Validate(f);
                break;
            case DataType.VarChar:
                RequireMaxLength(f);
                break;
            case DataType.Array:
                if (f.ElementType is not { } et || !et.IsArrayElement())
                {
                    Throw.Invalid($"array field '{n}' needs an element type of Bool, an integer, Float, Double or VarChar, got {f.ElementType?.ToString() ?? "none"}");
                }

                if (f.MaxCapacity is not (>= 1 and <= FieldSchema.MaxArrayCapacity))
                {
                    Throw.Invalid($"array field '{n}' must have max_capacity in 1..{FieldSchema.MaxArrayCapacity}, got {f.MaxCapacity?.ToString() ?? "none"}");
                }

                if (f.ElementType == DataType.VarChar)
                {
                    RequireMaxLength(f);
                }

                break;
            case DataType.Bool:
            case DataType.Int8:
            case DataType.Int16:
            case DataType.Int32:
            case DataType.Int64:
            case DataType.Float:
            case DataType.Double:
            case DataType.Json:
            case DataType.Geometry:
            case DataType.Timestamptz:
                break;
            default:
                Throw.Invalid($"field '{n}' has unsupported data type {f.DataType}");
                break;
        }

        TextAnalysis.TextFieldRules.Validate(f);

        if (f.DefaultValue is { } dv)
        {
            if (f.DataType is DataType.Json or DataType.Array)
            {
                Throw.Invalid($"field '{n}': default values are supported on Bool, numeric, VarChar, Geometry and Timestamptz fields only");
            }

            if (dv.ValueKind == JsonValueKind.Null)
            {
                Throw.Invalid($"field '{n}': default value cannot be null; make the field nullable instead");
            }

            // Reuse the row validator so that a default obeys the same rules as an inserted value.
            _ = ValueConverter.ConvertScalar(f, dv, out var error);
            if (error is not null)
            {
                Throw.Invalid($"field '{n}': default value is invalid: {error}");
            }
        }
    }

    private static void RequireMaxLength(FieldSchema f)
    {
        if (f.MaxLength is not (>= 1 and <= FieldSchema.MaxVarCharLength))
        {
            Throw.Invalid($"field '{f.Name}' must have max_length in 1..{FieldSchema.MaxVarCharLength}, got {f.MaxLength?.ToString() ?? "none"}");
        }
    }
}
