using Google.Protobuf;
using Google.Protobuf.Reflection;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using MilvusMutation = Quiver.Protocol.Milvus.MutationResult;

namespace Quiver.Cluster.Tests;

/// <summary>A bulk-import job resumed by another node stores no row twice (<see cref="ImportWrites"/>): a run is stopped
/// at each point between two batches, with the last batch stored or not before the stop, and a second run resumes from
/// the progress the record holds. Oracle: a model of the collection that refuses an insert of a stored key (as a
/// shard's engine does), replaces rows on upsert and gives an auto_id insert fresh keys (as a node's routing does);
/// after the second run it holds every row of the file exactly once, and no batch the record counts was sent again.</summary>
public sealed class ImportWritesTests
{
    private const int Batch = 10;
    private const int Batches = 5;

    public static TheoryData<bool, int, bool> Stops()
    {
        var data = new TheoryData<bool, int, bool>();
        foreach (var autoId in new[] { false, true })
        {
            for (var recorded = 0; recorded < Batches; recorded++)
            {
                data.Add(autoId, recorded, true);
                data.Add(autoId, recorded, false);
            }
        }

        return data;
    }

    /// <summary>The first run's record counts <paramref name="recorded"/> batches; the batch after them was stored
    /// (<paramref name="storedAfter"/>) or not when its node died.</summary>
    [Theory]
    [MemberData(nameof(Stops))]
    public async Task AJobResumedAfterAnyBatch_StoresEveryRowOnce(bool autoId, int recorded, bool storedAfter)
    {
        var model = new Model(autoId);
        long? keysFrom = null;
        var reservations = 0;
        Task<long> Reserve(CancellationToken _) => Task.FromResult(1_000_000L + (1_000 * ++reservations));
        Task RecordKeys(long first, CancellationToken _)
        {
            keysFrom = first;
            return Task.CompletedTask;
        }

        // The first run: the batches the record counts, then one more that is stored or not as its node dies.
        var first = new ImportWrites(0, inDoubt: false, keysFrom, RecordKeys, _ => { });
        if (autoId)
        {
            first.KeyRows("id", Reserve);
        }

        for (var b = 0; b < recorded + (storedAfter ? 1 : 0); b++)
        {
            AssertOk(await first.SendAsync(InsertMethod, Insert(b, autoId), model.RouteAsync, CancellationToken.None));
        }

        // The second run, on another node, from the record: its rows and the keys it holds.
        var sentBefore = model.Sent;
        var second = new ImportWrites(recorded * Batch, inDoubt: true, keysFrom, RecordKeys, _ => { });
        if (autoId)
        {
            second.KeyRows("id", Reserve);
        }

        for (var b = 0; b < Batches; b++)
        {
            AssertOk(await second.SendAsync(InsertMethod, Insert(b, autoId), model.RouteAsync, CancellationToken.None));
        }

        Assert.Equal(Batches - recorded, model.Sent - sentBefore);
        Assert.Equal(Enumerable.Range(0, Batch * Batches).Select(i => $"t{i}"), model.Titles.OrderBy(t => int.Parse(t[1..], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(model.Titles.Count, model.Keys.Distinct().Count());
        if (!autoId)
        {
            Assert.All(model.Rows, r => Assert.Equal($"t{r.Key}", r.Title));
        }

        Assert.True(reservations <= 1, $"{reservations} reservations of keys");
    }

    /// <summary>A batch refused by some shards while others stored their part: the rows stored are reported.</summary>
    [Fact]
    public async Task ARefusedBatch_ReportsTheRowsOtherShardsStored()
    {
        long reported = 0;
        var writes = new ImportWrites(0, inDoubt: false, null, (_, _) => Task.CompletedTask, r => reported += r);
        var answer = await writes.SendAsync(InsertMethod, Insert(0, autoId: false), (_, _) =>
        {
            // What the node's routing does on such a batch: the refusal, and the stored rows told to the import.
            MilvusRouting.StoredOfRefused.Value!.Value = 7;
            return Task.FromResult(new MilvusMutation { Status = new Protocol.Common.Status { Code = 1100, Reason = "refused (test)" } }.ToByteArray());
        }, CancellationToken.None);
        Assert.Equal(1100, MilvusMutation.Parser.ParseFrom(answer).Status.Code);
        Assert.Equal(7, reported);
    }

    private static readonly MethodDescriptor InsertMethod = MilvusService.Descriptor.FindMethodByName("Insert");

    private static void AssertOk(byte[] answer)
    {
        var result = MilvusMutation.Parser.ParseFrom(answer);
        Assert.True(result.Status is null || result.Status.Code == 0, result.Status?.Reason);
        Assert.Equal((long)Batch, result.InsertCnt);
    }

    /// <summary>Batch <paramref name="b"/> of the file: rows <c>b * Batch ..</c>, key i and title <c>t{i}</c> (no key on an
    /// auto_id collection).</summary>
    private static InsertRequest Insert(int b, bool autoId)
    {
        var request = new InsertRequest { CollectionName = "c", NumRows = Batch };
        var rows = Enumerable.Range(b * Batch, Batch).ToList();
        if (!autoId)
        {
            request.FieldsData.Add(new FieldData { FieldName = "id", Type = Protocol.Schema.DataType.Int64, Scalars = new ScalarField { LongData = new LongArray { Data = { rows.Select(i => (long)i) } } } });
        }

        request.FieldsData.Add(new FieldData { FieldName = "title", Type = Protocol.Schema.DataType.VarChar, Scalars = new ScalarField { StringData = new StringArray { Data = { rows.Select(i => $"t{i}") } } } });
        return request;
    }

    /// <summary>The collection as its shards keep it.</summary>
    private sealed class Model(bool autoId)
    {
        private long _nextKey = 1;

        public List<(long Key, string Title)> Rows { get; } = [];

        public List<string> Titles => [.. Rows.Select(r => r.Title)];

        public List<long> Keys => [.. Rows.Select(r => r.Key)];

        public int Sent { get; private set; }

        public Task<byte[]> RouteAsync(MethodDescriptor method, IMessage request)
        {
            Sent++;
            var fields = method.Name == "Insert" ? ((InsertRequest)request).FieldsData : ((UpsertRequest)request).FieldsData;
            var titles = fields.Single(f => f.FieldName == "title").Scalars.StringData.Data.ToList();
            var keys = fields.SingleOrDefault(f => f.FieldName == "id")?.Scalars.LongData.Data.ToList();
            if (method.Name == "Insert")
            {
                if (autoId)
                {
                    Assert.Null(keys);
                    keys = [.. titles.Select(_ => _nextKey++)];
                }
                else if (keys!.Any(k => Rows.Any(r => r.Key == k)))
                {
                    return Task.FromResult(new MilvusMutation { Status = new Protocol.Common.Status { Code = 1100, Reason = "key exists" } }.ToByteArray());
                }

                Rows.AddRange(keys!.Zip(titles));
                return Task.FromResult(new MilvusMutation { Status = new Protocol.Common.Status(), InsertCnt = titles.Count }.ToByteArray());
            }

            Rows.RemoveAll(r => keys!.Contains(r.Key));
            Rows.AddRange(keys!.Zip(titles));
            return Task.FromResult(new MilvusMutation { Status = new Protocol.Common.Status(), UpsertCnt = titles.Count }.ToByteArray());
        }
    }
}
