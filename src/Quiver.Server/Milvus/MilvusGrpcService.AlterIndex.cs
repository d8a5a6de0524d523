using Grpc.Core;
using Quiver.Protocol.Milvus;
using Status = Quiver.Protocol.Common.Status;

namespace Quiver.Server.Milvus;

/// <summary>AlterIndex (the SDKs' <c>alter_index_properties</c> / <c>drop_index_properties</c>): sets or removes
/// <c>mmap.enabled</c> on a built index, the one index property Milvus lets a client change; build parameters and
/// anything else answer 1100 naming the key (<see cref="QuiverEngine.AlterIndexPropertiesAsync"/>). Unlike Milvus,
/// which refuses it on a loaded collection (104), Quiver alters a loaded collection's index: the property moves nothing
/// in memory (docs/server-catalog.md).</summary>
internal sealed partial class MilvusGrpcService
{
    /// <inheritdoc />
    public override async Task<Status> AlterIndex(AlterIndexRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        if (string.IsNullOrEmpty(request.IndexName))
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, "alter index: index_name is required");
        }

        if (request.ExtraParams.Count == 0 && request.DeleteKeys.Count == 0)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, "alter index: no property given to set (extra_params) or remove (delete_keys)");
        }

        var index = (await FindIndexesAsync(target, request.IndexName, "", context).ConfigureAwait(false))[0];
        var set = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in request.ExtraParams)
        {
            set[pair.Key] = pair.Value;
        }

        await _engine.AlterIndexPropertiesAsync(target.Name, index.IndexName, set, [.. request.DeleteKeys], target.Database, context.CancellationToken)
            .ConfigureAwait(false);
        return MilvusStatus.Ok();
    }
}
