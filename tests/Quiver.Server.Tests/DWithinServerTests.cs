using System.Globalization;
using System.Text;
using System.Text.Json;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using static Quiver.Server.Tests.Data.Columns;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests;

/// <summary>ST_DWITHIN through the server as a Milvus client sends it: GEOMETRY rows inserted as WKT over gRPC, then
/// filtered over gRPC (Query) and REST (entities/query) against distances computed here by Milvus's rule (haversine on
/// a 6,371,000 m sphere for stored points, planar degrees times 111,320 · √((1 + cos² φ) / 2) for other kinds); a bad
/// argument answers code 1100 naming it.</summary>
public sealed class DWithinServerTests
{
    private static readonly string[] Wkts =
    [
        "POINT (13.4 52.52)",       // 1: the query point itself
        "POINT (13.41 52.52)",      // 2: 0.01° of longitude east
        "POINT (13.5 52.6)",        // 3: farther
        "LINESTRING (13.4 52.53, 13.5 52.53)", // 4: 0.01° north, planar
        "POLYGON ((13 52, 14 52, 14 53, 13 53, 13 52))", // 5: holds the query point
        "MULTIPOINT ((13.4 52.5))", // 6: 0.02° south, planar
    ];

    private static double Haversine(double lon1, double lat1, double lon2, double lat2)
    {
        double Rad(double d) => d * Math.PI / 180;
        var a = Math.Pow(Math.Sin((Rad(lat2) - Rad(lat1)) / 2), 2) + (Math.Cos(Rad(lat1)) * Math.Cos(Rad(lat2)) * Math.Pow(Math.Sin((Rad(lon2) - Rad(lon1)) / 2), 2));
        return 2 * 6371000.0 * Math.Asin(Math.Sqrt(a));
    }

    private static long[] Expected(double meters)
    {
        var c = Math.Cos(52.52 * Math.PI / 180);
        var perDegree = 111320.0 * Math.Sqrt((1 + (c * c)) / 2);
        double[] distances =
        [
            0,
            Haversine(13.41, 52.52, 13.4, 52.52),
            Haversine(13.5, 52.6, 13.4, 52.52),
            0.01 * perDegree,
            0,
            0.02 * perDegree,
        ];
        return [.. distances.Select((d, i) => (d, Id: i + 1L)).Where(x => x.d <= meters).Select(x => x.Id)];
    }

    /// <summary>REST writes an Int64 key as a JSON string (as Milvus does, for JavaScript's sake) or a number.</summary>
    private static long Id(JsonElement e) => e.ValueKind == JsonValueKind.String ? long.Parse(e.GetString()!, CultureInfo.InvariantCulture) : e.GetInt64();

    private static async Task<TestServer> StartAsync()
    {
        var server = await TestServer.StartAsync();
        await server.CreateLoadedCollectionAsync("places", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"),
                new FieldSchema { Name = "geo", DataType = Quiver.DataType.Geometry, Nullable = true },
                FieldSchema.Vector("v", 2, MetricType.L2),
            ],
        });
        var rows = Wkts.Length + 1; // and a null row, id 7
        var insert = await server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "places",
            NumRows = (uint)rows,
            FieldsData =
            {
                Long("id", [.. Enumerable.Range(1, rows).Select(i => (long)i)]),
                new FieldData
                {
                    FieldName = "geo", Type = ProtoType.Geometry,
                    Scalars = new ScalarField { GeometryWktData = new GeometryWktArray { Data = { Wkts.Append("") } } },
                    ValidData = { Enumerable.Range(0, rows).Select(i => i < Wkts.Length) },
                },
                Vectors("v", 2, [.. Enumerable.Range(0, rows).Select(i => new[] { (float)i, 0f })]),
            },
        });
        Assert.True(insert.Status.Code == 0, insert.Status.Reason);
        return server;
    }

    [Fact]
    public async Task Grpc_AndRest_KeepTheRowsWithinTheDistance()
    {
        await using var server = await StartAsync();
        foreach (var meters in new[] { 0.0, 600, 700, 1200, 1500, 2300, 12_000 })
        {
            var filter = $"ST_DWITHIN(geo, 'POINT (13.4 52.52)', {meters.ToString(CultureInfo.InvariantCulture)})";
            var expected = Expected(meters);

            var grpc = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "places", Expr = filter, OutputFields = { "id" } });
            Assert.True(grpc.Status.Code == 0, grpc.Status.Reason);
            Assert.Equal(expected, grpc.FieldsData.Get("id").Scalars.LongData.Data.Order().ToArray());

            var body = JsonSerializer.Serialize(new { collectionName = "places", filter, outputFields = new[] { "id" }, limit = 100 });
            using var response = await server.Http.PostAsync("/v2/vectordb/entities/query", new StringContent(body, Encoding.UTF8, "application/json"));
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(0, json.RootElement.GetProperty("code").GetInt32());
            Assert.Equal(expected, json.RootElement.GetProperty("data").EnumerateArray().Select(r => Id(r.GetProperty("id"))).Order().ToArray());
        }

        // The thresholds above split the rows differently: the oracle is not trivially all or nothing.
        Assert.Equal(2, Expected(0).Length);
        Assert.Equal(Wkts.Length, Expected(12_000).Length);
    }

    [Theory]
    [InlineData("ST_DWITHIN(geo, 'POLYGON ((0 0, 1 0, 1 1, 0 0))', 10)", "must be a POINT (longitude latitude), not a POLYGON")]
    [InlineData("ST_DWITHIN(geo, 'POINT (1 1)', -1)", "must be a finite number of meters, not negative, got -1")]
    [InlineData("ST_DWITHIN(geo, 'POINT (1 1)', 'far')", "must be a constant distance in meters")]
    [InlineData("ST_DWITHIN(geo, 'POINT (1 1)')", "ST_DWITHIN takes 3 arguments, got 2")]
    public async Task BadArguments_Answer1100NamingTheProblem(string filter, string what)
    {
        await using var server = await StartAsync();
        var result = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "places", Expr = filter });
        Assert.Equal(1100, result.Status.Code);
        Assert.Contains(what, result.Status.Reason, StringComparison.Ordinal);
    }
}
