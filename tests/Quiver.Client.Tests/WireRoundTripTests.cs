using Google.Protobuf;
using Quiver.Protocol.Milvus;
using Quiver.Testing;
using Quiver.Wire;
using Proto = Quiver.Protocol.Schema;

namespace Quiver.Client.Tests;

/// <summary>The one conversion layer (Quiver.Wire) in both directions, as the client and the server use it: every field
/// type, nulls in both wire forms, defaults, JSON, arrays and dynamic keys survive FieldData → columns → FieldData, and
/// client rows → wire → server columns → engine → wire → client rows come back equal.</summary>
public sealed class WireRoundTripTests
{
    private readonly CollectionSchema _schema = AllTypes.Schema();

    /// <summary>Columns through protobuf bytes, as they cross the network.</summary>
    private static List<Proto.FieldData> OverTheWire(IEnumerable<Proto.FieldData> columns)
    {
        var message = new QueryResults();
        message.FieldsData.Add(columns);
        return [.. QueryResults.Parser.ParseFrom(message.ToByteArray()).FieldsData];
    }

    private static byte[] Bytes(IEnumerable<Proto.FieldData> columns)
    {
        var message = new QueryResults();
        message.FieldsData.Add(columns);
        return message.ToByteArray();
    }

    [Theory]
    [InlineData(NullForm.Compact)]
    [InlineData(NullForm.Dense)]
    public void FieldData_ToColumns_AndBack_IsTheSameFieldData_EveryType(NullForm form)
    {
        var rows = AllTypes.Rows(seed: 3, count: 40);
        var batch = ColumnBatch.FromRows(_schema, rows, upsert: true);
        var first = FieldDataWriter.Write(_schema, batch, form);
        var nullable = first.Single(c => c.FieldName == "i16");
        var nulls = rows.Count(r => r["i16"] is null);
        Assert.Equal(rows.Count, nullable.ValidData.Count);
        Assert.Equal(form == NullForm.Compact ? rows.Count - nulls : rows.Count, nullable.Scalars.IntData.Data.Count);

        var read = FieldDataReader.ReadRequest(_schema, OverTheWire(first), (uint)rows.Count, "insert");
        Assert.Equal(Bytes(first), Bytes(FieldDataWriter.Write(_schema, read, form)));
        Assert.Equal(batch.ToRows(_schema).Select(AllTypes.Canonical), read.ToRows(_schema).Select(AllTypes.Canonical));

        // A client reads the same columns without the schema (types from the columns themselves).
        Assert.Equal(batch.ToRows(_schema).Select(AllTypes.Canonical), SearchResultCodec.ReadRows(OverTheWire(first)).Select(AllTypes.Canonical));
    }

    [Fact]
    public async Task ClientRows_ThroughTheServerAndTheEngine_ComeBackEqual()
    {
        using var dir = new TempFolder();
        await using var engine = await QuiverEngine.OpenAsync(dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await engine.CreateCollectionAsync("c", _schema);
        var rows = AllTypes.Rows(seed: 12, count: 50);

        // Client: rows checked by the engine's rules, written compact (as Milvus SDKs send).
        var request = OverTheWire(FieldDataWriter.Write(_schema, ColumnBatch.FromRows(_schema, rows, upsert: false), NullForm.Compact));
        // Server: columns to the engine, then its answer as dense columns.
        await engine.InsertAsync("c", FieldDataReader.ReadRequest(_schema, request, (uint)rows.Count, "insert"));
        var keys = rows.Select(r => r["id"]!).ToList();
        var answer = OverTheWire(FieldDataWriter.Write(_schema, await engine.GetColumnsAsync("c", keys, ["*"]), NullForm.Dense));
        // Client: rows again.
        var back = SearchResultCodec.ReadRows(answer);

        Assert.Equal(rows.Select(r => AllTypes.Canonical(AllTypes.Expected(_schema, r))), back.Select(AllTypes.Canonical));
    }

    [Fact]
    public async Task SearchColumns_ThroughSearchResultData_AreTheEnginesHits()
    {
        using var dir = new TempFolder();
        await using var engine = await QuiverEngine.OpenAsync(dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await engine.CreateCollectionAsync("c", _schema);
        await engine.InsertAsync("c", AllTypes.Rows(seed: 5, count: 60));
        var search = new SearchRequest { Vectors = [[1, 0, 0, 0], [0, 0, 1, 0]], Limit = 6, OutputFields = ["*"] };
        var expected = await engine.SearchAsync("c", search);
        var columns = await engine.SearchColumnsAsync("c", search);
        var declared = _schema.Fields.ToList();
        var data = SearchResultCodec.Write(_schema, columns, 6, declared, [.. declared.Select(f => f.Name), "$meta"], null, -1);
        var result = SearchResultCodec.Read(Proto.SearchResultData.Parser.ParseFrom(data.ToByteArray()), 2);

        Assert.Equal(expected.Hits.Length, result.Hits.Length);
        for (var q = 0; q < expected.Hits.Length; q++)
        {
            Assert.Equal(expected.Hits[q].Select(h => (h.Id, h.Score)), result.Hits[q].Select(h => (h.Id, h.Score)));
            Assert.Equal(expected.Hits[q].Select(h => AllTypes.Canonical(h.Fields)), result.Hits[q].Select(h => AllTypes.Canonical(h.Fields)));
        }
    }

    [Fact]
    public void FieldDataReader_RefusesColumnsThatDoNotFit_NamingFieldAndRow()
    {
        var rows = AllTypes.Rows(seed: 1, count: 3);
        var columns = FieldDataWriter.Write(_schema, ColumnBatch.FromRows(_schema, rows, upsert: true), NullForm.Dense);

        var twice = new List<Proto.FieldData>(columns) { columns[1] };
        var e = Assert.Throws<QuiverException>(() => FieldDataReader.ReadRequest(_schema, twice, 3, "insert"));
        Assert.Equal("insert: field 'flag' appears twice in fields_data", e.Message);

        var wrongType = columns.Select(c => c.FieldName == "i32" ? new Proto.FieldData(c) { Type = Proto.DataType.Int64 } : c).ToList();
        e = Assert.Throws<QuiverException>(() => FieldDataReader.ReadRequest(_schema, wrongType, 3, "upsert"));
        Assert.Equal("upsert: field 'i32' is Int32 in the schema, but fields_data sends Int64", e.Message);

        var badJson = columns.Select(c => c.FieldName == "doc" ? JsonColumn(c, "{\"a\":") : c).ToList();
        e = Assert.Throws<QuiverException>(() => FieldDataReader.ReadRequest(_schema, badJson, 3, "insert"));
        Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
        Assert.Contains("row 1, field 'doc': malformed JSON", e.Message, StringComparison.Ordinal);

        var shortVectors = columns.Select(c => c.FieldName == "vec" ? new Proto.FieldData(c) { Vectors = new Proto.VectorField { Dim = 4, FloatVector = new Proto.FloatArray { Data = { 1, 2, 3, 4 } } } } : c).ToList();
        e = Assert.Throws<QuiverException>(() => FieldDataReader.ReadRequest(_schema, shortVectors, 3, "insert"));
        Assert.Equal("insert: field 'vec' carries 4 floats for 3 rows of dimension 4; expected 12", e.Message);
    }

    private static Proto.FieldData JsonColumn(Proto.FieldData column, string second)
    {
        var copy = new Proto.FieldData(column);
        copy.Scalars.JsonData.Data[1] = ByteString.CopyFromUtf8(second);
        return copy;
    }

    public static TheoryData<DataType, string> Defaults => new()
    {
        { DataType.Bool, "true" },
        { DataType.Int8, "-128" },
        { DataType.Int16, "32767" },
        { DataType.Int32, "-2147483648" },
        { DataType.Int64, "9223372036854775807" },
        { DataType.Float, "0.25" },
        { DataType.Double, "1E+300" },
        { DataType.VarChar, "\"caf\u00e9\"" },
        { DataType.Geometry, "\"POINT (1 2)\"" },
    };

    /// <summary>One default-value conversion for client and server: every type Milvus holds a default for goes to the
    /// wire and back (through protobuf bytes) equal, in the kind Milvus's SDKs send it.</summary>
    [Theory]
    [MemberData(nameof(Defaults))]
    public void DefaultValue_ToWireAndBack_IsTheSame_EveryType(DataType type, string json)
    {
        var value = System.Text.Json.JsonDocument.Parse(json).RootElement;
        var field = new FieldSchema { Name = "f", DataType = type, MaxLength = type == DataType.VarChar ? 8 : null, DefaultValue = value };
        Assert.True(DefaultValues.TryToWire(field, value, out var wire, out var problem), problem);
        var expectedKind = type switch
        {
            DataType.Bool => Proto.ValueField.DataOneofCase.BoolData,
            DataType.Int64 => Proto.ValueField.DataOneofCase.LongData,
            DataType.Float => Proto.ValueField.DataOneofCase.FloatData,
            DataType.Double => Proto.ValueField.DataOneofCase.DoubleData,
            DataType.VarChar or DataType.Geometry => Proto.ValueField.DataOneofCase.StringData,
            _ => Proto.ValueField.DataOneofCase.IntData,
        };
        Assert.Equal(expectedKind, wire!.DataCase);
        var back = DefaultValues.FromWire("f", type, Proto.ValueField.Parser.ParseFrom(wire.ToByteArray()));
        Assert.Equal(AllTypes.Canonical(value), AllTypes.Canonical(back));

        // The client's and the server's schema conversions both take this path.
        var schema = new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), field, FieldSchema.Vector("v", 2)] };
        var server = Quiver.Server.Milvus.SchemaConversion.ToProto("c", schema, "default");
        Assert.Equal(wire, server.Fields[1].DefaultValue);
        var client = Remote.SchemaConverter.ToMilvus("c", schema);
        Assert.Equal(wire, client.Fields[1].DefaultValue);
    }

    /// <summary>A TIMESTAMPTZ default is kept as UTC microseconds, described as RFC 3339 text (what the SDKs parse as a
    /// date), and read back from that text or from <c>timestamptz_data</c> microseconds (what the Node SDK sends) alike.</summary>
    [Fact]
    public void DefaultValue_Timestamptz_TravelsAsTextAndMicroseconds()
    {
        var iso = System.Text.Json.JsonDocument.Parse("\"1984-04-14T15:00:00+08:00\"").RootElement;
        var field = new FieldSchema { Name = "t", DataType = DataType.Timestamptz, DefaultValue = iso };
        Assert.True(DefaultValues.TryToWire(field, iso, out var wire, out var problem), problem);
        Assert.Equal("1984-04-14T07:00:00Z", wire!.StringData);
        const long micros = 450_774_000_000_000;
        Assert.Equal(micros, DefaultValues.FromWire("t", DataType.Timestamptz, wire)!.Value.GetInt64());
        Assert.Equal(micros, DefaultValues.FromWire("t", DataType.Timestamptz, new Proto.ValueField { TimestamptzData = micros })!.Value.GetInt64());
        var bad = Assert.Throws<QuiverException>(() => DefaultValues.FromWire("t", DataType.Timestamptz, new Proto.ValueField { StringData = "later" }));
        Assert.Contains("field 't': default_value 'later' is not an ISO 8601 timestamp", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultValue_WhatMilvusDoesNotHold_IsRefusedNamingTheField()
    {
        var json = FieldSchema.Json("doc") with { DefaultValue = System.Text.Json.JsonDocument.Parse("{}").RootElement };
        Assert.False(DefaultValues.TryToWire(json, json.DefaultValue!.Value, out _, out var problem));
        Assert.Contains("field 'doc': Json fields take no default value", problem, StringComparison.Ordinal);
        var array = Assert.Throws<QuiverException>(() => DefaultValues.FromWire("tags", DataType.Array, new Proto.ValueField { StringData = "[]" }));
        Assert.Contains("field 'tags': Array fields take no default value", array.Message, StringComparison.Ordinal);
        var kind = Assert.Throws<QuiverException>(() => DefaultValues.FromWire("n", DataType.Int32, new Proto.ValueField { StringData = "3" }));
        Assert.Contains("field 'n': default_value of kind StringData does not fit a Int32 field", kind.Message, StringComparison.Ordinal);
        var nan = Assert.Throws<QuiverException>(() => DefaultValues.FromWire("x", DataType.Float, new Proto.ValueField { FloatData = float.NaN }));
        Assert.Contains("field 'x': default_value NaN is not a finite number", nan.Message, StringComparison.Ordinal);
        var fit = FieldSchema.Scalar("n", DataType.Int8) with { DefaultValue = System.Text.Json.JsonDocument.Parse("\"x\"").RootElement };
        Assert.False(DefaultValues.TryToWire(fit, fit.DefaultValue!.Value, out _, out problem));
        Assert.Contains("field 'n': default value \"x\" does not fit Int8", problem, StringComparison.Ordinal);
        Assert.Null(DefaultValues.FromWire("n", DataType.Int8, new Proto.ValueField()));
    }
}
