using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Server.Milvus;
using Quiver.Server.Security;

namespace Quiver.Cluster.Nodes;

/// <summary>The audit log of a node's gRPC calls: the gate writes failed authentications and denials as the standalone
/// server's gate does; this part writes every completed schema or security change (<see cref="AuditLog.ChangeMethods"/>)
/// with its outcome, as the standalone server's <see cref="AuditingObserver"/> does, whether the node answered it (users,
/// roles, grants) or its shards did.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary>Runs <see cref="CallAsync"/> and records a completed change in the node's audit log.</summary>
    public async Task<byte[]> AuditedCallAsync(MethodDescriptor method, byte[] request, ServerCallContext context)
    {
        var audit = context.GetHttpContext().RequestServices.GetRequiredService<AuditLog>();
        if (!audit.Enabled || !AuditLog.ChangeMethods.Contains(method.Name))
        {
            return await CallAsync(method, request, context).ConfigureAwait(false);
        }

        byte[] response;
        try
        {
            response = await CallAsync(method, request, context).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // As the standalone pipeline records a call that ended in a gRPC status (e.g. UNAUTHENTICATED).
            audit.Record(AuditedCall(method, request, context), AuditLog.OutcomeOf(MilvusCode.Unexpected, "rpc exception"));
            throw;
        }

        var status = CallPipeline.StatusOf(method.OutputType.Parser.ParseFrom(response));
        audit.Record(AuditedCall(method, request, context), AuditLog.OutcomeOf(status?.Code ?? 0, status is { Code: not 0 } ? status.Reason : null));
        return response;
    }

    /// <summary>The call as the gate saw it (user, peer, target), or, when the gate did not run (authentication off), as
    /// the standalone pipeline describes it.</summary>
    private static CallInfo AuditedCall(MethodDescriptor method, byte[] request, ServerCallContext context)
    {
        if (context.UserState.TryGetValue(CallInfo.Key, out var seen) && seen is CallInfo call)
        {
            return call;
        }

        IMessage message;
        try
        {
            message = method.InputType.Parser.ParseFrom(request);
        }
        catch (InvalidProtocolBufferException)
        {
            // A body that did not parse (refused grpc-malformed-request): recorded with no target.
            message = method.InputType.Parser.ParseFrom(ByteString.Empty);
        }

        var database = NonEmpty(context.RequestHeaders.GetValue("dbname"));
        return new CallInfo
        {
            Method = method.Name,
            Transport = "grpc",
            Database = database,
            PeerOf = context,
            TargetDatabase = StringField(message, "db_name") is { Length: > 0 } db ? db : database ?? "default",
            TargetCollection = StringField(message, "collection_name") is { Length: > 0 } collection ? collection : null,
        };
    }
}
