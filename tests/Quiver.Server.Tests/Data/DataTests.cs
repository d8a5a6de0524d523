using Quiver.Protocol.Milvus;
using static Quiver.Server.Tests.Data.Columns;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests.Data;

public sealed class DataTests
{
    private static readonly float[][] _vectors = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]];

    private static async Task CreateAllTypesAsync(TestServer server, string name = "all_types") =>
        await server.CreateLoadedCollectionAsync(name, new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"),
                FieldSchema.Scalar("flag", Quiver.DataType.Bool),
                FieldSchema.Scalar("i8", Quiver.DataType.Int8),
                FieldSchema.Scalar("i16", Quiver.DataType.Int16),
                FieldSchema.Scalar("i32", Quiver.DataType.Int32, nullable: true),
                FieldSchema.Scalar("i64", Quiver.DataType.Int64),
                FieldSchema.Scalar("f32", Quiver.DataType.Float),
                FieldSchema.Scalar("f64", Quiver.DataType.Double),
                FieldSchema.VarChar("title", 32, nullable: true),
                FieldSchema.Json("meta", nullable: true),
                FieldSchema.Array("nums", Quiver.DataType.Int64, 8),
                FieldSchema.Array("tags", Quiver.DataType.VarChar, 8, maxLength: 16),
                FieldSchema.Vector("vec", 4, MetricType.L2),
            ],
            EnableDynamicField = true,
        });

    private static InsertRequest AllTypesInsert(string name = "all_types") => new()
    {
        CollectionName = name,
        NumRows = 3,
        FieldsData =
        {
            Long("id", 1, 2, 3),
            Bool("flag", true, false, true),
            Int("i8", ProtoType.Int8, -8, 0, 127),
            Int("i16", ProtoType.Int16, -16, 0, 32767),
            // Compact nullable column: two values for the two valid rows.
            Int("i32", ProtoType.Int32, 32, 33).WithValid(true, false, true),
            Long("i64", long.MinValue, 0, long.MaxValue),
            Float("f32", 1.5f, -2.25f, 0),
            Double("f64", Math.PI, -1e300, 0),
            // Row-dense nullable column: a placeholder where the row is null.
            VarChar("title", "alpha", "", "gamma").WithValid(true, false, true),
            Json("meta", "{\"a\":1}", "", "[1,2]").WithValid(true, false, true),
            LongArrays("nums", [1, 2], [], [3]),
            StringArrays("tags", ["x"], ["y", "z"], []),
            Vectors("vec", 4, _vectors),
            Dynamic("{\"color\":\"red\",\"n\":1}", "{}", "{\"color\":\"blue\"}"),
        },
    };

    [Fact]
    public async Task Insert_EveryType_QueryReturnsTheSameColumns()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAllTypesAsync(server);
        var inserted = await server.Milvus.InsertAsync(AllTypesInsert());
        Assert.Equal(0, inserted.Status.Code);
        Assert.Equal(3, inserted.InsertCnt);
        Assert.Equal([1L, 2, 3], inserted.IDs.IntId.Data);
        Assert.Equal([0u, 1, 2], inserted.SuccIndex);
        Assert.True(inserted.Timestamp > 0);

        var q = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "all_types", Expr = "id > 0", OutputFields = { "*" } });
        Assert.Equal(0, q.Status.Code);
        var cols = q.FieldsData;
        Assert.Equal([1L, 2, 3], cols.Get("id").Scalars.LongData.Data);
        Assert.Equal([true, false, true], cols.Get("flag").Scalars.BoolData.Data);
        Assert.Equal([-8, 0, 127], cols.Get("i8").Scalars.IntData.Data);
        Assert.Equal(ProtoType.Int8, cols.Get("i8").Type);
        Assert.Equal([-16, 0, 32767], cols.Get("i16").Scalars.IntData.Data);
        Assert.Equal([32, 0, 33], cols.Get("i32").Scalars.IntData.Data);
        Assert.Equal([true, false, true], cols.Get("i32").ValidData);
        Assert.Equal([long.MinValue, 0, long.MaxValue], cols.Get("i64").Scalars.LongData.Data);
        Assert.Equal([1.5f, -2.25f, 0], cols.Get("f32").Scalars.FloatData.Data);
        Assert.Equal([Math.PI, -1e300, 0], cols.Get("f64").Scalars.DoubleData.Data);
        Assert.Equal(["alpha", "", "gamma"], cols.Get("title").Scalars.StringData.Data);
        Assert.Equal([true, false, true], cols.Get("title").ValidData);
        Assert.Equal(["{\"a\":1}", "", "[1,2]"], cols.Get("meta").JsonRows());
        var nums = cols.Get("nums").Scalars.ArrayData;
        Assert.Equal(ProtoType.Int64, nums.ElementType);
        Assert.Equal([[1L, 2], [], [3L]], nums.Data.Select(d => d.LongData.Data.ToArray()));
        Assert.Equal([["x"], ["y", "z"], []], cols.Get("tags").Scalars.ArrayData.Data.Select(d => d.StringData.Data.ToArray()));
        var vec = cols.Get("vec").Vectors;
        Assert.Equal(4, vec.Dim);
        Assert.Equal(_vectors.SelectMany(v => v), vec.FloatVector.Data);
        var meta = cols.Get("$meta");
        Assert.True(meta.IsDynamic);
        Assert.Equal(["{\"color\":\"red\",\"n\":1}", "{}", "{\"color\":\"blue\"}"], meta.JsonRows());
        Assert.Contains("$meta", q.OutputFields);
        Assert.Equal("id", q.PrimaryFieldName);
    }

    [Fact]
    public async Task Query_DynamicKey_FiltersAndReturnsOnlyThatKey()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAllTypesAsync(server);
        await server.Milvus.InsertAsync(AllTypesInsert());

        var q = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest
        {
            CollectionName = "all_types",
            Expr = "color == \"red\" or color == \"blue\"",
            OutputFields = { "color" },
        });
        Assert.Equal(0, q.Status.Code);
        Assert.Equal([1L, 3], q.FieldsData.Get("id").Scalars.LongData.Data);
        Assert.Equal(["{\"color\":\"red\"}", "{\"color\":\"blue\"}"], q.FieldsData.Get("$meta").JsonRows());
        Assert.Equal(["id", "color"], q.OutputFields);
    }

    [Fact]
    public async Task Insert_AutoId_ReturnsGeneratedKeysThatQueryFinds()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateLoadedCollectionAsync("auto", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("pk", autoId: true), FieldSchema.VarChar("name", 16), FieldSchema.Vector("v", 2)],
        });
        var inserted = await server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "auto",
            NumRows = 2,
            FieldsData = { VarChar("name", "a", "b"), Vectors("v", 2, [1, 0], [0, 1]) },
        });
        Assert.Equal(0, inserted.Status.Code);
        var ids = inserted.IDs.IntId.Data.ToArray();
        Assert.Equal(2, ids.Length);
        Assert.NotEqual(ids[0], ids[1]);

        var q = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest
        {
            CollectionName = "auto",
            Expr = $"pk in [{ids[1]}]",
            OutputFields = { "name" },
        });
        Assert.Equal(["b"], q.FieldsData.Get("name").Scalars.StringData.Data);

        // Upsert on an auto-id collection takes the key given (Milvus 2.5+): it replaces that row.
        var upserted = await server.Milvus.UpsertAsync(new UpsertRequest
        {
            CollectionName = "auto",
            NumRows = 1,
            FieldsData = { Long("pk", ids[0]), VarChar("name", "a2"), Vectors("v", 2, [1, 1]) },
        });
        Assert.Equal(0, upserted.Status.Code);
        Assert.Equal(1, upserted.UpsertCnt);
        q = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "auto", Expr = $"pk == {ids[0]}", OutputFields = { "name" } });
        Assert.Equal(["a2"], q.FieldsData.Get("name").Scalars.StringData.Data);
    }

    [Fact]
    public async Task Upsert_ExistingKey_ReplacesRowAndCountStays()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAllTypesAsync(server);
        await server.Milvus.InsertAsync(AllTypesInsert());
        var upsert = AllTypesInsert();
        var request = new UpsertRequest { CollectionName = "all_types", NumRows = 3 };
        request.FieldsData.AddRange(upsert.FieldsData);
        request.FieldsData[0] = Long("id", 1, 2, 4);
        request.FieldsData[8] = VarChar("title", "new1", "new2", "new4");
        var result = await server.Milvus.UpsertAsync(request);
        Assert.Equal(0, result.Status.Code);
        Assert.Equal(3, result.UpsertCnt);

        Assert.Equal(4, await CountAsync(server, "all_types", ""));
        var q = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "all_types", Expr = "id in [1, 2, 3, 4]", OutputFields = { "title" } });
        Assert.Equal(["new1", "new2", "gamma", "new4"], q.FieldsData.Get("title").Scalars.StringData.Data);
    }

    [Fact]
    public async Task Delete_ByKeysAndByFilter_ReportsCountsAndRemovesRows()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAllTypesAsync(server);
        await server.Milvus.InsertAsync(AllTypesInsert());

        var byKeys = await server.Milvus.DeleteAsync(new DeleteRequest { CollectionName = "all_types", Expr = "id in [1, 99]" });
        Assert.Equal(0, byKeys.Status.Code);
        Assert.Equal(1, byKeys.DeleteCnt);
        Assert.Equal(2, await CountAsync(server, "all_types", ""));

        var byFilter = await server.Milvus.DeleteAsync(new DeleteRequest { CollectionName = "all_types", Expr = "f32 < 0 and flag == false" });
        Assert.Equal(0, byFilter.Status.Code);
        Assert.Equal(1, byFilter.DeleteCnt);
        Assert.Equal(1, await CountAsync(server, "all_types", ""));
        Assert.Equal(1, await CountAsync(server, "all_types", "id == 3"));

        var empty = await server.Milvus.DeleteAsync(new DeleteRequest { CollectionName = "all_types", Expr = " " });
        Assert.Equal(1100, empty.Status.Code);
    }

    [Fact]
    public async Task Query_LimitOffset_PagesInKeyOrderLikeTheSdkIterator()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateLoadedCollectionAsync("pages", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("x", Quiver.DataType.Int64), FieldSchema.Vector("v", 2)],
        });
        // Keys inserted out of order in two batches, so storage order differs from key order.
        long[] first = [50, 10, 40, 30, 20];
        long[] second = [5, 45, 25, 15, 35];
        foreach (var keys in new[] { first, second })
        {
            var r = await server.Milvus.InsertAsync(new InsertRequest
            {
                CollectionName = "pages",
                NumRows = (uint)keys.Length,
                FieldsData = { Long("id", keys), Long("x", [.. keys.Select(k => k * 2)]), Vectors("v", 2, [.. keys.Select(k => new float[] { k, 1 })]) },
            });
            Assert.Equal(0, r.Status.Code);
        }

        var window = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest
        {
            CollectionName = "pages",
            OutputFields = { "x" },
            QueryParams = { Kv("limit", "3"), Kv("offset", "2") },
        });
        Assert.Equal([15L, 20, 25], window.FieldsData.Get("id").Scalars.LongData.Data);
        Assert.Equal([30L, 40, 50], window.FieldsData.Get("x").Scalars.LongData.Data);

        // The SDK's queryIterator: each page asks for keys above the last one, with a limit.
        var seen = new List<long>();
        var last = "-9223372036854775807";
        while (true)
        {
            var page = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest
            {
                CollectionName = "pages",
                Expr = $"x >= 20 && id > {last}",
                OutputFields = { "id" },
                QueryParams = { Kv("limit", "4") },
            });
            var ids = page.FieldsData.Get("id").Scalars.LongData.Data;
            if (ids.Count == 0)
            {
                break;
            }

            seen.AddRange(ids);
            last = ids[^1].ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        Assert.Equal([10L, 15, 20, 25, 30, 35, 40, 45, 50], seen);

        var tooWide = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest
        {
            CollectionName = "pages",
            QueryParams = { Kv("limit", "16000"), Kv("offset", "1000") },
        });
        Assert.Equal(1100, tooWide.Status.Code);
        Assert.Contains("17000", tooWide.Status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadInputs_EachAnswerAMilvusErrorAndTheServerKeepsServing()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAllTypesAsync(server);

        var wrongDim = AllTypesInsert();
        wrongDim.FieldsData[12] = Vectors("vec", 3, [1, 0, 0], [0, 1, 0], [0, 0, 1]);
        var r = await server.Milvus.InsertAsync(wrongDim);
        Assert.Equal(1100, r.Status.Code);
        Assert.Contains("vec", r.Status.Reason, StringComparison.Ordinal);
        Assert.Contains("(3)", r.Status.Reason, StringComparison.Ordinal);

        var tooLong = AllTypesInsert();
        tooLong.FieldsData[8] = VarChar("title", "ok", "", new string('x', 40)).WithValid(true, false, true);
        r = await server.Milvus.InsertAsync(tooLong);
        Assert.Equal(1100, r.Status.Code);
        Assert.Contains("row 2", r.Status.Reason, StringComparison.Ordinal);
        Assert.Contains("title", r.Status.Reason, StringComparison.Ordinal);

        var unknown = AllTypesInsert();
        unknown.FieldsData.Add(Long("nope", 1, 2, 3));
        r = await server.Milvus.InsertAsync(unknown);
        Assert.Equal(1100, r.Status.Code);
        Assert.Contains("nope", r.Status.Reason, StringComparison.Ordinal);

        // Nothing of the refused batches was written.
        Assert.Equal(0, await CountAsync(server, "all_types", ""));

        var badFilter = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "all_types", Expr = "title >", OutputFields = { "title" } });
        Assert.Equal(1100, badFilter.Status.Code);

        var missing = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "no_such", Expr = "id > 0" });
        Assert.Equal(100, missing.Status.Code);

        await server.CreateLoadedCollectionAsync("fixed", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 2)] });
        var unknownOutput = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "fixed", Expr = "id > 0", OutputFields = { "ghost" } });
        Assert.Equal(1100, unknownOutput.Status.Code);
        Assert.Contains("ghost", unknownOutput.Status.Reason, StringComparison.Ordinal);

        var noLimit = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "fixed" });
        Assert.Equal(1100, noLimit.Status.Code);

        var ok = await server.Milvus.InsertAsync(AllTypesInsert());
        Assert.Equal(0, ok.Status.Code);
        Assert.Equal(3, await CountAsync(server, "all_types", ""));
    }

    [Fact]
    public async Task Delete_AndQuery_InAPartition_TouchOnlyThatPartition()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAllTypesAsync(server);
        await server.Server.Engine.CreatePartitionAsync("all_types", "p1");
        var insert = AllTypesInsert();
        insert.PartitionName = "p1";
        Assert.Equal(0, (await server.Milvus.InsertAsync(insert)).Status.Code);
        var other = AllTypesInsert();
        other.FieldsData[0] = Long("id", 11, 12, 13);
        Assert.Equal(0, (await server.Milvus.InsertAsync(other)).Status.Code);

        var q = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest
        {
            CollectionName = "all_types",
            Expr = "id > 0",
            PartitionNames = { "p1" },
            OutputFields = { "id" },
        });
        Assert.Equal([1L, 2, 3], q.FieldsData.Get("id").Scalars.LongData.Data);

        var d = await server.Milvus.DeleteAsync(new DeleteRequest { CollectionName = "all_types", Expr = "flag == true", PartitionName = "_default" });
        Assert.Equal(2, d.DeleteCnt);
        Assert.Equal(4, await CountAsync(server, "all_types", ""));
    }

    internal static async Task<long> CountAsync(TestServer server, string collection, string expr)
    {
        var q = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = collection, Expr = expr, OutputFields = { "count(*)" } });
        Assert.Equal(0, q.Status.Code);
        var column = Assert.Single(q.FieldsData);
        Assert.Equal("count(*)", column.FieldName);
        Assert.Equal(["count(*)"], q.OutputFields);
        return Assert.Single(column.Scalars.LongData.Data);
    }
}
