using System.Globalization;
using System.Text;
using Google.Protobuf;
using Quiver.Protocol.Common;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using static Quiver.Server.Tests.Fuzz.FuzzValues;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using ProtoType = Quiver.Protocol.Schema.DataType;
using ProtoField = Quiver.Protocol.Schema.FieldSchema;
using ProtoSchema = Quiver.Protocol.Schema.CollectionSchema;
using WireConsistency = Quiver.Protocol.Common.ConsistencyLevel;

namespace Quiver.Server.Tests.Fuzz;

/// <summary>
/// Generates MilvusService requests for every RPC that takes data or names: schema-aware (the fixture collections'
/// fields) and almost right, with one or more twists (wrong lengths, types, dimensions, non-finite values, long strings,
/// null masks of the wrong size, odd names, parameters at and past their limits). <see cref="Mutate"/> damages the
/// serialized bytes of a request instead, for the server's own protobuf parser to meet.
/// </summary>
internal static class GrpcCases
{
    /// <summary>A generated request: the RPC's name and the message.</summary>
    public static (string Method, IMessage Request) Generate(Random r)
    {
        var c = r.Pick(FuzzCollection.Fixtures);
        return r.Next(30) switch
        {
            < 6 => Write(r, c),
            < 9 => ("Search", Search(r, c)),
            9 => ("HybridSearch", Hybrid(r, c)),
            < 14 => ("Query", Query(r, c)),
            < 16 => ("Delete", new DeleteRequest
            {
                DbName = Db(r),
                CollectionName = Collection(r, c),
                Expr = r.Chance(0.3) ? "id in [1,2,3]" : Filter(r),
                PartitionName = r.Chance(0.2) ? Name(r) : "",
                ExprTemplateValues = { Templates(r) },
            }),
            < 18 => ("CreateCollection", CreateCollection(r)),
            < 20 => ("CreateIndex", CreateIndex(r, c)),
            20 => ("DropIndex", new DropIndexRequest { CollectionName = PoolName(r, "fzc"), FieldName = FieldName(r), IndexName = Name(r) }),
            21 => ("DescribeIndex", new DescribeIndexRequest { DbName = Db(r), CollectionName = Collection(r, c), FieldName = FieldName(r), IndexName = Name(r) }),
            22 => Alias(r, c),
            23 => Partition(r, c),
            24 => Database(r),
            25 => ("DropCollection", new DropCollectionRequest { DbName = Db(r), CollectionName = PoolName(r, "fzc") }),
            26 => ("AlterCollection", new AlterCollectionRequest
            {
                DbName = Db(r),
                CollectionName = r.Chance(0.5) ? PoolName(r, "fzc") : c.Name,
                Properties = { Pairs(r, ["collection.ttl.seconds", "mmap.enabled", "collection.autocompaction.enabled", "x"]) },
                DeleteKeys = { r.Chance(0.3) ? [Name(r)] : [] },
            }),
            27 => ("RenameCollection", new RenameCollectionRequest { DbName = Db(r), OldName = PoolName(r, "fzc"), NewName = PoolName(r, "fzc"), NewDBName = r.Chance(0.3) ? Db(r) : "" }),
            28 => ("GetCollectionStatistics", new GetCollectionStatisticsRequest { DbName = Db(r), CollectionName = Collection(r, c) }),
            _ => r.Next(4) switch
            {
                0 => ("DescribeCollection", new DescribeCollectionRequest { DbName = Db(r), CollectionName = Collection(r, c), CollectionID = r.Chance(0.2) ? Long(r) : 0 }),
                1 => ("GetLoadState", new GetLoadStateRequest { DbName = Db(r), CollectionName = Collection(r, c), PartitionNames = { Names(r) } }),
                2 => ("LoadCollection", new LoadCollectionRequest { DbName = Db(r), CollectionName = Collection(r, c), ReplicaNumber = r.Chance(0.3) ? Int(r) : 0 }),
                _ => ("Flush", new FlushRequest { DbName = Db(r), CollectionNames = { Collection(r, c) } }),
            },
        };
    }

    private static string Db(Random r) => r.Next(6) switch
    {
        0 => "fzdb",
        1 => "default",
        2 => Name(r),
        _ => "",
    };

    private static string Collection(Random r, FuzzCollection c) => r.Chance(0.9) ? c.Name : Name(r);

    private static string[] Names(Random r) => [.. Enumerable.Range(0, r.Next(0, 3)).Select(_ => r.Chance(0.5) ? "_default" : Name(r))];

    private static IEnumerable<KeyValuePair> Pairs(Random r, string[] keys) =>
        Enumerable.Range(0, r.Next(0, 4)).Select(_ => new KeyValuePair
        {
            Key = r.Chance(0.8) ? r.Pick(keys) : Name(r),
            Value = r.Next(3) switch { 0 => NumberText(r), 1 => JsonText(r), _ => r.Pick(["true", "false", "L2", "IP", "COSINE", "HNSW"]) },
        });

    // ---- writes ----

    private static (string, IMessage) Write(Random r, FuzzCollection c)
    {
        var rows = r.Next(8) switch
        {
            0 => 0,
            1 => r.Next(50, 300),
            _ => r.Next(1, 6),
        };
        var columns = new List<FieldData>();
        foreach (var field in c.Fields)
        {
            if (field.AutoId && r.Chance(0.8))
            {
                continue;
            }
            if (r.Chance(0.05))
            {
                continue; // a missing column
            }
            columns.Add(Column(r, field, rows, twist: r.Chance(0.35)));
        }
        if (c.Dynamic && r.Chance(0.5))
        {
            columns.Add(Dynamic(r, rows));
        }
        if (r.Chance(0.1))
        {
            columns.Add(Column(r, r.Pick(c.Fields) with { Name = r.Chance(0.5) ? FieldName(r) : c.Fields[0].Name }, rows, twist: r.Chance(0.5)));
        }
        if (r.Chance(0.1))
        {
            columns.Reverse();
        }
        var numRows = r.Next(10) switch
        {
            0 => 0u,
            1 => uint.MaxValue,
            2 => (uint)(rows + 1),
            _ => (uint)rows,
        };
        var db = r.Chance(0.2) ? Db(r) : "";
        var collection = Collection(r, c);
        var partition = r.Chance(0.2) ? r.Pick(["_default", "fzp0", Name(r)]) : "";
        if (r.Chance(0.5))
        {
            return ("Insert", new InsertRequest { DbName = db, CollectionName = collection, PartitionName = partition, FieldsData = { columns }, NumRows = numRows });
        }
        return ("Upsert", new UpsertRequest
        {
            DbName = db,
            CollectionName = collection,
            PartitionName = partition,
            FieldsData = { columns },
            NumRows = numRows,
            PartialUpdate = r.Chance(0.05),
        });
    }

    /// <summary>A column of <paramref name="rows"/> values for <paramref name="field"/>; with <paramref name="twist"/>
    /// one thing about it is wrong.</summary>
    public static FieldData Column(Random r, FuzzField field, int rows, bool twist)
    {
        var length = rows;
        var type = field.Type;
        var dim = field.Dim;
        var twistKind = twist ? r.Next(9) : -1;
        switch (twistKind)
        {
            case 0:
                length = Math.Max(0, rows + r.Pick([-1, 1, -rows, 5]));
                break;
            case 1:
                type = r.Pick([ProtoType.Bool, ProtoType.Int8, ProtoType.Int32, ProtoType.Int64, ProtoType.Float, ProtoType.Double,
                    ProtoType.VarChar, ProtoType.Json, ProtoType.Array, ProtoType.FloatVector, ProtoType.BinaryVector,
                    ProtoType.Float16Vector, ProtoType.SparseFloatVector, ProtoType.None, (ProtoType)999]);
                break;
            case 2:
                dim = r.Pick([0, -1, 1, field.Dim + 1, 32_769, int.MaxValue]);
                break;
        }
        var column = new FieldData { FieldName = field.Name, Type = type };
        if (r.Chance(0.05))
        {
            column.FieldId = r.Chance(0.5) ? 100 + r.Next(-2, 15) : Long(r);
        }
        var nulls = field.Nullable || twistKind == 3 ? NullMask(r, rows, twistKind == 3) : null;
        var stored = nulls is not null && r.Chance(0.5) ? nulls.Count(v => v) : length; // compact or full form
        FillValues(r, column, field, type, dim, stored, twistKind);
        if (nulls is not null)
        {
            column.ValidData.AddRange(nulls);
        }
        return column;
    }

    private static bool[] NullMask(Random r, int rows, bool wrongSize)
    {
        var size = wrongSize ? Math.Max(0, rows + r.Pick([-1, 1, 3])) : rows;
        return [.. Enumerable.Range(0, size).Select(_ => r.Chance(0.7))];
    }

    private static void FillValues(Random r, FieldData column, FuzzField field, ProtoType type, int dim, int n, int twistKind)
    {
        var odd = twistKind >= 4;
        switch (type)
        {
            case ProtoType.Bool:
                column.Scalars = new ScalarField { BoolData = new BoolArray { Data = { Values(n, () => r.Chance(0.5)) } } };
                break;
            case ProtoType.Int8 or ProtoType.Int16 or ProtoType.Int32:
                column.Scalars = new ScalarField { IntData = new IntArray { Data = { Values(n, () => odd ? Int(r) : r.Next(-100, 100)) } } };
                break;
            case ProtoType.Int64:
                column.Scalars = new ScalarField { LongData = new LongArray { Data = { Values(n, () => odd ? Long(r) : r.NextInt64(1, 1_000_000)) } } };
                break;
            case ProtoType.Float:
                column.Scalars = new ScalarField { FloatData = new FloatArray { Data = { Values(n, () => odd ? Float(r) : (float)r.NextDouble()) } } };
                break;
            case ProtoType.Double:
                column.Scalars = new ScalarField { DoubleData = new DoubleArray { Data = { Values(n, () => odd ? Double(r) : r.NextDouble()) } } };
                break;
            case ProtoType.VarChar or ProtoType.String:
                column.Scalars = new ScalarField { StringData = new StringArray { Data = { Values(n, () => odd ? Text(r) : Word(r, 1 + r.Next(Math.Max(1, Math.Min(8, field.MaxLength))))) } } };
                break;
            case ProtoType.Json:
                column.Scalars = new ScalarField { JsonData = new JSONArray { Data = { Values(n, () => JsonBytes(r, odd)) } } };
                break;
            case ProtoType.Array:
                var arrays = new ArrayArray { ElementType = odd && r.Chance(0.5) ? r.Pick([ProtoType.Float, ProtoType.Json, ProtoType.None]) : field.Element };
                arrays.Data.AddRange(Values(n, () => Element(r, arrays.ElementType, odd, odd ? r.Next(0, field.Capacity + 3) : r.Next(0, Math.Max(1, field.Capacity)))));
                column.Scalars = new ScalarField { ArrayData = arrays };
                break;
            case ProtoType.FloatVector:
                var floats = new FloatArray();
                var per = twistKind == 2 && r.Chance(0.5) ? Math.Max(1, field.Dim) : Math.Clamp(dim, 0, 64);
                floats.Data.AddRange(Values(n * per + (odd && r.Chance(0.3) ? 1 : 0), () => odd ? Float(r) : (float)r.NextDouble()));
                column.Vectors = new VectorField { Dim = dim, FloatVector = floats };
                break;
            case ProtoType.BinaryVector:
                column.Vectors = new VectorField { Dim = dim, BinaryVector = ByteString.CopyFrom(new byte[Math.Max(0, n * Math.Max(1, dim) / 8)]) };
                break;
            case ProtoType.SparseFloatVector:
                column.Vectors = new VectorField { Dim = dim, SparseFloatVector = new SparseFloatArray { Dim = dim, Contents = { Values(n, () => ByteString.CopyFrom(new byte[8])) } } };
                break;
            default:
                if (r.Chance(0.5))
                {
                    column.Scalars = new ScalarField();
                }
                break;
        }
    }

    private static ScalarField Element(Random r, ProtoType element, bool odd, int count) => element switch
    {
        ProtoType.Int64 => new ScalarField { LongData = new LongArray { Data = { Values(count, () => odd ? Long(r) : r.Next(100)) } } },
        ProtoType.VarChar => new ScalarField { StringData = new StringArray { Data = { Values(count, () => !odd || r.Chance(0.8) ? Word(r, r.Next(1, 9)) : Text(r)) } } },
        ProtoType.Float => new ScalarField { FloatData = new FloatArray { Data = { Values(count, () => Float(r)) } } },
        ProtoType.Json => new ScalarField { JsonData = new JSONArray { Data = { Values(count, () => JsonBytes(r, true)) } } },
        _ => new ScalarField(),
    };

    private static ByteString JsonBytes(Random r, bool odd)
    {
        if (odd && r.Chance(0.1))
        {
            return ByteString.CopyFrom([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]); // {"\xff\xfe":1} (invalid UTF-8)
        }
        return ByteString.CopyFromUtf8(odd ? JsonText(r) : "{\"a\":" + r.Next(10).ToString(CultureInfo.InvariantCulture) + "}");
    }

    private static FieldData Dynamic(Random r, int rows)
    {
        var column = new FieldData { FieldName = r.Chance(0.9) ? "$meta" : Name(r), Type = ProtoType.Json, IsDynamic = true };
        column.Scalars = new ScalarField
        {
            JsonData = new JSONArray { Data = { Values(rows + (r.Chance(0.1) ? 1 : 0), () => JsonBytes(r, r.Chance(0.4))) } },
        };
        return column;
    }

    private static List<T> Values<T>(int count, Func<T> next)
    {
        var list = new List<T>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(next());
        }
        return list;
    }

    // ---- reads ----

    private static Protocol.Milvus.SearchRequest Search(Random r, FuzzCollection c)
    {
        var vector = c.Vector;
        var nq = r.Next(8) switch
        {
            0 => 0,
            1 => r.Next(20, 100),
            _ => r.Next(1, 4),
        };
        var request = new Protocol.Milvus.SearchRequest
        {
            DbName = r.Chance(0.1) ? Db(r) : "",
            CollectionName = Collection(r, c),
            Dsl = r.Chance(0.5) ? Filter(r) : "",
            DslType = DslType.BoolExprV1,
            Nq = r.Next(6) switch { 0 => Long(r), 1 => nq + 1, _ => nq },
            ConsistencyLevel = (WireConsistency)r.Next(-1, 6),
        };
        if (r.Chance(0.1))
        {
            request.Ids = new IDs { IntId = new LongArray { Data = { Values(nq, () => r.NextInt64(-2, 40)) } } };
            if (r.Chance(0.3))
            {
                request.Ids = new IDs { StrId = new StringArray { Data = { Values(nq, () => Word(r, 3)) } } };
            }
        }
        else
        {
            request.PlaceholderGroup = PlaceholderGroup(r, vector.Dim, nq);
        }
        request.SearchParams.Add(SearchParams(r, c));
        request.OutputFields.Add(OutputFields(r));
        request.PartitionNames.Add(Names(r).Take(r.Chance(0.8) ? 0 : 2));
        request.ExprTemplateValues.Add(Templates(r));
        return request;
    }

    /// <summary>A hybrid search: generated searches (0 to 4) and rank params or a function_score, right or twisted.</summary>
    private static HybridSearchRequest Hybrid(Random r, FuzzCollection c)
    {
        var request = new HybridSearchRequest
        {
            DbName = r.Chance(0.1) ? Db(r) : "",
            CollectionName = Collection(r, c),
            ConsistencyLevel = (WireConsistency)r.Next(-1, 6),
        };
        request.Requests.Add(Values(r.Next(5), () => Search(r, c)));
        request.OutputFields.Add(OutputFields(r));
        request.PartitionNames.Add(Names(r).Take(r.Chance(0.8) ? 0 : 2));
        var weights = "[" + string.Join(",", Values(r.Next(4), () => r.Chance(0.8) ? r.NextDouble().ToString("R", CultureInfo.InvariantCulture) : NumberText(r))) + "]";
        request.RankParams.Add(Pairs(r, ["strategy", "params", "limit", "offset", "round_decimal", "group_by_field", "group_size", "x"]));
        if (r.Chance(0.6))
        {
            request.RankParams.Add(new KeyValuePair { Key = "strategy", Value = r.Pick(["rrf", "weighted", "RRF", Name(r)]) });
            request.RankParams.Add(new KeyValuePair { Key = "params", Value = r.Pick([$"{{\"k\": {NumberText(r)}}}", $"{{\"weights\": {weights}, \"norm_score\": {r.Pick(["true", "false", "1"])}}}", JsonText(r)]) });
        }
        if (r.Chance(0.2))
        {
            request.FunctionScore = new FunctionScore();
            for (var i = r.Next(3); i > 0; i--)
            {
                request.FunctionScore.Functions.Add(new FunctionSchema
                {
                    Name = Name(r),
                    Type = r.Chance(0.8) ? FunctionType.Rerank : (FunctionType)r.Next(-1, 9),
                    Params = { Pairs(r, ["reranker", "k", "weights", "norm_score"]) },
                });
            }
            if (request.FunctionScore.Functions.Count > 0 && r.Chance(0.7))
            {
                request.FunctionScore.Functions[0].Params.Add(new KeyValuePair { Key = "reranker", Value = r.Pick(["rrf", "weighted", "decay", Name(r)]) });
                request.FunctionScore.Functions[0].Params.Add(new KeyValuePair { Key = "weights", Value = r.Chance(0.7) ? weights : JsonText(r) });
            }
        }
        return request;
    }

    private static ByteString PlaceholderGroup(Random r, int dim, int nq)
    {
        switch (r.Next(12))
        {
            case 0:
                return ByteString.CopyFrom(Encoding.UTF8.GetBytes(Text(r)));
            case 1:
                return ByteString.Empty;
        }
        var group = new Protocol.Common.PlaceholderGroup();
        var placeholders = r.Chance(0.1) ? r.Next(0, 3) : 1;
        for (var p = 0; p < placeholders; p++)
        {
            var value = new PlaceholderValue
            {
                Tag = r.Chance(0.9) ? "$0" : Name(r),
                Type = r.Chance(0.9) ? PlaceholderType.FloatVector : r.Pick([PlaceholderType.BinaryVector, PlaceholderType.None, PlaceholderType.Int64, (PlaceholderType)777]),
            };
            for (var q = 0; q < nq; q++)
            {
                var d = r.Chance(0.1) ? r.Pick([0, 1, dim + 1, dim * 2]) : dim;
                var bytes = new byte[d * sizeof(float) + (r.Chance(0.03) ? 1 : 0)];
                for (var i = 0; i + 4 <= bytes.Length; i += 4)
                {
                    BitConverter.TryWriteBytes(bytes.AsSpan(i), r.Chance(0.05) ? Float(r) : (float)r.NextDouble());
                }
                value.Values.Add(ByteString.CopyFrom(bytes));
            }
            group.Placeholders.Add(value);
        }
        return group.ToByteString();
    }

    private static IEnumerable<KeyValuePair> SearchParams(Random r, FuzzCollection c)
    {
        var pairs = new List<KeyValuePair>
        {
            new() { Key = "anns_field", Value = r.Chance(0.85) ? c.Vector.Name : FieldName(r) },
            new() { Key = "topk", Value = r.Chance(0.7) ? r.Next(1, 20).ToString(CultureInfo.InvariantCulture) : NumberText(r) },
            new() { Key = "metric_type", Value = r.Chance(0.7) ? (r.Chance(0.5) ? c.Metric : "") : r.Pick(["L2", "IP", "COSINE", "HAMMING", "bm25", Name(r)]) },
            new() { Key = "params", Value = r.Chance(0.6) ? IndexSearchParams(r) : JsonText(r) },
        };
        var optional = new (string Key, Func<string> Value)[]
        {
            ("offset", () => r.Chance(0.5) ? r.Next(0, 10).ToString(CultureInfo.InvariantCulture) : NumberText(r)),
            ("round_decimal", () => r.Chance(0.5) ? r.Next(-1, 7).ToString(CultureInfo.InvariantCulture) : NumberText(r)),
            ("group_by_field", () => FieldName(r)),
            ("group_size", () => r.Chance(0.5) ? r.Next(1, 5).ToString(CultureInfo.InvariantCulture) : NumberText(r)),
            ("strict_group_size", () => r.Pick(["true", "false", "x"])),
            ("radius", () => NumberText(r)),
            ("range_filter", () => NumberText(r)),
            ("ignore_growing", () => r.Pick(["true", "false", "2"])),
            ("iterator", () => r.Pick(["true", "false"])),
            ("search_iter_v2", () => r.Pick(["true", "false"])),
            ("search_iter_batch_size", () => NumberText(r)),
            ("search_iter_last_bound", () => NumberText(r)),
            ("search_iter_id", () => r.Chance(0.5) ? Text(r) : Convert.ToBase64String(Encoding.UTF8.GetBytes(Text(r)))),
            ("ef", () => NumberText(r)),
            ("nprobe", () => NumberText(r)),
            ("limit", () => NumberText(r)),
        };
        foreach (var (key, value) in optional)
        {
            if (r.Chance(0.12))
            {
                pairs.Add(new KeyValuePair { Key = key, Value = value() });
            }
        }
        if (r.Chance(0.05))
        {
            pairs.Add(new KeyValuePair { Key = "topk", Value = NumberText(r) });
        }
        return pairs;
    }

    private static string IndexSearchParams(Random r)
    {
        var keys = new[] { "ef", "nprobe", "search_k", "refine_k", "exact", "radius", "range_filter", "level", "drop_ratio_search" };
        var members = Enumerable.Range(0, r.Next(0, 3)).Select(_ =>
            $"\"{r.Pick(keys)}\":{r.Pick([NumberValue(r), "\"" + NumberText(r) + "\"", "null", "true", "[1]", "{}"])}");
        return "{" + string.Join(",", members) + "}";
    }

    private static string NumberValue(Random r) => r.Next(5) switch
    {
        0 => "1e400",
        1 => "-1",
        2 => "99999999999999999999",
        _ => r.Next(0, 600).ToString(CultureInfo.InvariantCulture),
    };

    private static string[] OutputFields(Random r) =>
        [.. Enumerable.Range(0, r.Next(0, 4)).Select(_ => r.Chance(0.7) ? FieldName(r) : r.Pick(["*", "count(*)", "%", "$meta", "j[\"a\"]", "dyn", Name(r)]))];

    private static Protocol.Milvus.QueryRequest Query(Random r, FuzzCollection c)
    {
        var request = new Protocol.Milvus.QueryRequest
        {
            DbName = r.Chance(0.1) ? Db(r) : "",
            CollectionName = Collection(r, c),
            Expr = Filter(r),
            ConsistencyLevel = (WireConsistency)r.Next(-1, 6),
            OutputFields = { OutputFields(r) },
            PartitionNames = { Names(r).Take(r.Chance(0.8) ? 0 : 2) },
            ExprTemplateValues = { Templates(r) },
        };
        var keys = new[] { "limit", "offset", "iterator", "reduce_stop_for_best", "collection_id", "ignore_growing", "timezone" };
        foreach (var key in keys)
        {
            if (r.Chance(0.3))
            {
                request.QueryParams.Add(new KeyValuePair { Key = key, Value = r.Chance(0.5) ? r.Next(0, 50).ToString(CultureInfo.InvariantCulture) : NumberText(r) });
            }
        }
        return request;
    }

    private static Dictionary<string, TemplateValue> Templates(Random r)
    {
        var values = new Dictionary<string, TemplateValue>(StringComparer.Ordinal);
        if (r.Chance(0.8))
        {
            return values;
        }
        for (var i = r.Next(1, 3); i > 0; i--)
        {
            values[r.Chance(0.7) ? "tpl" : Name(r)] = Template(r, depth: 0);
        }
        return values;
    }

    private static TemplateValue Template(Random r, int depth) => r.Next(7) switch
    {
        0 => new TemplateValue { BoolVal = r.Chance(0.5) },
        1 => new TemplateValue { Int64Val = Long(r) },
        2 => new TemplateValue { FloatVal = Double(r) },
        3 => new TemplateValue { StringVal = Text(r) },
        4 => new TemplateValue { BytesVal = ByteString.CopyFromUtf8(Text(r)) },
        5 => new TemplateValue(),
        _ => new TemplateValue { ArrayVal = TemplateArray(r, depth + 1) },
    };

    private static TemplateArrayValue TemplateArray(Random r, int depth) => r.Next(depth >= 4 ? 5 : 7) switch
    {
        0 => new TemplateArrayValue { LongData = new LongArray { Data = { Values(r.Next(0, 5), () => Long(r)) } } },
        1 => new TemplateArrayValue { DoubleData = new DoubleArray { Data = { Values(r.Next(0, 5), () => Double(r)) } } },
        2 => new TemplateArrayValue { StringData = new StringArray { Data = { Values(r.Next(0, 5), () => Text(r)) } } },
        3 => new TemplateArrayValue { JsonData = new JSONArray { Data = { Values(r.Next(0, 3), () => JsonBytes(r, true)) } } },
        4 => new TemplateArrayValue(),
        _ => new TemplateArrayValue { ArrayData = new TemplateArrayValueArray { Data = { Values(r.Next(0, 3), () => TemplateArray(r, depth + 1)) } } },
    };

    // ---- catalog ----

    private static CreateCollectionRequest CreateCollection(Random r)
    {
        var name = PoolName(r, "fzc");
        var fields = new List<ProtoField>();
        if (r.Chance(0.6))
        {
            fields.AddRange(r.Pick(FuzzCollection.Fixtures).Fields.Select(f => f.ToProto()));
        }
        for (var i = r.Next(0, 4); i > 0; i--)
        {
            fields.Add(OddField(r));
        }
        if (fields.Count > 0 && r.Chance(0.5))
        {
            var f = fields[r.Next(fields.Count)];
            switch (r.Next(6))
            {
                case 0: f.IsPrimaryKey = !f.IsPrimaryKey; break;
                case 1: f.AutoID = !f.AutoID; break;
                case 2: f.Nullable = !f.Nullable; break;
                case 3: f.IsDynamic = true; break;
                case 4: f.Name = fields[0].Name; break;
                default: f.TypeParams.Add(new KeyValuePair { Key = r.Pick(["dim", "max_length", "max_capacity"]), Value = NumberText(r) }); break;
            }
        }
        var schema = new ProtoSchema { Name = r.Chance(0.9) ? name : Name(r), EnableDynamicField = r.Chance(0.5), Fields = { fields } };
        if (r.Chance(0.05))
        {
            schema.Functions.Add(new FunctionSchema { Name = "bm25", Type = FunctionType.Bm25 });
        }
        var request = new CreateCollectionRequest
        {
            DbName = r.Chance(0.2) ? Db(r) : "",
            CollectionName = name,
            Schema = r.Chance(0.05) ? ByteString.CopyFromUtf8(Text(r)) : schema.ToByteString(),
            ShardsNum = r.Chance(0.8) ? 1 : Int(r),
            ConsistencyLevel = (WireConsistency)r.Next(-1, 6),
            NumPartitions = r.Chance(0.9) ? 0 : Long(r),
        };
        request.Properties.Add(Pairs(r, ["collection.ttl.seconds", "mmap.enabled", "partitionkey.isolation"]));
        return request;
    }

    private static ProtoField OddField(Random r)
    {
        var type = r.Pick([ProtoType.Bool, ProtoType.Int8, ProtoType.Int16, ProtoType.Int32, ProtoType.Int64, ProtoType.Float, ProtoType.Double,
            ProtoType.VarChar, ProtoType.String, ProtoType.Json, ProtoType.Array, ProtoType.FloatVector, ProtoType.BinaryVector,
            ProtoType.Float16Vector, ProtoType.Bfloat16Vector, ProtoType.SparseFloatVector, ProtoType.Int8Vector, ProtoType.Geometry,
            ProtoType.Timestamptz, ProtoType.None, (ProtoType)555]);
        var field = new ProtoField
        {
            Name = FieldName(r),
            DataType = type,
            IsPrimaryKey = r.Chance(0.2),
            AutoID = r.Chance(0.1),
            Nullable = r.Chance(0.2),
            IsPartitionKey = r.Chance(0.05),
            IsClusteringKey = r.Chance(0.03),
            IsFunctionOutput = r.Chance(0.03),
            ElementType = r.Chance(0.3) ? r.Pick([ProtoType.Int64, ProtoType.VarChar, ProtoType.Array, ProtoType.Json, ProtoType.FloatVector, ProtoType.None]) : ProtoType.None,
        };
        foreach (var key in new[] { "dim", "max_length", "max_capacity" })
        {
            if (r.Chance(0.4))
            {
                field.TypeParams.Add(new KeyValuePair { Key = key, Value = r.Chance(0.5) ? r.Next(1, 64).ToString(CultureInfo.InvariantCulture) : NumberText(r) });
            }
        }
        if (r.Chance(0.2))
        {
            field.DefaultValue = r.Next(7) switch
            {
                0 => new ValueField { BoolData = true },
                1 => new ValueField { IntData = Int(r) },
                2 => new ValueField { LongData = Long(r) },
                3 => new ValueField { FloatData = Float(r) },
                4 => new ValueField { DoubleData = Double(r) },
                5 => new ValueField { StringData = Text(r) },
                _ => new ValueField { BytesData = ByteString.CopyFromUtf8(JsonText(r)) },
            };
        }
        return field;
    }

    private static CreateIndexRequest CreateIndex(Random r, FuzzCollection c)
    {
        var request = new CreateIndexRequest
        {
            DbName = r.Chance(0.1) ? Db(r) : "",
            CollectionName = r.Chance(0.6) ? PoolName(r, "fzc") : c.Name,
            FieldName = r.Chance(0.7) ? c.Vector.Name : FieldName(r),
            IndexName = r.Chance(0.5) ? "" : Name(r),
        };
        var type = r.Pick(["FLAT", "HNSW", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "AUTOINDEX", "DISKANN", "INVERTED", "STL_SORT", "BIN_FLAT", "", Name(r)]);
        request.ExtraParams.Add(new KeyValuePair { Key = "index_type", Value = type });
        request.ExtraParams.Add(new KeyValuePair { Key = "metric_type", Value = r.Chance(0.7) ? c.Metric : r.Pick(["L2", "IP", "COSINE", "JACCARD", "", Name(r)]) });
        var keys = new[] { "M", "efConstruction", "nlist", "m", "nbits", "ef", "with_raw_data", "mmap.enabled" };
        var members = Enumerable.Range(0, r.Next(0, 4)).Select(_ => $"\"{r.Pick(keys)}\":{r.Pick([NumberValue(r), "\"" + NumberText(r) + "\"", "null", "0", "1", "3", "17", "65"])}");
        var paramsJson = "{" + string.Join(",", members) + "}";
        if (r.Chance(0.7))
        {
            request.ExtraParams.Add(new KeyValuePair { Key = "params", Value = r.Chance(0.9) ? paramsJson : JsonText(r) });
        }
        else
        {
            foreach (var key in keys.Where(_ => r.Chance(0.2)))
            {
                request.ExtraParams.Add(new KeyValuePair { Key = key, Value = NumberText(r) });
            }
        }
        return request;
    }

    private static (string, IMessage) Alias(Random r, FuzzCollection c)
    {
        var alias = PoolName(r, "fza");
        var target = r.Chance(0.7) ? c.Name : PoolName(r, "fzc");
        return r.Next(4) switch
        {
            0 => ("CreateAlias", new CreateAliasRequest { DbName = Db(r), Alias = alias, CollectionName = target }),
            1 => ("AlterAlias", new AlterAliasRequest { DbName = Db(r), Alias = alias, CollectionName = target }),
            2 => ("DropAlias", new DropAliasRequest { DbName = Db(r), Alias = alias }),
            _ => ("DescribeAlias", new DescribeAliasRequest { DbName = Db(r), Alias = alias }),
        };
    }

    private static (string, IMessage) Partition(Random r, FuzzCollection c)
    {
        var partition = r.Chance(0.2) ? "_default" : PoolName(r, "fzp");
        var collection = Collection(r, c);
        return r.Next(5) switch
        {
            0 => ("CreatePartition", new CreatePartitionRequest { CollectionName = collection, PartitionName = partition }),
            1 => ("DropPartition", new DropPartitionRequest { CollectionName = collection, PartitionName = partition }),
            2 => ("HasPartition", new HasPartitionRequest { CollectionName = collection, PartitionName = partition }),
            3 => ("LoadPartitions", new LoadPartitionsRequest { CollectionName = collection, PartitionNames = { partition, Name(r) } }),
            _ => ("GetPartitionStatistics", new GetPartitionStatisticsRequest { CollectionName = collection, PartitionName = partition }),
        };
    }

    private static (string, IMessage) Database(Random r)
    {
        var db = r.Chance(0.2) ? "fzdb" : PoolName(r, "fzd");
        return r.Next(4) switch
        {
            0 => ("CreateDatabase", new CreateDatabaseRequest { DbName = db, Properties = { Pairs(r, ["database.max.collections", "database.force.deny.writing", "x"]) } }),
            1 => ("DropDatabase", new DropDatabaseRequest { DbName = db == "fzdb" ? "fzd0" : db }),
            2 => ("DescribeDatabase", new DescribeDatabaseRequest { DbName = db }),
            _ => ("AlterDatabase", new AlterDatabaseRequest { DbName = db, Properties = { Pairs(r, ["database.max.collections", "database.replica.number", "x"]) } }),
        };
    }

    // ---- mutation ----

    /// <summary>Flips, inserts, deletes or duplicates bytes of a serialized request (1 to 4 edits).</summary>
    public static byte[] Mutate(Random r, byte[] bytes)
    {
        var data = new List<byte>(bytes);
        for (var edits = r.Next(1, 5); edits > 0; edits--)
        {
            var at = data.Count == 0 ? 0 : r.Next(data.Count);
            switch (r.Next(6))
            {
                case 0 when data.Count > 0:
                    data[at] ^= (byte)(1 << r.Next(8));
                    break;
                case 1 when data.Count > 0:
                    data[at] = (byte)r.Next(256);
                    break;
                case 2:
                    data.Insert(at, r.Pick<byte>([0x00, 0x0a, 0x12, 0x1a, 0x22, 0x80, 0xff, 0x7f, (byte)r.Next(256)]));
                    break;
                case 3 when data.Count > 0:
                    data.RemoveRange(at, Math.Min(data.Count - at, r.Next(1, 9)));
                    break;
                case 4 when data.Count > 0:
                    var length = Math.Min(data.Count - at, r.Next(1, 33));
                    data.InsertRange(r.Next(data.Count), data.GetRange(at, length));
                    break;
                default:
                    // A varint length prefix pushed towards a large value.
                    data.Insert(at, 0xff);
                    data.Insert(at, 0xff);
                    break;
            }
        }
        return [.. data];
    }
}
