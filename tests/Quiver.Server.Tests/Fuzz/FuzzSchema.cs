using Google.Protobuf;
using Quiver.Protocol.Schema;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using ProtoType = Quiver.Protocol.Schema.DataType;
using ProtoField = Quiver.Protocol.Schema.FieldSchema;
using ProtoSchema = Quiver.Protocol.Schema.CollectionSchema;

namespace Quiver.Server.Tests.Fuzz;

/// <summary>A field of a fuzz fixture collection, as the generators need to know it to build data that is almost
/// right.</summary>
internal sealed record FuzzField(string Name, ProtoType Type)
{
    public int Dim { get; init; }

    public int MaxLength { get; init; }

    public ProtoType Element { get; init; }

    public int Capacity { get; init; }

    public bool Nullable { get; init; }

    public bool Primary { get; init; }

    public bool AutoId { get; init; }

    public ValueField? Default { get; init; }

    /// <summary>The Milvus field schema of this field.</summary>
    public ProtoField ToProto()
    {
        var field = new ProtoField
        {
            Name = Name,
            DataType = Type,
            IsPrimaryKey = Primary,
            AutoID = AutoId,
            Nullable = Nullable,
            ElementType = Element,
            DefaultValue = Default,
        };
        if (Dim > 0)
        {
            field.TypeParams.Add(new KeyValuePair { Key = "dim", Value = Dim.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }
        if (MaxLength > 0)
        {
            field.TypeParams.Add(new KeyValuePair { Key = "max_length", Value = MaxLength.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }
        if (Capacity > 0)
        {
            field.TypeParams.Add(new KeyValuePair { Key = "max_capacity", Value = Capacity.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }
        return field;
    }
}

/// <summary>A fixture collection the fuzzer keeps in place (created, indexed, loaded, seeded) so that generated requests
/// reach past the "collection not found" check into the converters and the engine.</summary>
internal sealed record FuzzCollection(string Name, FuzzField[] Fields, bool Dynamic, bool Loaded, string Metric)
{
    public FuzzField Vector => Fields.First(f => f.Type == ProtoType.FloatVector);

    public FuzzField Key => Fields.First(f => f.Primary);

    public ByteString SchemaBytes() => new ProtoSchema
    {
        Name = Name,
        EnableDynamicField = Dynamic,
        Fields = { Fields.Select(f => f.ToProto()) },
    }.ToByteString();

    /// <summary>The fixtures: every scalar type, nullable and default values, a dynamic field (<c>fz_all</c>); a VarChar
    /// key with COSINE (<c>fz_str</c>); an auto-id collection that is never loaded (<c>fz_cold</c>).</summary>
    public static readonly FuzzCollection[] Fixtures =
    [
        new("fz_all",
        [
            new("id", ProtoType.Int64) { Primary = true },
            new("vec", ProtoType.FloatVector) { Dim = 4 },
            new("b", ProtoType.Bool),
            new("i8", ProtoType.Int8),
            new("i16", ProtoType.Int16),
            new("i32", ProtoType.Int32) { Nullable = true },
            new("i64", ProtoType.Int64),
            new("f", ProtoType.Float),
            new("d", ProtoType.Double) { Nullable = true },
            new("s", ProtoType.VarChar) { MaxLength = 16 },
            new("j", ProtoType.Json) { Nullable = true },
            new("ai", ProtoType.Array) { Element = ProtoType.Int64, Capacity = 4 },
            new("as", ProtoType.Array) { Element = ProtoType.VarChar, MaxLength = 8, Capacity = 3 },
        ], Dynamic: true, Loaded: true, Metric: "L2"),
        new("fz_str",
        [
            new("pk", ProtoType.VarChar) { Primary = true, MaxLength = 32 },
            new("emb", ProtoType.FloatVector) { Dim = 3 },
            new("n", ProtoType.Int32) { Default = new ValueField { IntData = 7 } },
            new("tag", ProtoType.VarChar) { MaxLength = 8, Nullable = true },
        ], Dynamic: false, Loaded: true, Metric: "COSINE"),
        new("fz_cold",
        [
            new("id", ProtoType.Int64) { Primary = true, AutoId = true },
            new("v", ProtoType.FloatVector) { Dim = 2 },
        ], Dynamic: false, Loaded: false, Metric: "IP"),
    ];
}
