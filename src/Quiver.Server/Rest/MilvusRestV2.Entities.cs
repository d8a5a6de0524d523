using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Protocol.Schema;
using Quiver.Server.Milvus;
using Quiver.Server.Milvus.Data;
using Quiver.Wire;
using WireConsistency = Quiver.Protocol.Common.ConsistencyLevel;

namespace Quiver.Server.Rest;

internal static partial class MilvusRestV2
{
    // ---- entities ----

    // The data endpoints run one call each through the pipeline (gate, limits, metrics and audit count it once, under
    // the RPC it stands for) and call the service's transport-free methods; the schema is read inside the call, after
    // the gate, from the engine (cached per schema version), never through DescribeCollection.

    // Insert and upsert read the body's rows straight into engine columns (RestJsonReader) inside the call, after the
    // gate, for the collection's current schema, and run through the same rules as a gRPC Insert or Upsert (WriteInput),
    // with no Milvus message between: the gate counts the body's rows for the rows-per-request limit.

    private static Task<JsonNode?> InsertAsync(RestRequest r) => WriteAsync(r, upsert: false);

    private static Task<JsonNode?> UpsertAsync(RestRequest r) => WriteAsync(r, upsert: true);

    private static async Task<JsonNode?> WriteAsync(RestRequest r, bool upsert)
    {
        var collection = r.RequiredString("collectionName");
        var rows = RowsOf(r);
        var input = new WriteInput
        {
            Database = r.DatabaseOrDefault,
            Collection = collection,
            Partition = r.OptionalString("partitionName") ?? "",
            Upsert = upsert,
            Read = (schema, zone) => rows.Text is { } text
                ? ReadRows(schema, text.Rows.Span, text.Count, insert: !upsert, zone)
                : ReadRows(schema, rows.Element, insert: !upsert, zone),
        };
        var answer = (await r.CallAsync(upsert ? "Upsert" : "Insert", input, async (q, context) =>
            new Answered<MilvusGrpcService.WriteAnswer>(await r.Service.WriteColumnsAsync(q, context).ConfigureAwait(false)),
            writeRows: rows.Count).ConfigureAwait(false)).Value!;
        var ids = KeysJson(answer.Schema.PrimaryKey, answer.Result.Keys, r.AllowInt64);
        return upsert
            ? new JsonObject { ["upsertCount"] = answer.Result.Count, ["upsertIds"] = ids }
            : new JsonObject { ["insertCount"] = answer.Result.Count, ["insertIds"] = ids };
    }

    /// <summary>The rows of a write body: its text kept by <see cref="RestRowsBody"/>, else the parsed <c>data</c> (a
    /// non-empty array, refused with 1802/1801 otherwise).</summary>
    private static BodyRows RowsOf(RestRequest r)
    {
        if (r.Rows is { } kept)
        {
            return new BodyRows(kept, default, kept.Count);
        }

        var element = r.RequiredArrayElement("data");
        return new BodyRows(null, element, element.GetArrayLength());
    }

    /// <summary>A write body's rows, as text or as the parsed array.</summary>
    private readonly record struct BodyRows(RestRowsBody? Text, JsonElement Element, int Count);

    /// <summary>The rows of an insert or upsert body as engine columns; a row value that does not fit is Milvus's 1804.</summary>
    internal static ColumnBatch ReadRows(CollectionSchema schema, JsonElement rows, bool insert, TimeZoneInfo? zone = null)
    {
        try
        {
            return RestJsonReader.Read(schema, rows, insert, zone);
        }
        catch (RestDataException e)
        {
            throw InvalidInsertData(e);
        }
    }

    /// <summary>As <see cref="ReadRows(CollectionSchema, JsonElement, bool, TimeZoneInfo)"/>, from the text of the rows (one pass, no
    /// document), with the same answers.</summary>
    internal static ColumnBatch ReadRows(CollectionSchema schema, ReadOnlySpan<byte> rows, int count, bool insert, TimeZoneInfo? zone = null)
    {
        try
        {
            return RestJsonReader.Read(schema, rows, count, insert, zone);
        }
        catch (RestDataException e)
        {
            throw InvalidInsertData(e);
        }
    }

    private static MilvusException InvalidInsertData(RestDataException e) =>
        new(MilvusCode.InvalidInsertData, "fail to deal with insert data, error: " + e.Message);

    /// <summary>An Int64 value as Milvus's REST API returns it: a string, or a number when the client allows.</summary>
    internal static JsonNode Int64Node(long value, bool allowInt64) =>
        allowInt64 ? JsonValue.Create(value) : JsonValue.Create(value.ToString(CultureInfo.InvariantCulture));

    /// <summary>The engine's keys of a write (boxed <c>long</c> or <c>string</c>, in input order) as Milvus's REST API
    /// returns them, as <see cref="IdsJson"/> prints the same keys sent as Milvus's <c>IDs</c>.</summary>
    private static JsonArray KeysJson(FieldSchema key, IReadOnlyList<object> keys, bool allowInt64)
    {
        var items = new JsonNode?[keys.Count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = key.DataType == DataType.Int64
                ? Int64Node(Convert.ToInt64(keys[i], CultureInfo.InvariantCulture), allowInt64)
                : JsonValue.Create((string)keys[i]);
        }
        return new JsonArray(items);
    }

    /// <summary>Primary keys as Milvus's REST API returns them (Int64 as strings unless the client allows numbers).</summary>
    internal static JsonArray IdsJson(IDs? ids, bool allowInt64) => ids?.IdFieldCase switch
    {
        IDs.IdFieldOneofCase.IntId => new JsonArray(ids.IntId.Data.Select(id => (JsonNode?)Int64Node(id, allowInt64)).ToArray()),
        IDs.IdFieldOneofCase.StrId => Strings(ids.StrId.Data),
        _ => [],
    };

    // Delete, query and get read the body straight into the values the Milvus rules take (DeleteInput, QueryInput) and
    // run through the same rules as a gRPC Delete or Query, with no Milvus message between: the pipeline takes the
    // input's database and collection; template values are read before the call (refused as the body's format).

    private static async Task<JsonNode?> DeleteAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var filter = r.OptionalString("filter");
        var id = string.IsNullOrEmpty(filter) ? r.Body["id"] ?? throw RestRequest.Missing("filter", "string (or 'id')") : null;
        var templates = RestTemplates.Values(r.Body["exprParams"], "$.exprParams");
        var input = new DeleteInput
        {
            Database = r.DatabaseOrDefault,
            Collection = collection,
            Partition = r.OptionalString("partitionName") ?? "",
            Filter = filter ?? "",
            // A delete by id builds its key filter on the schema the delete looks up (one lookup per delete).
            KeyFilter = id is null ? null : schema => IdFilter(schema, id),
            FilterParams = () => templates,
        };
        var result = await r.CallAsync("Delete", input, (q, context) => r.Service.DeleteAsync(q, context)).ConfigureAwait(false);
        return new JsonObject { ["deleteCount"] = result.DeleteCnt };
    }

    /// <summary>The filter <c>pk in [...]</c> for the body's <c>id</c> (one key or a list).</summary>
    internal static string IdFilter(CollectionSchema schema, JsonNode id)
    {
        var primary = schema.PrimaryKey;
        var items = id is JsonArray array ? array.ToList() : [id];
        if (items.Count == 0)
        {
            throw RestRequest.Missing("id", "primary key or non-empty list of primary keys");
        }
        var keys = new List<string>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var path = id is JsonArray ? $"$.id[{i}]" : "$.id";
            var item = items[i] ?? throw RestRequest.Format(path, "must be a primary key, got null");
            keys.Add(primary.DataType == DataType.Int64
                ? RestRequest.LongOf(item, path).ToString(CultureInfo.InvariantCulture)
                : Quoted(RestRequest.StringOf(item, path) ?? ""));
        }
        return $"{primary.Name} in [{string.Join(",", keys)}]";
    }

    /// <summary>A string literal of Milvus's filter language.</summary>
    private static string Quoted(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static async Task<JsonNode?> QueryAsync(RestRequest r)
    {
        // The body's members are read (and refused) in this order.
        var outputFields = r.OptionalStrings("outputFields") ?? ["*"];
        var collection = r.RequiredString("collectionName");
        var filter = r.OptionalString("filter") ?? "";
        var partitions = r.OptionalStrings("partitionNames") ?? [];
        var templates = RestTemplates.Values(r.Body["exprParams"], "$.exprParams");
        // Consistency is read for its refusal only: every read sees every acknowledged write (docs/server-data.md).
        SetConsistency(r, out _, out _);
        var offset = r.OptionalLong("offset") ?? 0;
        var limit = r.OptionalLong("limit") ?? 100;
        var timezone = r.OptionalString(Timestamptz.TimezoneProperty);
        var input = new QueryInput
        {
            Database = r.DatabaseOrDefault,
            Collection = collection,
            Filter = filter,
            OutputFields = outputFields,
            Partitions = partitions,
            // A limit or offset of 0 or less is none; count(*) reads no window.
            Source = new RestQuerySource(templates, timezone, limit > 0 ? limit : null, offset),
        };
        await QueryRowsAsync(r, input).ConfigureAwait(false);
        return null;
    }

    /// <summary>A REST query's template values, timezone and window as the body gave them, checked by the rules in the
    /// words of a gRPC query's <c>query_params</c>.</summary>
    private sealed class RestQuerySource(IReadOnlyDictionary<string, object?>? templates, string? timezone, long? limit, long offset) : QuerySource
    {
        /// <inheritdoc />
        public override IReadOnlyDictionary<string, object?>? FilterParams() => templates;

        /// <inheritdoc />
        public override string? Timezone() => RequestValues.Timezone(timezone);

        /// <inheritdoc />
        public override (int? Limit, int Offset) Window()
        {
            // The offset first, as gRPC's pairs are read in the order REST sent them.
            var checkedOffset = offset > 0 ? RequestValues.WindowValue("offset", offset, offset.ToString(CultureInfo.InvariantCulture)) : 0;
            int? checkedLimit = limit is { } l ? RequestValues.WindowValue("limit", l, l.ToString(CultureInfo.InvariantCulture)) : null;
            return (checkedLimit, checkedOffset);
        }
    }

    /// <summary>Runs a query (or a get) and writes its rows straight from the engine's columns.</summary>
    private static async Task QueryRowsAsync(RestRequest r, QueryInput input)
    {
        var answer = await r.CallAsync("Query", input, async (q, context) =>
            new Answered<MilvusGrpcService.QueryAnswer>(await r.Service.QueryColumnsAsync(q, context).ConfigureAwait(false))).ConfigureAwait(false);
        var query = answer.Value!;
        if (query.Count is { } count)
        {
            r.WriteData = w =>
            {
                w.WriteStartArray();
                w.WriteStartObject();
                w.WritePropertyName(MilvusGrpcService.CountStar);
                RestJsonWriter.WriteInt64(w, count, r.AllowInt64);
                w.WriteEndObject();
                w.WriteEndArray();
            };
            return;
        }
        var rows = query.Rows!;
        var fields = rows.Columns.Select(c => query.Schema.Find(c.Name)).OfType<FieldSchema>().ToList();
        r.WriteData = w => RestJsonWriter.WriteRows(w, fields, rows, query.Output!.Names, null, null, r.AllowInt64);
    }

    private static async Task<JsonNode?> GetAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var id = r.Body["id"] ?? throw RestRequest.Missing("id", "primary key or list of primary keys");
        var input = new QueryInput
        {
            Database = r.DatabaseOrDefault,
            Collection = collection,
            OutputFields = r.OptionalStrings("outputFields") ?? ["*"],
            Partitions = r.OptionalStrings("partitionNames") ?? [],
            KeyFilter = schema => IdFilter(schema, id),
            Source = new RestQuerySource(null, null, null, 0),
        };
        await QueryRowsAsync(r, input).ConfigureAwait(false);
        return null;
    }

    private static void SetConsistency(RestRequest r, out WireConsistency level, out bool useDefault)
    {
        var name = r.OptionalString("consistencyLevel");
        useDefault = string.IsNullOrEmpty(name);
        level = useDefault ? WireConsistency.Bounded : RestSchema.ParseConsistency(name!, "$.consistencyLevel");
    }

    /// <summary>A search's or hybrid search's hits as Milvus's REST API prints them, straight from the engine's columns:
    /// one flat list of rows (<c>id</c>, <c>distance</c>, output fields) over all queries, the per-query counts in the
    /// top-level <c>topks</c>.</summary>
    private static void WriteHits(RestRequest r, Milvus.Data.OutputFields output, SearchColumns hits, int roundDecimal)
    {
        r.Extra["topks"] = new JsonArray(hits.Counts.Select(k => (JsonNode?)(long)k).ToArray());
        r.WriteData = w => RestJsonWriter.WriteRows(w, output.Declared, hits.Fields, output.Names, hits.Ids,
            RoundScores(hits.Scores, roundDecimal), r.AllowInt64);
    }

    /// <summary>Scores rounded as Milvus rounds them for <c>round_decimal</c> (-1: as computed).</summary>
    private static float[] RoundScores(float[] scores, int roundDecimal) => roundDecimal < 0
        ? scores
        : [.. scores.Select(s => (float)Math.Round(s, Math.Min(roundDecimal, 15), MidpointRounding.AwayFromZero))];
}
