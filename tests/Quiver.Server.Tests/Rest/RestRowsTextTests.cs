using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Server.Rest;
using Quiver.Server.Tests.Fuzz;
using Quiver.Testing;
using Quiver.Wire;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// The REST write path reads insert/upsert rows from the body's text in one pass (<see cref="RestRowsBody.TryScan"/>,
/// then <see cref="RestJsonReader.Read(CollectionSchema, ReadOnlySpan{byte}, int, bool)"/>); the parsed-document path
/// (<see cref="RestBody.Parse"/>, then <see cref="RestJsonReader.Read(CollectionSchema, JsonElement, bool)"/>) is kept
/// as the oracle. Random rows of every field type in every input form, with odd and malformed values, must give the
/// same columns bit for bit or the same refusal (type and message); random bodies, clean and damaged, must be taken by
/// the scan only when the parser takes them, with the same members and rows.
/// </summary>
public sealed class RestRowsTextTests
{
    private const int Dim = 4;

    /// <summary>Every field type: AllTypes' scalars, JSON, arrays and float vector, plus the byte vectors, sparse,
    /// geometry, timestamptz, a BM25 output and a TextEmbedding output (which rows must leave out).</summary>
    private static CollectionSchema EveryType(bool autoId) => AllTypes.Schema(Dim) with
    {
        Fields =
        [
            .. AllTypes.Schema(Dim).Fields.Select(f => f.IsPrimaryKey ? FieldSchema.Int64Key("id", autoId) : f),
            new FieldSchema { Name = "h16", DataType = DataType.Float16Vector, Dimension = Dim },
            new FieldSchema { Name = "b16", DataType = DataType.BFloat16Vector, Dimension = Dim, Nullable = true },
            new FieldSchema { Name = "i8v", DataType = DataType.Int8Vector, Dimension = Dim },
            new FieldSchema { Name = "bin", DataType = DataType.BinaryVector, Dimension = 16, Metric = MetricType.Hamming },
            FieldSchema.SparseVector("sp"),
            new FieldSchema { Name = "geo", DataType = DataType.Geometry, Nullable = true },
            new FieldSchema { Name = "at", DataType = DataType.Timestamptz, Nullable = true },
            FieldSchema.VarChar("body", 256),
            FieldSchema.SparseVector("bm"),
            FieldSchema.Vector("emb", Dim),
        ],
        Functions =
        [
            new CollectionFunction { Name = "bm25", Type = CollectionFunctionType.BM25, InputFieldNames = ["body"], OutputFieldNames = ["bm"] },
            new CollectionFunction { Name = "embed", Type = CollectionFunctionType.TextEmbedding, InputFieldNames = ["body"], OutputFieldNames = ["emb"] },
        ],
    };

    [Fact]
    public void RowsText_ReadsAsTheParsedRows_EveryTypeAndForm()
    {
        var random = new Random(2601);
        int accepted = 0, refused = 0;
        for (var i = 0; i < TestTier.Pick(1500, 50_000); i++)
        {
            var schema = EveryType(autoId: random.Next(3) == 0);
            var insert = random.Next(2) == 0;
            var rows = Rows(random, schema, random.Next(1, 6), odd: random.Next(3) == 0);
            var text = Text(rows, indented: random.Next(4) == 0);
            var bytes = Encoding.UTF8.GetBytes(text);
            var expected = Outcome(() => RestJsonReader.Read(schema, JsonDocument.Parse(bytes).RootElement, insert));
            var actual = Outcome(() => RestJsonReader.Read(schema, bytes, rows.Count, insert));
            Assert.True(expected == actual, $"case {i} ({(insert ? "insert" : "upsert")}): {text}\nparsed: {expected}\ntext:   {actual}");
            if (expected.StartsWith("rows", StringComparison.Ordinal))
            {
                accepted++;
            }
            else
            {
                refused++;
            }
        }

        // Both branches are exercised in earnest.
        Assert.True(accepted > 200 && refused > 300, $"{accepted} accepted, {refused} refused");
    }

    [Fact]
    public void Numbers_ReadBitForBit_AsTheParser()
    {
        var schema = new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("d", DataType.Double), FieldSchema.Scalar("f", DataType.Float), FieldSchema.Vector("v", 2)] };
        var random = new Random(77);
        for (var i = 0; i < TestTier.Pick(20_000, 500_000); i++)
        {
            var numbers = Enumerable.Range(0, 4).Select(_ => NumberText(random)).ToArray();
            var id = random.Next(4) == 0 ? NumberText(random) : random.NextInt64(long.MinValue, long.MaxValue).ToString(CultureInfo.InvariantCulture);
            var text = $$"""[{"id":{{id}},"d":{{numbers[0]}},"f":{{numbers[1]}},"v":[{{numbers[2]}},{{numbers[3]}}]}]""";
            var bytes = Encoding.UTF8.GetBytes(text);
            var expected = Outcome(() => RestJsonReader.Read(schema, JsonDocument.Parse(bytes).RootElement, insert: true));
            var actual = Outcome(() => RestJsonReader.Read(schema, bytes, 1, insert: true));
            Assert.True(expected == actual, $"{text}\nparsed: {expected}\ntext:   {actual}");
        }
    }

    [Fact]
    public void BodyScan_TakesOnlyWhatTheParserTakes_WithTheSameMembersAndRows()
    {
        var random = new Random(2602);
        var taken = 0;
        for (var i = 0; i < TestTier.Pick(3000, 100_000); i++)
        {
            var (_, body) = RestCases.Generate(random);
            body["data"] ??= Rows(random, EveryType(false), random.Next(0, 4), odd: true);
            var bytes = random.Next(3) == 0 ? RestCases.Mutate(random, body) : Encoding.UTF8.GetBytes(Text(body, false));
            string? parsed = null;
            JsonElement root = default;
            try
            {
                root = RestBody.Parse(bytes);
            }
            catch (Milvus.MilvusException e)
            {
                parsed = e.Message;
            }

            var scanned = RestRowsBody.TryScan(bytes);
            if (scanned is null)
            {
                continue;
            }

            taken++;
            Assert.True(parsed is null, $"case {i}: the scan took a body the parser refuses ({parsed}): {Encoding.UTF8.GetString(bytes)}");
            var data = root.GetProperty("data");
            Assert.Equal(JsonValueKind.Array, data.ValueKind);
            Assert.Equal(data.GetArrayLength(), scanned.Count);
            Assert.Equal(data.GetRawText(), Encoding.UTF8.GetString(scanned.Rows.Span));
            var others = JsonObject.Create(root)!.DeepClone().AsObject();
            var kept = JsonObject.Create(scanned.Root)!.DeepClone().AsObject();
            others.Remove("data");
            Assert.Equal(0, kept["data"]!.GetValue<int>());
            kept.Remove("data");
            Assert.True(JsonNode.DeepEquals(others, kept), $"case {i}: {others.ToJsonString()} / {kept.ToJsonString()}");
        }

        Assert.True(taken > 500, $"the scan took only {taken} bodies");
    }

    [Theory]
    [InlineData("""{"collectionName":"c","data":[{"id":1}],"data":[{"id":2}]}""")]
    [InlineData("""{"collectionName":"c","data":[{"id":1,"id":2}]}""")]
    [InlineData("""{"collectionName":"c","data":[{"id":1,"j":{"a":1,"a":2}}]}""")]
    [InlineData("""{"collectionName":"c","data":[{"id":1}],}""")]
    [InlineData("""{"collectionName":"c","data":[{"id":01}]}""")]
    [InlineData("""{"collectionName":"c","data":[{"id":1}]} x""")]
    [InlineData("""{"collectionName":"c","data":[{"id":1,"s":"a	b"}]}""")]
    [InlineData("""{"collectionName":"c","data":[{"id":1,"s":"\x"}]}""")]
    [InlineData("""{"collectionName":"c","data":[{"i\u0064":1}]}""")]
    [InlineData("""{"collectionName":"c","data":[]}""")]
    [InlineData("""{"collectionName":"c","data":{}}""")]
    [InlineData("""[{"collectionName":"c","data":[{"id":1}]}]""")]
    [InlineData("""{"collectionName":"c","data":[{"id":1,"b":tru}]}""")]
    [InlineData("""{"collectionName":"c","data":[{"id":1,"n":-}]}""")]
    [InlineData("""{"collectionName":"c","data":[{"id":1,"n":1.}]}""")]
    [InlineData("""{"collectionName":"c","data":[{"id":1,"n":1e}]}""")]
    [InlineData("""{"collectionName":"c","data":[{"id":1,"s":"\u12G4"}]}""")]
    public void BodyScan_LeavesToTheParser_WhatItDoesNotJudge(string body) =>
        Assert.Null(RestRowsBody.TryScan(Encoding.UTF8.GetBytes(body)));

    [Fact]
    public void BodyScan_LeavesDeepNesting_ToTheParser()
    {
        var deep = string.Concat(Enumerable.Repeat("[", 40)) + string.Concat(Enumerable.Repeat("]", 40));
        Assert.Null(RestRowsBody.TryScan(Encoding.UTF8.GetBytes($$"""{"collectionName":"c","data":[{"id":1,"j":{{deep}}}]}""")));
        Assert.NotNull(RestRowsBody.TryScan(Encoding.UTF8.GetBytes("""{"collectionName":"c","data":[{"id":1,"j":[[[1]]],"s":"\u00e9\"\\"}]}""")));
    }

    /// <summary>The outcome of a read as text: the columns bit for bit, or the refusal's type and message.</summary>
    private static string Outcome(Func<ColumnBatch> read)
    {
        try
        {
            return "rows " + Describe(read());
        }
        catch (Exception e)
        {
            return e.GetType().Name + ": " + e.Message;
        }
    }

    private static string Describe(ColumnBatch batch)
    {
        var text = new StringBuilder().Append(batch.RowCount);
        foreach (var c in batch.Columns)
        {
            text.Append('|').Append(c.Name).Append(':');
            if (c.Longs is { } longs)
            {
                text.AppendJoin(',', longs);
            }

            if (c.Doubles is { } doubles)
            {
                text.AppendJoin(',', MemoryMarshal.Cast<double, long>(doubles).ToArray());
            }

            if (c.Bools is { } bools)
            {
                text.AppendJoin(',', bools);
            }

            if (c.Strings is { } strings)
            {
                text.AppendJoin(',', strings.Select(s => s is null ? "<null>" : JsonSerializer.Serialize(s)));
            }

            if (c.Json is { } json)
            {
                text.AppendJoin(',', json.Select(j => j.ValueKind == JsonValueKind.Undefined ? "<none>" : j.GetRawText()));
            }

            if (c.Vectors is { } vectors)
            {
                text.AppendJoin(',', MemoryMarshal.Cast<float, int>(vectors).ToArray());
            }

            if (c.Sparse is { } sparse)
            {
                text.AppendJoin(',', sparse.Select(s => s is null ? "<null>" : string.Join(';', s.Indices.ToArray().Zip(MemoryMarshal.Cast<float, int>(s.Values).ToArray()))));
            }

            if (c.Nulls is { } nulls)
            {
                text.Append(" nulls ").AppendJoin(',', nulls);
            }
        }

        if (batch.Dynamic is { } dynamic)
        {
            text.Append("|$meta:").AppendJoin(',', dynamic.Select(d => d.ValueKind == JsonValueKind.Undefined ? "<none>" : d.GetRawText()));
        }

        return text.ToString();
    }

    /// <summary><paramref name="count"/> rows for <paramref name="schema"/>: every field in one of its input forms, some
    /// left out, null, of the wrong kind or malformed when <paramref name="odd"/>; dynamic keys, escapes, unknown keys.</summary>
    private static JsonArray Rows(Random r, CollectionSchema schema, int count, bool odd)
    {
        var rows = new JsonArray();
        for (var i = 0; i < count; i++)
        {
            if (odd && r.Next(30) == 0)
            {
                rows.Add(RestCases.Value(r, 2));
                continue;
            }

            var row = new JsonObject();
            foreach (var field in schema.Fields.OrderBy(_ => r.Next()))
            {
                var function = schema.Functions.Any(f => f.OutputFieldNames.Contains(field.Name));
                if ((function && !(odd && r.Next(20) == 0)) || (field.AutoId && r.Next(3) > 0) || (odd && r.Next(25) == 0))
                {
                    continue;
                }

                row[field.Name] = odd && r.Next(12) == 0 ? RestCases.Value(r, 3) : Value(r, field, odd && r.Next(4) == 0);
            }

            if (r.Next(3) == 0)
            {
                row[r.Next(8) switch { 0 => "$meta", 1 => "k\"q", 2 => "é", _ => "dyn" + r.Next(3) }] = RestCases.Value(r, 3);
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Stands in a row for a string holding an escaped lone surrogate (<c>"\uD800x"</c>), which a node
    /// cannot write; <see cref="Text"/> puts the escape in.</summary>
    private const string LoneSurrogate = "lone-surrogate-here";

    /// <summary>The text of <paramref name="node"/>, with the lone-surrogate escapes in place.</summary>
    private static string Text(JsonNode node, bool indented) =>
        node.ToJsonString(new JsonSerializerOptions { WriteIndented = indented }).Replace(LoneSurrogate, "\\uD800x", StringComparison.Ordinal);

    private static JsonNode? Value(Random r, FieldSchema field, bool odd)
    {
        if ((field.Nullable || field.DefaultValue is not null) && r.Next(8) == 0)
        {
            return null;
        }

        if (odd)
        {
            return r.Next(6) switch
            {
                0 => JsonValue.Create(r.Next(-200, 200).ToString(CultureInfo.InvariantCulture)),
                1 => JsonNode.Parse(NumberText(r)),
                2 => JsonValue.Create(LoneSurrogate),
                3 => JsonValue.Create(r.Next(2) == 0 ? LoneSurrogate : "a\"b\n"),
                4 => new JsonArray([.. Enumerable.Range(0, r.Next(0, 6)).Select(_ => JsonNode.Parse(NumberText(r)))]),
                _ => JsonValue.Create(r.Next(2) == 0),
            };
        }

        return field.DataType switch
        {
            DataType.Int64 => r.Next(4) == 0 ? JsonValue.Create(r.NextInt64().ToString(CultureInfo.InvariantCulture)) : JsonValue.Create(r.NextInt64(long.MinValue, long.MaxValue)),
            DataType.Bool => r.Next(5) == 0 ? JsonValue.Create(r.Next(2) == 0 ? "true" : "false") : JsonValue.Create(r.Next(2) == 0),
            DataType.Int8 or DataType.Int16 or DataType.Int32 => JsonNode.Parse(r.Next(6) == 0 ? "1.0" : r.Next(-128, 128).ToString(CultureInfo.InvariantCulture)),
            DataType.Float or DataType.Double => JsonNode.Parse(NumberText(r)),
            DataType.VarChar => JsonValue.Create(r.Next(4) switch { 0 => "é\"x", 1 => "", 2 => "tab\there", _ => "w" + r.Next(100) }),
            DataType.Json => RestCases.Value(r, 3) ?? JsonValue.Create(1),
            DataType.Array => new JsonArray([.. Enumerable.Range(0, r.Next(0, 4)).Select(_ => field.ElementType switch
            {
                DataType.VarChar => JsonValue.Create("s" + r.Next(9)),
                DataType.Bool => JsonValue.Create(r.Next(2) == 0),
                DataType.Float or DataType.Double => JsonNode.Parse(NumberText(r)),
                _ => (JsonNode?)JsonValue.Create(r.Next(-100, 100)),
            })]),
            DataType.FloatVector => new JsonArray([.. Enumerable.Range(0, r.Next(10) == 0 ? Dim + 1 : Dim).Select(_ => JsonNode.Parse(NumberText(r)))]),
            DataType.Float16Vector or DataType.BFloat16Vector => r.Next(3) == 0
                ? JsonValue.Create(Convert.ToBase64String(Enumerable.Range(0, Dim * 2).Select(_ => (byte)r.Next(0, 60)).ToArray()))
                : new JsonArray([.. Enumerable.Range(0, Dim).Select(_ => (JsonNode?)JsonValue.Create(r.Next(-8, 8) / 4.0))]),
            DataType.Int8Vector => new JsonArray([.. Enumerable.Range(0, Dim).Select(_ => (JsonNode?)JsonValue.Create(r.Next(-130, 130)))]),
            DataType.BinaryVector => r.Next(3) == 0
                ? JsonValue.Create(Convert.ToBase64String([(byte)r.Next(256), (byte)r.Next(256)]))
                : new JsonArray(JsonValue.Create(r.Next(0, 256)), JsonValue.Create(r.Next(0, 260))),
            DataType.SparseFloatVector => r.Next(2) == 0
                ? new JsonObject { [r.Next(100).ToString(CultureInfo.InvariantCulture)] = r.NextDouble(), ["200"] = 0.5 }
                : new JsonObject { ["indices"] = new JsonArray(1, r.Next(2, 9)), ["values"] = new JsonArray(0.25, r.NextDouble()) },
            DataType.Geometry => JsonValue.Create(r.Next(4) == 0 ? "POINT (1" : $"POINT ({r.Next(10)} {r.Next(10)})"),
            DataType.Timestamptz => r.Next(3) == 0 ? JsonValue.Create(r.NextInt64(0, 1L << 50)) : JsonValue.Create(r.Next(4) == 0 ? "2025-13-01" : "2025-06-01T12:30:00+02:00"),
            _ => JsonValue.Create(1),
        };
    }

    /// <summary>A JSON number's text: short and long mantissas, fractions, exponents, signs, zeros, values past float and
    /// double range.</summary>
    private static string NumberText(Random r)
    {
        if (r.Next(10) == 0)
        {
            return r.Pick(["0", "-0", "0.0", "-0.0", "1e400", "-1e400", "3.4028236e38", "1e-400", "9007199254740993", "4.9e-324", "123456789012345678901234567890", "0.1", "1E+2", "2.5e-3"]);
        }

        var text = new StringBuilder();
        if (r.Next(3) == 0)
        {
            text.Append('-');
        }

        var intDigits = r.Next(0, 12);
        text.Append(intDigits == 0 ? "0" : ((char)('1' + r.Next(9))).ToString());
        for (var d = 1; d < intDigits; d++)
        {
            text.Append((char)('0' + r.Next(10)));
        }

        if (r.Next(3) > 0)
        {
            text.Append('.');
            var fraction = r.Next(1, 20);
            for (var d = 0; d < fraction; d++)
            {
                text.Append((char)('0' + r.Next(10)));
            }
        }

        if (r.Next(4) == 0)
        {
            text.Append(r.Next(2) == 0 ? 'e' : 'E').Append(r.Pick(["", "+", "-"])).Append(r.Next(0, 40));
        }

        return text.ToString();
    }
}
