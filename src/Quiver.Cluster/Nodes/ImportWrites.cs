using Google.Protobuf;
using Google.Protobuf.Reflection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;
using MilvusMutation = global::Quiver.Protocol.Milvus.MutationResult;

namespace Quiver.Cluster.Nodes;

/// <summary>
/// The writes of one run of a bulk-import job (<see cref="ClusterImports"/>), between the importer and the node's routing
/// (<see cref="RoutingInvoker"/>), so that a job resumed by another node stores no row twice. The importer sends the
/// same batches in the same order on every run (the files, the batch size and the checks are the job's), so rows are
/// numbered by their place in that order:
/// <list type="bullet">
/// <item>a batch whose rows all lie below <c>skip</c> (the rows the job's record counts as acknowledged) is not sent
/// again: it is answered as stored;</item>
/// <item>on an <c>auto_id</c> collection every batch is sent as an upsert whose row i carries the key
/// <c>KeysFrom + i</c>, reserved for the whole job and recorded in the job's record before the first batch is sent; a
/// batch sent again (it was acknowledged after the record's last progress write) replaces its own rows;</item>
/// <item>on a collection whose keys the file gives, the first batch a resumed run sends (the one batch that may have been
/// stored after the record's last progress write) is sent as an upsert of the same rows, which replaces any of them
/// already stored; the batches after it are the insert the job asked for.</item>
/// </list>
/// A batch some shards refuse while others store their rows counts those rows (<see cref="MilvusRouting.StoredOfRefused"/>),
/// so a failed job's count is what the collection holds.
/// </summary>
/// <param name="skip">The rows the job's record counts as acknowledged.</param>
/// <param name="inDoubt">Whether another run may have stored rows past <paramref name="skip"/> (a resumed job).</param>
/// <param name="keysFrom">The first key the job's record holds for its rows (<see cref="ClusterImportJob.KeysFrom"/>).</param>
/// <param name="recordKeys">Records the first key reserved for the job's rows in its record.</param>
/// <param name="stored">Called with the rows of a refused batch that shards stored.</param>
internal sealed class ImportWrites(long skip, bool inDoubt, long? keysFrom, Func<long, CancellationToken, Task> recordKeys, Action<long> stored)
{
    private long _sent;
    private bool _sentOne;
    private string? _key;
    private Func<CancellationToken, Task<long>>? _reserve;
    private long? _keysFrom = keysFrom;

    /// <summary>Gives the job's rows keys of their own (an <c>auto_id</c> collection, a job inserting) in the primary key
    /// <paramref name="primaryKey"/>: the keys the record holds, else keys <paramref name="reserve"/> takes for the
    /// whole job, recorded before the first batch is sent.</summary>
    public void KeyRows(string primaryKey, Func<CancellationToken, Task<long>> reserve)
    {
        _key = primaryKey;
        _reserve = reserve;
    }

    /// <summary>Sends one batch (<paramref name="request"/>, an insert or an upsert) through <paramref name="route"/>, or
    /// answers it as stored when an earlier run acknowledged it.</summary>
    public async Task<byte[]> SendAsync(MethodDescriptor method, IMessage request, Func<MethodDescriptor, IMessage, Task<byte[]>> route, CancellationToken ct)
    {
        var insert = request as InsertRequest;
        var rows = (long)(insert?.NumRows ?? ((UpsertRequest)request).NumRows);
        var from = _sent;
        _sent += rows;
        if (_sent <= skip)
        {
            return new MilvusMutation { Status = MilvusStatus.Ok(), InsertCnt = insert is null ? 0 : rows, UpsertCnt = insert is null ? rows : 0 }.ToByteArray();
        }

        if (from < skip)
        {
            // The job's batches are the same on every run, and progress is recorded only after whole batches.
            throw new InvalidOperationException($"the job's record counts {skip} rows, inside the batch of rows {from}..{_sent - 1}");
        }

        var first = !_sentOne;
        _sentOne = true;
        UpsertRequest? upsert = null;
        if (insert is not null && _key is not null)
        {
            if (_keysFrom is not { } keysFrom)
            {
                keysFrom = await _reserve!(ct).ConfigureAwait(false);
                await recordKeys(keysFrom, ct).ConfigureAwait(false);
                _keysFrom = keysFrom;
            }

            var keys = new Protocol.Schema.LongArray();
            for (var r = 0L; r < rows; r++)
            {
                keys.Data.Add(keysFrom + from + r);
            }

            upsert = MilvusRouting.AsUpsert(insert, [.. insert.FieldsData.Where(f => f.FieldName != _key), new Protocol.Schema.FieldData
            {
                FieldName = _key,
                Type = Protocol.Schema.DataType.Int64,
                Scalars = new Protocol.Schema.ScalarField { LongData = keys },
            }], (int)rows);
        }
        else if (insert is not null && first && inDoubt)
        {
            upsert = MilvusRouting.AsUpsert(insert, insert.FieldsData, (int)rows);
        }

        var refused = new System.Runtime.CompilerServices.StrongBox<long>();
        MilvusRouting.StoredOfRefused.Value = refused;
        byte[] answer;
        try
        {
            answer = upsert is null ? await route(method, request).ConfigureAwait(false) : await route(MilvusRouting.UpsertMethod, upsert).ConfigureAwait(false);
        }
        finally
        {
            MilvusRouting.StoredOfRefused.Value = null;
        }

        var result = MilvusMutation.Parser.ParseFrom(answer);
        if (result.Status is { Code: not 0 })
        {
            if (refused.Value > 0)
            {
                stored(refused.Value);
            }

            return answer;
        }

        if (upsert is not null)
        {
            // The importer asked for an insert: answered as one.
            result.InsertCnt = result.UpsertCnt;
            result.UpsertCnt = 0;
            return result.ToByteArray();
        }

        return answer;
    }
}
