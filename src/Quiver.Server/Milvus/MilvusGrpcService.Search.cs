using System.Globalization;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Server.Milvus.Data;
using Quiver.Wire;
using EngineSearch = Quiver.SearchRequest;

namespace Quiver.Server.Milvus;

/// <summary>Vector search: Search (top-k, filter, range, group-by, offset, search iterator v2); HybridSearch is in
/// MilvusGrpcService.Hybrid.cs. See docs/server-data.md.</summary>
internal sealed partial class MilvusGrpcService
{
    /// <summary>Milvus's limit on top-k and on nq (<c>quota.limits.topK</c>, <c>maxNQ</c>).</summary>
    internal const int MaxTopKOrNq = 16_384;

    /// <inheritdoc />
    public override Task<SearchResults> Search(Protocol.Milvus.SearchRequest request, ServerCallContext context) => SearchAsync(request, context);

    /// <summary>Search for gRPC: the answer of <see cref="SearchColumnsAsync(Protocol.Milvus.SearchRequest, ServerCallContext)"/> as Milvus's result data.</summary>
    internal async Task<SearchResults> SearchAsync(Protocol.Milvus.SearchRequest request, ServerCallContext context)
    {
        var answer = await SearchColumnsAsync(request, context).ConfigureAwait(false);
        if (answer.Page is { } page)
        {
            var data = SearchResultCodec.Write(answer.Schema, page.Hits, page.BatchSize, answer.Output.Declared, answer.Output.Names, null,
                answer.Settings.RoundDecimal);
            data.SearchIteratorV2Results = new SearchIteratorV2Results { Token = page.Token, LastBound = page.LastBound };
            return new SearchResults { Status = SearchOk, CollectionName = request.CollectionName, Results = data };
        }

        return new SearchResults
        {
            Status = SearchOk,
            CollectionName = request.CollectionName,
            Results = SearchResultCodec.Write(answer.Schema, answer.Hits!, answer.Settings.TopK, answer.Output.Declared, answer.Output.Names,
                answer.GroupBy, answer.Settings.RoundDecimal),
        };
    }

    /// <summary>The status of every successful search's answer, one instance: a new <c>Status</c> costs its
    /// <c>extra_info</c> map (a dictionary and a linked list) per call. Shared because nothing changes a status in place
    /// (a failed call's status is a new one, set by the pipeline on a new response).</summary>
    private static readonly Protocol.Common.Status SearchOk = MilvusStatus.Ok();

    /// <summary>A search's answer: the hits as engine columns with what the transport needs to write them, or a search
    /// iterator page.</summary>
    internal sealed record SearchAnswer(CollectionSchema Schema, SearchSettings Settings, OutputFields Output, FieldSchema? GroupBy,
        SearchColumns? Hits, IteratorPage? Page);

    /// <summary>A page of the search iterator v2 as engine columns (one query), with what the next page is asked with.</summary>
    /// <param name="Hits">The page's hits.</param>
    /// <param name="BatchSize">The page size asked for (Milvus reports it as the answer's <c>top_k</c>).</param>
    /// <param name="LastBound">The score of the page's last hit (the asked bound when the page is empty).</param>
    /// <param name="Token">The keys returned so far at exactly <paramref name="LastBound"/> (<c>search_iter_id</c>).</param>
    internal sealed record IteratorPage(SearchColumns Hits, int BatchSize, float LastBound, string Token);

    /// <summary>Search for a gRPC request: <see cref="SearchColumnsAsync(SearchInput, ServerCallContext, Action{ResolvedCollection}?)"/>
    /// over the request as it came.</summary>
    internal Task<SearchAnswer> SearchColumnsAsync(Protocol.Milvus.SearchRequest request, ServerCallContext context) =>
        SearchColumnsAsync(WireSearchSource.Of(request), context);

    /// <summary>Search: the Milvus rules, whatever the transport; the hits stay columns for the transport to write.
    /// <paramref name="complete"/>, when given, completes the search from the collection this call looked up (REST
    /// resolves its vector field and reads its vectors for the field's type there), before anything else reads it, so
    /// that a search looks the schema up once.</summary>
    internal async Task<SearchAnswer> SearchColumnsAsync(SearchInput input, ServerCallContext context, Action<ResolvedCollection>? complete = null)
    {
        var db = Database(input.Database, context);
        var ct = context.CancellationToken;
        var name = input.Collection;
        var collection = Collection(name, db);
        complete?.Invoke(collection);
        var schema = collection.Schema;
        var partitions = EnsureLoaded(db, name, input.Partitions);
        var settings = input.Source.Settings(this);
        // One engine request, built once with its partitions and output fields (two copies of it were made per call).
        var (plan, output, groupBy) = await PlanAsync(name, db, schema, settings, input, partitions, resolveOutput: true, ct).ConfigureAwait(false);

        var recall = Recall;
        if (settings.IteratorV2)
        {
            var page = await SearchIteratorPageAsync(name, db, schema, settings, plan, output, groupBy, ct).ConfigureAwait(false);
            recall?.Offer(db, collection.Name, plan, (SearchResult?)null);
            return new SearchAnswer(schema, settings, output, groupBy, null, page);
        }

        // Before anything is searched or built: the answer's size is known from nq, top-k (+ offset, or groups × group
        // size) and the output fields.
        // No query returns more hits than the collection has rows. Counting the rows takes the shard's apply lock, so it
        // is done only for an answer that could matter: one within the budget and under the reclaimer's threshold
        // without the cap is admitted and reported the same with or without it (the usual top-k).
        var asked = groupBy is null
            ? (long)settings.TopK + settings.Offset
            : ((long)settings.TopK + settings.Offset) * Math.Max(1, settings.GroupSize);
        var bytesPerHit = ResultBudget.BytesPerItem(schema, output, withScore: true);
        var small = Math.Min(_options.Memory.MaxResultBytes, Hosting.MemoryReclaimer.Threshold - 1);
        long estimate;
        if (asked <= small / bytesPerHit / Nq(plan))
        {
            estimate = Nq(plan) * asked * bytesPerHit;
        }
        else
        {
            var rowCount = _engine.CountRows(name, db);
            estimate = ResultBudget.Check(Nq(plan) * Math.Min(rowCount, asked), bytesPerHit, _options.Memory.MaxResultBytes, "search",
                new SearchShape(Nq(plan), settings, groupBy is not null, rowCount));
        }

        CallInfo.Of(context).ResultBytes = estimate;
        var result = await _engine.SearchColumnsAsync(name, plan, db, ct).ConfigureAwait(false);
        // Sampling copies ids and queues, it never waits for the exact re-run.
        recall?.Offer(db, collection.Name, plan, result);
        return new SearchAnswer(schema, settings, output, groupBy, result, null);
    }

    /// <summary>How many times this service has read a search's settings from Milvus's <c>search_params</c> pairs: a
    /// count for tests that a transport which hands them over typed (REST) is not read this way.</summary>
    internal long SearchParamsRead => Interlocked.Read(ref _searchParamsRead);

    private long _searchParamsRead;

    /// <summary>A search's settings from its <c>search_params</c> pairs, counted in <see cref="SearchParamsRead"/>.</summary>
    internal SearchSettings ReadSettings(Google.Protobuf.Collections.RepeatedField<Protocol.Common.KeyValuePair> pairs)
    {
        Interlocked.Increment(ref _searchParamsRead);
        return SearchParamsParser.Parse(pairs);
    }

    /// <summary>Checks a search request the way Milvus does and turns it into the engine's request over
    /// <paramref name="partitions"/>. With <paramref name="resolveOutput"/>, the request's output fields and group-by
    /// field are then checked (after the search's own checks, so a request wrong in both is refused for the search) and
    /// the engine is asked for them; else (a hybrid search's requests) the plan asks for no fields and both are null.</summary>
    private async ValueTask<(EngineSearch Plan, OutputFields Output, FieldSchema? GroupBy)> PlanAsync(string name, string db, CollectionSchema schema,
        SearchSettings settings, SearchInput input, IReadOnlyList<string> partitions, bool resolveOutput, CancellationToken ct)
    {
        if (settings.TopK is < 1 or > MaxTopKOrNq)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"topk [{settings.TopK}] is invalid, it should be in range [1, {MaxTopKOrNq}]");
        }

        if (settings.Offset < 0 || (long)settings.Offset + settings.TopK > MaxTopKOrNq)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"offset [{settings.Offset}] is invalid: offset + topk must be at most {MaxTopKOrNq}, got {(long)settings.Offset + settings.TopK}");
        }

        var field = AnnsField(schema, settings.AnnsField);
        if (settings.Metric is { } metric && metric != field.Metric)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"metric type not match: the search asks for {SearchParamsParser.MetricName(metric)}, but field '{field.Name}' uses {SearchParamsParser.MetricName(field.Metric)}");
        }

        if (input.StatedNq > MaxTopKOrNq)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"nq [{input.StatedNq}] is invalid, it should be in range [1, {MaxTopKOrNq}]");
        }

        var queries = input.Source.Read(field);
        var bm25Texts = field.Metric == MetricType.BM25 ? queries.Texts : null;
        var sparse = queries.Sparse;
        var vectors = sparse is not null || bm25Texts is not null ? []
            : queries.Keys is { } keys
                ? await VectorsByKeysAsync(name, db, schema, field, keys, input.Partitions, ct).ConfigureAwait(false)
            : queries.Texts is { } texts
                ? [.. await _engine.EmbedQueriesAsync(name, field.Name, texts, db, ct).ConfigureAwait(false)]
                : queries.Vectors!;
        var nq = bm25Texts?.Count ?? sparse?.Count ?? vectors.Count;
        if (nq is 0 or > MaxTopKOrNq)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"nq [{nq}] is invalid, it should be in range [1, {MaxTopKOrNq}]");
        }

        if (input.StatedNq != 0 && input.StatedNq != nq)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"nq [{input.StatedNq}] does not match the {nq} query vectors sent");
        }

        var output = resolveOutput ? OutputFields.Resolve(schema, input.OutputFields) : null;
        var groupBy = resolveOutput ? GroupField(schema, settings.GroupByField) : null;
        var plan = new EngineSearch
        {
            Vectors = vectors,
            SparseVectors = sparse,
            QueryTexts = bm25Texts,
            AnnsField = field.Name,
            Limit = settings.TopK,
            Offset = settings.Offset,
            Filter = input.Filter,
            FilterParams = input.Source.FilterParams(),
            Partitions = partitions,
            OutputFields = output is null ? [] : WithGroupField(output, groupBy),
            Radius = settings.Radius,
            RangeFilter = settings.RangeFilter,
            GroupByField = settings.GroupByField,
            GroupSize = settings.GroupSize,
            SearchParams = settings.IndexParams,
            Timezone = settings.Timezone,
        };
        return (plan, output!, groupBy);
    }

    /// <summary>Where a search's result count comes from, for the result budget's refusal: formatted only when the
    /// budget refuses, not on every call.</summary>
    private readonly record struct SearchShape(int Nq, SearchSettings Settings, bool Grouped, long Rows)
    {
        public override string ToString() => Grouped
            ? $"nq {Nq} × min((topk {Settings.TopK} + offset {Settings.Offset}) groups × group_size {Settings.GroupSize}, {Rows} rows)"
            : $"nq {Nq} × min(topk {Settings.TopK} + offset {Settings.Offset}, {Rows} rows)";
    }

    private static int Nq(EngineSearch plan) => plan.QueryTexts?.Count ?? plan.SparseVectors?.Count ?? plan.Vectors.Count;

    private static FieldSchema AnnsField(CollectionSchema schema, string? annsField)
    {
        if (annsField is null)
        {
            var vectors = schema.Fields.Where(f => f.IsVector || f.IsSparseVector).ToList();
            return vectors.Count == 1
                ? vectors[0]
                : throw new MilvusException(MilvusCode.ParameterInvalid,
                    $"anns_field is required: the collection has {vectors.Count} vector fields ({string.Join(", ", vectors.Select(v => v.Name))})");
        }

        var field = schema.Find(annsField) ?? throw new MilvusException(MilvusCode.ParameterInvalid,
            $"failed to get field schema by name: fieldName({annsField}) not found");
        return field.IsVector || field.IsSparseVector ? field : throw new MilvusException(MilvusCode.ParameterInvalid,
            $"anns_field '{annsField}' is {field.DataType}, not a vector field");
    }

    private static FieldSchema? GroupField(CollectionSchema schema, string? name) =>
        name is null ? null : schema.Find(name) ?? throw new MilvusException(MilvusCode.ParameterInvalid,
            $"group_by_field '{name}' does not exist in the collection schema");

    private static IReadOnlyList<string> WithGroupField(OutputFields output, FieldSchema? groupBy) =>
        groupBy is null || output.Declared.Contains(groupBy) ? output.EngineNames : [.. output.EngineNames, groupBy.Name];

    /// <summary>Search by primary keys (the request's <c>ids</c>): the rows' own vectors are the queries.</summary>
    private async Task<List<float[]>> VectorsByKeysAsync(string name, string db, CollectionSchema schema, FieldSchema field, List<object> keys,
        IEnumerable<string> partitions, CancellationToken ct)
    {
        var rows = await _engine.GetAsync(name, keys, [field.Name], [.. partitions], db, ct).ConfigureAwait(false);
        var pk = schema.PrimaryKey.Name;
        // A key asked for twice is two queries of the same vector.
        var byKey = new Dictionary<object, float[]>();
        foreach (var row in rows)
        {
            // A BINARY row comes back as its bytes; the engine takes a binary query as those byte values. A null vector
            // (a nullable field's row without one) is no query.
            byKey.TryAdd(row[pk]!, row[field.Name] switch
            {
                byte[] bits => [.. bits.Select(b => (float)b)],
                float[] v => v,
                _ => throw new MilvusException(MilvusCode.ParameterInvalid,
                    $"search by ids: primary key {row[pk]} has no vector in field '{field.Name}' (it is null)"),
            });
        }

        var vectors = new List<float[]>(keys.Count);
        foreach (var key in keys)
        {
            vectors.Add(byKey.TryGetValue(key, out var v) ? v : throw new MilvusException(MilvusCode.ParameterInvalid,
                $"search by ids: primary key {key} does not exist in collection '{name}'"));
        }

        return vectors;
    }

    /// <summary>
    /// One page of Milvus's search iterator v2 (the SDK's <c>searchIterator</c>): the SDK sends <c>iterator</c>,
    /// <c>search_iter_v2</c>, <c>search_iter_batch_size</c>, and from the second page on the previous page's
    /// <c>search_iter_last_bound</c> (the score of its last hit) and <c>search_iter_id</c> (the token). A page is a range
    /// search beyond the last bound, inclusive; the token lists the keys already returned at exactly that score, so ties
    /// across pages are neither lost nor repeated.
    /// </summary>
    private async Task<IteratorPage> SearchIteratorPageAsync(string name, string db, CollectionSchema schema, SearchSettings settings,
        EngineSearch plan, OutputFields output, FieldSchema? groupBy, CancellationToken ct)
    {
        if (Nq(plan) != 1 || groupBy is not null || plan.Offset != 0)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, "search iterator: needs exactly one query vector, no group_by_field and no offset");
        }

        var metric = schema.Find(plan.AnnsField!)!.Metric;
        var batch = Math.Clamp(settings.IteratorBatchSize ?? settings.TopK, 1, MaxTopKOrNq);
        var seen = settings.IteratorLastBound is null ? IteratorToken.Empty : IteratorToken.Read(settings.IteratorToken);
        var request = plan with { Limit = (int)Math.Min((long)batch + seen.Count, MaxTopKOrNq), OutputFields = output.EngineNames };
        if (settings.IteratorLastBound is { } bound)
        {
            // Inclusive of the bound: L2 keeps d >= bound (RangeFilter), IP/COSINE keep s <= bound (RangeFilter).
            request = request with
            {
                RangeFilter = metric == MetricType.L2
                    ? Math.Max(bound, plan.RangeFilter ?? double.MinValue)
                    : Math.Min(bound, plan.RangeFilter ?? double.MaxValue),
            };
        }

        var result = await _engine.SearchColumnsAsync(name, request, db, ct).ConfigureAwait(false);
        // Only hits at exactly the last bound can be ones the token lists: the token is read once for those (at most
        // MaxTopKOrNq keys), never turned into a set of all its keys.
        var seenHits = settings.IteratorLastBound is { } last
            ? seen.Among(Enumerable.Range(0, result.Scores.Length).Where(i => result.Scores[i] == last).Select(i => KeyAt(result.Ids, i)))
            : [];
        var page = new List<int>(Math.Min(batch, result.Scores.Length));
        for (var i = 0; i < result.Scores.Length && page.Count < batch; i++)
        {
            if (!(settings.IteratorLastBound is { } b && result.Scores[i] == b && seenHits.Contains(KeyAt(result.Ids, i))))
            {
                page.Add(i);
            }
        }

        float lastBound;
        IEnumerable<object> tied;
        var carried = IteratorToken.Empty;
        if (page.Count == 0)
        {
            lastBound = settings.IteratorLastBound ?? 0;
            tied = [];
            carried = seen;
        }
        else
        {
            lastBound = result.Scores[page[^1]];
            tied = page.Where(i => result.Scores[i] == lastBound).Select(i => KeyAt(result.Ids, i));
            if (settings.IteratorLastBound == lastBound)
            {
                carried = seen;
            }
        }

        var pageColumns = new SearchColumns { Counts = [page.Count], Scores = [.. page.Select(i => result.Scores[i])], Fields = result.Fields.Select(page) };
        return new IteratorPage(pageColumns, batch, lastBound, IteratorToken.Write(carried, tied));
    }

    /// <summary>Hit <paramref name="i"/>'s primary key, boxed as the token compares keys.</summary>
    private static object KeyAt(FieldColumn ids, int i) => (object?)ids.Longs?[i] ?? ids.Strings![i]!;

    /// <summary>The search iterator's token: the keys returned so far at the last bound's exact score, as base64 JSON
    /// (an array of strings). A token is as long as the ties it lists (an iteration over many equal scores carries all of
    /// them), so it is kept as its JSON text: counted and checked once, then read element by element for the few hits at
    /// the bound and copied into the next token, never expanded into objects per key (a forged token of millions of keys
    /// used to become a set of every key, about 15 times the message).</summary>
    private sealed class IteratorToken
    {
        private const string NotIssued = "search iterator: search_iter_id is not a token this server issued";

        private readonly byte[] _json;

        private IteratorToken(byte[] json, int count)
        {
            _json = json;
            Count = count;
        }

        public static IteratorToken Empty { get; } = new([], 0);

        /// <summary>How many keys the token lists.</summary>
        public int Count { get; }

        public static IteratorToken Read(string? token)
        {
            if (string.IsNullOrEmpty(token))
            {
                return Empty;
            }

            byte[] json;
            try
            {
                json = Convert.FromBase64String(token);
            }
            catch (FormatException)
            {
                throw new MilvusException(MilvusCode.ParameterInvalid, NotIssued);
            }

            // A token this server wrote is one array of strings (never null: a forged null used to reach Write, 65535).
            var count = 0;
            try
            {
                var reader = new Utf8JsonReader(json);
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new MilvusException(MilvusCode.ParameterInvalid, NotIssued);
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.String && System.Text.Unicode.Utf8.IsValid(reader.ValueSpan))
                {
                    count++;
                }

                if (reader.TokenType != JsonTokenType.EndArray || reader.Read())
                {
                    throw new MilvusException(MilvusCode.ParameterInvalid, NotIssued);
                }
            }
            catch (JsonException)
            {
                throw new MilvusException(MilvusCode.ParameterInvalid, NotIssued);
            }

            return new IteratorToken(json, count);
        }

        /// <summary>The keys of <paramref name="candidates"/> (Int64 keys boxed as longs, VarChar keys as strings) that
        /// the token lists; one pass over the token, holding only the candidates.</summary>
        public HashSet<object> Among(IEnumerable<object> candidates)
        {
            var found = new HashSet<object>();
            var strings = new HashSet<string>(StringComparer.Ordinal);
            var longs = new HashSet<long>();
            foreach (var key in candidates)
            {
                if (key is long l)
                {
                    longs.Add(l);
                }
                else
                {
                    strings.Add((string)key);
                }
            }

            if (Count == 0 || strings.Count + longs.Count == 0)
            {
                return found;
            }

            var lookup = strings.GetAlternateLookup<ReadOnlySpan<char>>();
            var chars = System.Buffers.ArrayPool<char>.Shared.Rent(256);
            try
            {
                var reader = new Utf8JsonReader(_json);
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.String)
                {
                    if (reader.ValueIsEscaped || reader.ValueSpan.Length > chars.Length)
                    {
                        Match(reader.GetString());
                        continue;
                    }

                    var n = Encoding.UTF8.GetChars(reader.ValueSpan, chars);
                    Match(chars.AsSpan(0, n));
                }
            }
            finally
            {
                System.Buffers.ArrayPool<char>.Shared.Return(chars);
            }

            return found;

            void Match(ReadOnlySpan<char> text)
            {
                if (lookup.TryGetValue(text, out var s))
                {
                    found.Add(s);
                }

                if (longs.Count > 0 && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) && longs.Contains(l))
                {
                    found.Add(l);
                }
            }
        }

        /// <summary>A token listing <paramref name="carried"/>'s keys (copied as they are) and then <paramref name="keys"/>.</summary>
        public static string Write(IteratorToken carried, IEnumerable<object> keys)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(carried._json.Length + 64);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartArray();
                if (carried.Count > 0)
                {
                    var reader = new Utf8JsonReader(carried._json);
                    reader.Read();
                    while (reader.Read() && reader.TokenType == JsonTokenType.String)
                    {
                        // The element's text with its quotes, as the token held it (escapes included).
                        writer.WriteRawValue(carried._json.AsSpan((int)reader.TokenStartIndex, reader.ValueSpan.Length + 2), skipInputValidation: true);
                    }
                }

                foreach (var key in keys)
                {
                    writer.WriteStringValue(key is long l ? l.ToString(CultureInfo.InvariantCulture) : (string)key);
                }

                writer.WriteEndArray();
            }

            return Convert.ToBase64String(buffer.WrittenSpan);
        }
    }
}
