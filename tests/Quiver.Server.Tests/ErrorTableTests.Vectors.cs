using Google.Protobuf;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using static Quiver.Server.Tests.Data.Columns;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests;

/// <summary>The refusals of FLOAT16, BFLOAT16, INT8 and BINARY vector fields (docs/vector-types.md); each case makes its
/// own collection over gRPC so that the field's metric is chosen by its index, as in Milvus.</summary>
public sealed partial class ErrorTableTests
{
    private static Task<Answer> BinaryDimensionAsync(Servers s) => CreateAsync(s, "vt_dim", Field("b", ProtoType.BinaryVector, typeParams: ("dim", "12")));

    private static Task<Answer> SchemaMetricForTypeAsync(Servers s)
    {
        var b = Field("b", ProtoType.BinaryVector, typeParams: ("dim", "16"));
        b.IndexParams.Add(Kv("metric_type", "L2"));
        return CreateAsync(s, "vt_schema_metric", b);
    }

    private static async Task<Answer> IndexMetricForTypeAsync(Servers s)
    {
        await CreateAsync(s, "vt_index_metric", Field("h", ProtoType.Float16Vector, typeParams: ("dim", "4")));
        return Answer.Of(await s.Plain.Milvus.CreateIndexAsync(new CreateIndexRequest
        {
            CollectionName = "vt_index_metric", FieldName = "h", ExtraParams = { Kv("index_type", "FLAT"), Kv("metric_type", "HAMMING") },
        }));
    }

    private static async Task<Answer> IndexTypeForTypeAsync(Servers s)
    {
        await CreateAsync(s, "vt_index_type", Field("b", ProtoType.BinaryVector, typeParams: ("dim", "16")));
        return Answer.Of(await s.Plain.Milvus.CreateIndexAsync(new CreateIndexRequest
        {
            CollectionName = "vt_index_type", FieldName = "b", ExtraParams = { Kv("index_type", "HNSW"), Kv("metric_type", "HAMMING") },
        }));
    }

    private static async Task<Answer> VectorBytesLengthAsync(Servers s)
    {
        await CreateAsync(s, "vt_bytes", Field("h", ProtoType.Float16Vector, typeParams: ("dim", "4")));
        var column = new FieldData { FieldName = "h", Type = ProtoType.Float16Vector, Vectors = new VectorField { Dim = 4, Float16Vector = ByteString.CopyFrom(new byte[7]) } };
        return Answer.Of((await s.Plain.Milvus.InsertAsync(new InsertRequest { CollectionName = "vt_bytes", NumRows = 1, FieldsData = { Long("id", 1), column } })).Status);
    }

    private static async Task<Answer> Int8ComponentAsync(Servers s)
    {
        await CreateAsync(s, "vt_int8", Field("i", ProtoType.Int8Vector, typeParams: ("dim", "2")));
        return await RestAsync(s.Plain, "/entities/insert", "{\"collectionName\":\"vt_int8\",\"data\":[{\"id\":1,\"i\":[1,300]}]}");
    }

    private static async Task<Answer> PlaceholderForTypeAsync(Servers s)
    {
        await CreateAsync(s, "vt_placeholder", Field("h", ProtoType.Float16Vector, typeParams: ("dim", "4")));
        await s.Plain.Milvus.CreateIndexAsync(new CreateIndexRequest { CollectionName = "vt_placeholder", FieldName = "h", ExtraParams = { Kv("index_type", "FLAT"), Kv("metric_type", "L2") } });
        await s.Plain.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = "vt_placeholder" });
        var search = Search("vt_placeholder", dim: 4, annsField: "h");
        return await SearchAsync(s.Plain, search);
    }

    private static async Task<Answer> CreateAsync(Servers s, string name, Protocol.Schema.FieldSchema vector) =>
        Answer.Of(await s.Plain.Milvus.CreateCollectionAsync(CreateCollection(name, Field("id", ProtoType.Int64, primary: true), vector)));
}
