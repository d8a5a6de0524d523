using System.Buffers.Binary;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Protocol.Common;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Testing;
using Xunit.Abstractions;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests.Fuzz;

/// <summary>
/// Fuzzes the values of Milvus 2.6's new types over both wires: FLOAT16, BFLOAT16, INT8 and BINARY vectors (garbage
/// bytes, wrong lengths, NaN and infinity bit patterns, out-of-range numbers), SPARSE_FLOAT_VECTOR (torn pairs, the
/// reserved index 2^32-1, unsorted or repeated indices, NaN), GEOMETRY (bad WKT, garbage WKB), TIMESTAMPTZ (impossible
/// dates, offsets and zone names that do not exist, extreme integers) and nullable fields (validity masks that disagree
/// with the data), in inserts, upserts, searches (placeholder groups, REST data) and filters (every spatial operator with
/// odd WKT, ST_DWITHIN with good and bad points, distances and arities, mixed-case operator names, TIMESTAMPTZ INTERVAL
/// arithmetic with durations Milvus takes and ones it refuses). Every answer must be a
/// success or a named Milvus code (a constant of <c>MilvusCode</c>, never 65535) with a message; an input the case knows
/// is malformed must be refused and an input it left clean must be accepted; after every batch the server answers its
/// health checks; and at the end the rows stored under the fuzz key range are exactly those of the accepted writes (a
/// refused write stores nothing). A failure names the seed and case; <see cref="NewTypeCase.Make"/> rebuilds it.
/// </summary>
public sealed class NewTypeFuzzTests(ITestOutputHelper output)
{
    private const int Batch = 100;

    private static readonly HashSet<int> _namedCodes = [.. typeof(Milvus.MilvusCode)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(int))
        .Select(f => (int)f.GetRawConstantValue()!)
        .Where(c => c is not (Milvus.MilvusCode.Unexpected or Milvus.MilvusCode.Success))];

    [Fact]
    public Task NewTypes_CiTier_NamedCodesOnly_MalformedRefused_CleanAccepted() => RunAsync(1401, 500);

    [Fact]
    [Trait("Category", "Long")]
    public Task NewTypes_LongTier_NamedCodesOnly_MalformedRefused_CleanAccepted() => RunAsync(1402, TestTier.Pick(500, 200_000));

    [Fact]
    public void Cases_AreRebuiltExactlyFromSeedAndIndex()
    {
        for (var i = 0; i < 2_000; i++)
        {
            var a = NewTypeCase.Make(3, i);
            var b = NewTypeCase.Make(3, i);
            Assert.Equal((a.Wire.Method, a.Expect, a.Rows), (b.Wire.Method, b.Expect, b.Rows));
            Assert.Equal(a.Wire.Payload, b.Wire.Payload);
        }
    }

    private async Task RunAsync(int seed, int cases)
    {
        await using var fuzzer = await WireFuzzer.StartAsync();
        await NewTypeCase.CreateFixtureAsync(fuzzer.Server);
        var failures = new List<string>();
        long accepted = 0;
        var refused = 0;
        for (var start = 0; start < cases && failures.Count < 20; start += Batch)
        {
            var batch = Enumerable.Range(start, Math.Min(Batch, cases - start)).Select(i => NewTypeCase.Make(seed, i)).ToList();
            var verdicts = new FuzzVerdict[batch.Count];
            await Parallel.ForAsync(0, batch.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) => verdicts[i] = await fuzzer.RunCaseAsync(batch[i].Wire));
            for (var i = 0; i < batch.Count; i++)
            {
                var (c, v) = (batch[i], verdicts[i]);
                var problem = v.Failure
                    ?? (v.Code != 0 && !_namedCodes.Contains(v.Code) ? $"code {v.Code} is not a named Milvus code" : null)
                    ?? (c.Expect == Expectation.Refused && v.Code == 0 ? "a malformed input was accepted" : null)
                    ?? (c.Expect == Expectation.Accepted && v.Code != 0 ? $"a clean input was refused with code {v.Code}" : null);
                if (problem is not null)
                {
                    failures.Add($"{c.What}\n{c.Wire.Describe()}\n  answer: {problem} {v.Reason}");
                }

                accepted += v.Code == 0 ? c.Rows : 0;
                refused += v.Code != 0 ? 1 : 0;
            }

            if (await fuzzer.HealthProblemAsync() is { } health)
            {
                failures.Add($"seed {seed}: after cases {start}..{start + batch.Count - 1} the server no longer answers: {health}");
                break;
            }
        }

        var stored = failures.Count == 0 ? await NewTypeCase.FuzzRowsAsync(fuzzer.Server) : accepted;
        output.WriteLine($"new-type fuzz: seed {seed}, {cases} cases, {refused} refused, {accepted} rows accepted, {stored} stored, {failures.Count} failures");
        Assert.True(failures.Count == 0, $"{failures.Count} failing cases (seed {seed}; NewTypeCase.Make(seed, case) rebuilds each):\n" + string.Join("\n\n", failures));
        Assert.Equal(accepted, stored);
    }
}

/// <summary>What a case's input is known to be.</summary>
internal enum Expectation
{
    /// <summary>Left clean: must be accepted.</summary>
    Accepted,

    /// <summary>Certainly malformed (Milvus refuses it): must be refused.</summary>
    Refused,

    /// <summary>Edge values either answer may meet (NaN in a half float, a validity mask of the wrong length): any named code.</summary>
    Either,
}

/// <summary>One new-type fuzz case: the wire input, what it is known to be, the rows it writes when accepted.</summary>
internal sealed record NewTypeCase(FuzzCase Wire, Expectation Expect, int Rows, string What)
{
    public const string Collection = "fz_new";

    /// <summary>Keys of fuzz writes start here (each case has its own four), so the fixture's rows never collide.</summary>
    private const long KeyBase = 1_000_000;

    private const int Dim = 4;
    private const int Bits = 16;

    private static readonly FuzzField[] _fields =
    [
        new("id", ProtoType.Int64) { Primary = true },
        new("fv", ProtoType.FloatVector) { Dim = Dim, Nullable = true },
        new("f16", ProtoType.Float16Vector) { Dim = Dim },
        new("bf16", ProtoType.Bfloat16Vector) { Dim = Dim },
        new("i8", ProtoType.Int8Vector) { Dim = Dim },
        new("bin", ProtoType.BinaryVector) { Dim = Bits },
        new("sp", ProtoType.SparseFloatVector),
        new("geo", ProtoType.Geometry) { Nullable = true },
        new("tsz", ProtoType.Timestamptz) { Nullable = true },
    ];

    private static readonly (string Field, string Index, string Metric)[] _indexes =
    [
        ("fv", "FLAT", "COSINE"), ("f16", "FLAT", "L2"), ("bf16", "FLAT", "IP"), ("i8", "HNSW", "L2"), ("bin", "BIN_FLAT", "HAMMING"),
        ("sp", "SPARSE_INVERTED_INDEX", "IP"),
    ];

    private static readonly string[] _badWkt = ["POINT (1)", "NOT WKT", "LINESTRING (0 0", "POINT (a b)", "POLYGON ((0 0, 1 1, 0 0)", "POINT (1 2) extra"];
    private static readonly string[] _oddWkt = ["", "POINT EMPTY", "POINT (1e308 1e308)", "POLYGON ((0 0, 1 1, 0 0))", "GEOMETRYCOLLECTION EMPTY", "point(1 2)", "POINT (nan nan)"];
    private static readonly string[] _badTime =
        ["2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z", "yesterday", "2025-01-01T00:00:00+25:00", "2025-01-01T00:00:00 Mars/Olympus", "2025-01-01T24:00:01Z", "--"];
    private static readonly string[] _oddTime = ["", "2025-01-01", "2025-01-01 00:00:00", "9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00Z", "2025-01-01T00:00:00-14:00"];
    private static readonly string[] _relations = ["ST_INTERSECTS", "ST_CONTAINS", "ST_WITHIN", "ST_EQUALS", "ST_TOUCHES", "ST_CROSSES", "ST_OVERLAPS"];
    private static readonly ushort[] _oddHalves = [0x7E00, 0x7C00, 0xFC00, 0x7FC0, 0xFF80, 0x0001, 0xFFFF];

    /// <summary>Case <paramref name="index"/> of the run seeded <paramref name="seed"/>.</summary>
    public static NewTypeCase Make(int seed, long index)
    {
        var r = new Random(unchecked((seed * 999_983) ^ (int)index * 7907));
        var key = KeyBase + (index * 4);
        return r.Next(4) switch
        {
            0 or 1 => GrpcWrite(r, seed, index, key),
            2 => RestWrite(r, seed, index, key),
            _ => Read(r, seed, index),
        };
    }

    /// <summary>The rows stored under the fuzz key range.</summary>
    public static async Task<long> FuzzRowsAsync(TestServer server)
    {
        var answer = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest
        {
            CollectionName = Collection, Expr = $"id >= {KeyBase}", OutputFields = { "count(*)" }, ConsistencyLevel = Protocol.Common.ConsistencyLevel.Strong,
        });
        Assert.Equal(0, answer.Status.Code);
        return answer.FieldsData.Single().Scalars.LongData.Data[0];
    }

    /// <summary>Creates, indexes and loads <see cref="Collection"/> with 20 clean rows.</summary>
    public static async Task CreateFixtureAsync(TestServer server)
    {
        var schema = new Protocol.Schema.CollectionSchema { Name = Collection, Fields = { _fields.Select(f => f.ToProto()) } };
        Check(await server.Milvus.CreateCollectionAsync(new CreateCollectionRequest { CollectionName = Collection, Schema = schema.ToByteString(), ShardsNum = 1 }));
        var insert = new InsertRequest { CollectionName = Collection, NumRows = 20 };
        insert.FieldsData.AddRange(Columns(new Random(5), 0, 20, corrupt: null));
        Check((await server.Milvus.InsertAsync(insert)).Status);
        foreach (var (field, index, metric) in _indexes)
        {
            var create = new CreateIndexRequest { CollectionName = Collection, FieldName = field, IndexName = field };
            create.ExtraParams.Add(new KeyValuePair { Key = "index_type", Value = index });
            create.ExtraParams.Add(new KeyValuePair { Key = "metric_type", Value = metric });
            Check(await server.Milvus.CreateIndexAsync(create));
        }

        Check(await server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = Collection }));
    }

    private static void Check(Status status) =>
        Assert.True(status.Code == 0, $"new-type fuzz fixture: code {status.Code}: {status.Reason}");

    private static NewTypeCase GrpcWrite(Random r, int seed, long index, long key)
    {
        var rows = r.Next(1, 5);
        var corrupt = r.Chance(0.15) ? null : r.Pick(_fields.Where(f => !f.Primary).ToArray());
        var (columns, expect, what) = (Columns(r, key, rows, corrupt, out var e, out var w), e, w);
        var upsert = r.Chance(0.3);
        IMessage request = upsert
            ? new UpsertRequest { CollectionName = Collection, NumRows = (uint)rows, FieldsData = { columns } }
            : new InsertRequest { CollectionName = Collection, NumRows = (uint)rows, FieldsData = { columns } };
        return new(new FuzzCase(seed, index, FuzzSurface.Grpc, upsert ? "Upsert" : "Insert", request.ToByteArray(), false), expect, rows, what);
    }

    private static List<FieldData> Columns(Random r, long key, int rows, FuzzField? corrupt) => Columns(r, key, rows, corrupt, out _, out _);

    /// <summary>Clean columns for <paramref name="rows"/> rows from <paramref name="key"/>, one of them
    /// (<paramref name="corrupt"/>) given edge or malformed values.</summary>
    private static List<FieldData> Columns(Random r, long key, int rows, FuzzField? corrupt, out Expectation expect, out string what)
    {
        expect = Expectation.Accepted;
        what = "clean rows";
        var columns = new List<FieldData>();
        foreach (var f in _fields)
        {
            var column = new FieldData { FieldName = f.Name, Type = f.Type };
            if (f.Primary)
            {
                column.Scalars = new ScalarField { LongData = new LongArray { Data = { Enumerable.Range(0, rows).Select(i => key + i) } } };
            }
            else if (f == corrupt)
            {
                (expect, what) = Corrupt(r, column, f, rows);
            }
            else
            {
                Clean(r, column, f, rows);
            }

            columns.Add(column);
        }

        return columns;
    }

    private static void Clean(Random r, FieldData column, FuzzField f, int rows)
    {
        switch (f.Type)
        {
            case ProtoType.FloatVector:
                column.Vectors = new VectorField { Dim = Dim, FloatVector = new FloatArray { Data = { Enumerable.Range(0, rows * Dim).Select(_ => (float)r.NextDouble() + 0.1f) } } };
                break;
            case ProtoType.Float16Vector or ProtoType.Bfloat16Vector:
                var halves = new byte[rows * Dim * 2];
                for (var i = 0; i < rows * Dim; i++)
                {
                    var x = (float)((r.NextDouble() * 2) - 1);
                    var bits = f.Type == ProtoType.Float16Vector ? BitConverter.HalfToUInt16Bits((Half)x) : (ushort)(BitConverter.SingleToUInt32Bits(x) >> 16);
                    BinaryPrimitives.WriteUInt16LittleEndian(halves.AsSpan(i * 2), bits);
                }

                column.Vectors = f.Type == ProtoType.Float16Vector
                    ? new VectorField { Dim = Dim, Float16Vector = ByteString.CopyFrom(halves) }
                    : new VectorField { Dim = Dim, Bfloat16Vector = ByteString.CopyFrom(halves) };
                break;
            case ProtoType.Int8Vector:
                column.Vectors = new VectorField { Dim = Dim, Int8Vector = ByteString.CopyFrom([.. Enumerable.Range(0, rows * Dim).Select(_ => (byte)r.Next(1, 256))]) };
                break;
            case ProtoType.BinaryVector:
                column.Vectors = new VectorField { Dim = Bits, BinaryVector = ByteString.CopyFrom([.. Enumerable.Range(0, rows * Bits / 8).Select(_ => (byte)r.Next(256))]) };
                break;
            case ProtoType.SparseFloatVector:
                column.Vectors = new VectorField { Dim = 1000, SparseFloatVector = new SparseFloatArray { Dim = 1000, Contents = { Enumerable.Range(0, rows).Select(_ => Sparse(((uint)r.Next(0, 500), 0.5f), ((uint)r.Next(500, 1000), 1.5f))) } } };
                break;
            case ProtoType.Geometry:
                column.Scalars = new ScalarField { GeometryWktData = new GeometryWktArray { Data = { Enumerable.Range(0, rows).Select(i => $"POINT ({i} {r.Next(90)})") } } };
                column.ValidData.AddRange(Enumerable.Repeat(true, rows));
                break;
            case ProtoType.Timestamptz:
                column.Scalars = new ScalarField { StringData = new StringArray { Data = { Enumerable.Range(0, rows).Select(i => $"2025-0{1 + r.Next(9)}-{10 + (i % 18)}T08:30:00+02:00") } } };
                column.ValidData.AddRange(Enumerable.Repeat(true, rows));
                break;
        }

        if (f.Nullable && column.ValidData.Count == 0)
        {
            column.ValidData.AddRange(Enumerable.Repeat(true, rows));
        }
    }

    /// <summary>A sparse row in Milvus's wire form: (uint32 index, float32 value) pairs, little-endian, as given.</summary>
    private static ByteString Sparse(params (uint Index, float Value)[] pairs) => ErrorTableTests.SparsePairs(pairs);

    /// <summary>Fills <paramref name="column"/> with an edge or malformed value of its type; answers what the case is.</summary>
    private static (Expectation, string) Corrupt(Random r, FieldData column, FuzzField f, int rows)
    {
        Clean(r, column, f, rows);
        switch (f.Type)
        {
            case ProtoType.Float16Vector or ProtoType.Bfloat16Vector or ProtoType.Int8Vector or ProtoType.BinaryVector:
                var width = f.Type == ProtoType.BinaryVector ? Bits / 8 : f.Type == ProtoType.Int8Vector ? Dim : Dim * 2;
                var raw = f.Type switch
                {
                    ProtoType.Float16Vector => column.Vectors.Float16Vector,
                    ProtoType.Bfloat16Vector => column.Vectors.Bfloat16Vector,
                    ProtoType.Int8Vector => column.Vectors.Int8Vector,
                    _ => column.Vectors.BinaryVector,
                };
                var bytes = raw.ToByteArray();
                Expectation expect;
                string what;
                switch (r.Next(4))
                {
                    case 0:
                        bytes = [.. Enumerable.Range(0, r.Pick([0, 1, (rows * width) - 1, (rows * width) + 1, rows * width * 3, 70_000])).Select(_ => (byte)r.Next(256))];
                        (expect, what) = (bytes.Length == rows * width ? Expectation.Either : Expectation.Refused, $"{f.Name}: {bytes.Length} garbage bytes for {rows} rows");
                        break;
                    case 1:
                        column.Vectors.Dim = r.Pick([0, -1, 3, 5, 64, long.MaxValue]);
                        // dim 0 too: Milvus's CheckAligned requires the schema's dim, whatever the bytes.
                        (expect, what) = (Expectation.Refused, $"{f.Name}: dim {column.Vectors.Dim}");
                        break;
                    case 2 when f.Type is ProtoType.Float16Vector or ProtoType.Bfloat16Vector:
                        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * r.Next(rows * Dim)), r.Pick(_oddHalves));
                        (expect, what) = (Expectation.Either, $"{f.Name}: a NaN, infinity or subnormal bit pattern");
                        break;
                    default:
                        bytes[r.Next(bytes.Length)] = (byte)r.Next(256);
                        (expect, what) = (Expectation.Accepted, $"{f.Name}: a changed byte (any bits are a value of {f.Type}, but NaN)");
                        if (f.Type is ProtoType.Float16Vector or ProtoType.Bfloat16Vector)
                        {
                            expect = Expectation.Either;
                        }

                        break;
                }

                var data = ByteString.CopyFrom(bytes);
                var dim = column.Vectors.Dim;
                column.Vectors = f.Type switch
                {
                    ProtoType.Float16Vector => new VectorField { Dim = dim, Float16Vector = data },
                    ProtoType.Bfloat16Vector => new VectorField { Dim = dim, Bfloat16Vector = data },
                    ProtoType.Int8Vector => new VectorField { Dim = dim, Int8Vector = data },
                    _ => new VectorField { Dim = dim, BinaryVector = data },
                };
                return (expect, what);
            case ProtoType.SparseFloatVector:
                var contents = column.Vectors.SparseFloatVector.Contents;
                var at = r.Next(rows);
                (ByteString Row, Expectation Expect, string What) pick = r.Next(6) switch
                {
                    0 => (ByteString.CopyFrom([.. Enumerable.Range(0, r.Pick([1, 7, 9, 15])).Select(_ => (byte)r.Next(256))]), Expectation.Refused, "sp: a torn pair"),
                    1 => (Sparse((uint.MaxValue, 1f)), Expectation.Refused, "sp: index 2^32-1"),
                    2 => (Sparse((9u, 1f), (3u, 1f)), Expectation.Refused, "sp: unsorted indices"),
                    3 => (Sparse((4u, 1f), (4u, 2f)), Expectation.Refused, "sp: a repeated index"),
                    4 => (Sparse((4u, r.Pick([float.NaN, float.PositiveInfinity, float.NegativeInfinity]))), Expectation.Refused, "sp: a NaN or infinite value"),
                    _ => (Sparse((uint.MaxValue - 1, r.Pick([-1f, 0f, float.Epsilon, float.MaxValue]))), Expectation.Either, "sp: a huge index with an edge value"),
                };
                contents[at] = pick.Row;
                return (pick.Expect, pick.What);
            case ProtoType.Geometry:
                if (r.Chance(0.3))
                {
                    column.Scalars = new ScalarField { GeometryData = new GeometryArray { Data = { Enumerable.Range(0, rows).Select(_ => ByteString.CopyFrom([.. Enumerable.Range(0, r.Next(0, 30)).Select(_ => (byte)r.Next(256))])) } } };
                    return (Expectation.Either, "geo: garbage WKB");
                }

                var bad = r.Chance(0.6);
                var wkt = bad ? r.Pick(_badWkt) : r.Pick(_oddWkt);
                column.Scalars.GeometryWktData.Data[r.Next(rows)] = wkt;
                return (bad ? Expectation.Refused : Expectation.Either, $"geo: '{wkt}'");
            case ProtoType.Timestamptz:
                if (r.Chance(0.3))
                {
                    column.Scalars = new ScalarField { TimestamptzData = new TimestamptzArray { Data = { Enumerable.Range(0, rows).Select(_ => r.Pick([long.MaxValue, long.MinValue, 0L, -1L, 253_402_300_800_000_000L])) } } };
                    return (Expectation.Either, "tsz: extreme integers");
                }

                var wrong = r.Chance(0.6);
                var text = wrong ? r.Pick(_badTime) : r.Pick(_oddTime);
                column.Scalars.StringData.Data[r.Next(rows)] = text;
                return (wrong ? Expectation.Refused : Expectation.Either, $"tsz: '{text}'");
            default:
                // Nullable fields: a validity mask that disagrees with the data.
                column.ValidData.Clear();
                column.ValidData.AddRange(Enumerable.Range(0, rows + r.Pick([-1, 1, 0])).Select(_ => r.Chance(0.6)));
                return (Expectation.Either, $"{f.Name}: valid_data of {column.ValidData.Count} for {rows} rows");
        }
    }

    private static NewTypeCase RestWrite(Random r, int seed, long index, long key)
    {
        var rows = r.Next(1, 4);
        var data = new JsonArray();
        var expect = Expectation.Accepted;
        var what = "clean REST rows";
        var bad = r.Chance(0.85) ? r.Next(1, _fields.Length) : -1;
        for (var i = 0; i < rows; i++)
        {
            var row = new JsonObject
            {
                ["id"] = key + i,
                ["fv"] = new JsonArray(0.5, 0.25, 0.125, 1),
                ["f16"] = new JsonArray(0.5, -1, 2, 0.25),
                ["bf16"] = new JsonArray(1.5, -1, 0, 0.25),
                ["i8"] = new JsonArray(1, -128, 127, 0),
                ["bin"] = new JsonArray(255, 1),
                ["sp"] = new JsonObject { ["3"] = 0.5, ["17"] = 1 },
                ["geo"] = "POINT (1 2)",
                ["tsz"] = "2025-06-01T12:00:00Z",
            };
            if (i == 0 && bad > 0)
            {
                var name = _fields[bad].Name;
                (JsonNode? Value, Expectation Expect) pick = name switch
                {
                    "fv" => r.Pick<(JsonNode?, Expectation)>([(null, Expectation.Accepted), (new JsonArray(1, 2), Expectation.Refused), (JsonValue.Create("NaN"), Expectation.Refused)]),
                    "f16" or "bf16" => r.Pick<(JsonNode?, Expectation)>([(new JsonArray(1, 2, 3), Expectation.Refused), (JsonValue.Create("AAEC"), Expectation.Refused), (new JsonArray(1e10, 0, 0, 0), Expectation.Either), (JsonValue.Create("!!"), Expectation.Refused)]),
                    "i8" => r.Pick<(JsonNode?, Expectation)>([(new JsonArray(300, 0, 0, 0), Expectation.Refused), (new JsonArray(-129, 0, 0, 0), Expectation.Refused), (new JsonArray(1.5, 0, 0, 0), Expectation.Refused), (new JsonArray(1, 2), Expectation.Refused)]),
                    "bin" => r.Pick<(JsonNode?, Expectation)>([(new JsonArray(256, 0), Expectation.Refused), (new JsonArray(1), Expectation.Refused), (JsonValue.Create("AAAA"), Expectation.Refused)]),
                    "sp" => r.Pick<(JsonNode?, Expectation)>([(new JsonObject { ["4294967295"] = 1 }, Expectation.Refused), (new JsonObject { ["x"] = 1 }, Expectation.Refused), (new JsonObject { ["-1"] = 1 }, Expectation.Refused), (new JsonObject { ["indices"] = new JsonArray(1, 1), ["values"] = new JsonArray(1) }, Expectation.Refused), (new JsonObject { ["99999999999"] = 1 }, Expectation.Refused)]),
                    "geo" => r.Chance(0.6) ? (JsonValue.Create(r.Pick(_badWkt)), Expectation.Refused) : (JsonValue.Create(r.Pick(_oddWkt)), Expectation.Either),
                    _ => r.Chance(0.6) ? (JsonValue.Create(r.Pick(_badTime)), Expectation.Refused) : (r.Chance(0.5) ? JsonValue.Create(r.Pick(_oddTime)) : JsonValue.Create(long.MaxValue), Expectation.Either),
                };
                row[name] = pick.Value;
                expect = pick.Expect;
                what = $"REST {name}: {pick.Value?.ToJsonString() ?? "null"}";
            }

            data.Add(row);
        }

        var body = new JsonObject { ["collectionName"] = Collection, ["data"] = data };
        return new(new FuzzCase(seed, index, FuzzSurface.Rest, r.Chance(0.3) ? "/entities/upsert" : "/entities/insert", Encoding.UTF8.GetBytes(body.ToJsonString()), false), expect, rows, what);
    }

    private static NewTypeCase Read(Random r, int seed, long index)
    {
        var (field, _, metric) = r.Pick(_indexes);
        var filters = new (string Text, Expectation Expect)[]
        {
            ("", Expectation.Accepted),
            ("tsz > ISO '2025-01-01T00:00:00Z'", Expectation.Accepted),
            ($"tsz > ISO '{r.Pick(_badTime)}'", Expectation.Refused),
            ("ST_WITHIN(geo, 'POLYGON ((0 0, 100 0, 100 100, 0 100, 0 0))')", Expectation.Accepted),
            ($"ST_CONTAINS(geo, '{r.Pick(_badWkt)}')", Expectation.Refused),
            ("geo is null or tsz is not null", Expectation.Accepted),
            ($"{r.Pick(_relations)}(geo, '{r.Pick(_oddWkt)}')", Expectation.Either),
            ($"{r.Pick(_relations).ToLowerInvariant()}(geo, 'LINESTRING (0 0, {1 + r.Next(100)} {1 + r.Next(89)})')", Expectation.Accepted),
            ("ST_Overlaps(geo, 'POINT (1 2)')", Expectation.Refused),
            ($"ST_DWITHIN(geo, 'POINT ({r.Next(-180, 181)} {r.Next(-90, 91)})', {r.Pick(["0", "1000", "2.5e6", "1e300"])})", Expectation.Accepted),
            ($"ST_DWITHIN(geo, 'POINT (1 2)', {r.Pick(["-1", "1e400", "tsz", "'far'", "1000, 3", "NaN"])})", Expectation.Refused),
            ($"ST_DWITHIN(geo, '{r.Pick([.. _badWkt, "POINT EMPTY", "LINESTRING (0 0, 1 1)", "POLYGON ((0 0, 1 0, 1 1, 0 0))"])}', 10)", Expectation.Refused),
            ($"ST_DWITHIN(tsz, 'POINT (1 2)', 10) or ST_CROSSES(i8, 'POINT (1 2)')", Expectation.Refused),
            ($"tsz + INTERVAL '{r.Pick(["P1D", "PT90M", "-P2W", "PT0.5S", "P1DT2H"])}' > ISO '2025-03-01T00:00:00Z'", Expectation.Accepted),
            ($"tsz - INTERVAL '{r.Pick(["P1M", "P1Y", "PT", "1 day", ""])}' < ISO '2025-03-01T00:00:00Z'", Expectation.Refused),
        };
        var (filter, expect) = r.Pick(filters);
        var what = $"search {field} filter '{filter}'";
        if (r.Chance(0.5))
        {
            var group = new PlaceholderGroup();
            var value = new PlaceholderValue { Tag = "$0", Type = PlaceholderOf(field) };
            var width = field switch { "fv" => Dim * 4, "f16" or "bf16" => Dim * 2, "i8" => Dim, "bin" => Bits / 8, _ => 8 };
            var malformed = r.Chance(0.6);
            if (field == "sp")
            {
                value.Values.Add(malformed ? r.Pick([Sparse((uint.MaxValue, 1f)), Sparse((5u, float.NaN)), Sparse((9u, 1f), (2u, 1f)), ByteString.CopyFrom(1, 2, 3)]) : Sparse((3u, 1f), (40u, 0.5f)));
            }
            else
            {
                var length = malformed ? r.Pick([0, width - 1, width + 1, width * 5]) : width;
                value.Values.Add(ByteString.CopyFrom([.. Enumerable.Range(0, length).Select(i => field == "fv" && i % 4 == 3 ? (byte)0x3F : (byte)r.Next(1, 64))]));
            }

            group.Placeholders.Add(value);
            var search = new Protocol.Milvus.SearchRequest
            {
                CollectionName = Collection, Nq = 1, Dsl = filter, DslType = DslType.BoolExprV1, PlaceholderGroup = group.ToByteString(),
                SearchParams =
                {
                    new KeyValuePair { Key = "anns_field", Value = field }, new KeyValuePair { Key = "topk", Value = "5" },
                    new KeyValuePair { Key = "metric_type", Value = metric }, new KeyValuePair { Key = "params", Value = "{}" },
                },
            };
            var known = malformed ? Expectation.Refused : expect;
            return new(new FuzzCase(seed, index, FuzzSurface.Grpc, "Search", search.ToByteArray(), false), known, 0, what + (malformed ? " with a malformed query vector" : ""));
        }

        var (data, malformedRest) = field switch
        {
            "sp" => r.Chance(0.5) ? ((JsonNode)new JsonObject { ["4294967295"] = 1 }, true) : (new JsonObject { ["3"] = 1 }, false),
            "bin" => r.Chance(0.5) ? ((JsonNode)new JsonArray(1, 2, 3), true) : (new JsonArray(1, 2), false),
            "i8" => r.Chance(0.5) ? ((JsonNode)new JsonArray(200, 0, 0, 0), true) : (new JsonArray(1, 2, 3, 4), false),
            _ => r.Chance(0.5) ? ((JsonNode)new JsonArray(1, 2), true) : (new JsonArray(0.5, 0.25, 0.5, 1), false),
        };
        var body = new JsonObject
        {
            ["collectionName"] = Collection, ["data"] = new JsonArray(data), ["annsField"] = field, ["limit"] = 5, ["filter"] = filter,
            ["outputFields"] = new JsonArray("geo", "tsz", "i8"),
        };
        return new(new FuzzCase(seed, index, FuzzSurface.Rest, "/entities/search", Encoding.UTF8.GetBytes(body.ToJsonString()), false),
            malformedRest ? Expectation.Refused : expect, 0, "REST " + what + (malformedRest ? " with a malformed query vector" : ""));
    }

    private static PlaceholderType PlaceholderOf(string field) => field switch
    {
        "fv" => PlaceholderType.FloatVector,
        "f16" => PlaceholderType.Float16Vector,
        "bf16" => PlaceholderType.Bfloat16Vector,
        "i8" => PlaceholderType.Int8Vector,
        "bin" => PlaceholderType.BinaryVector,
        _ => PlaceholderType.SparseFloatVector,
    };
}
