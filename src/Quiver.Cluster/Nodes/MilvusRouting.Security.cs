using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;
using Quiver.Server.Security;

namespace Quiver.Cluster.Nodes;

/// <summary>Authentication, authorization and Milvus's RBAC RPCs on a node, as the standalone server has them: every
/// call passes the standalone server's <see cref="SecurityGate"/> over the cluster's state (<see cref="ClusterSecurity"/>)
/// before it is routed, and the RBAC RPCs are answered here by the standalone server's own handlers over that state.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary>The RBAC RPCs a node answers itself, with the standalone server's handlers.</summary>
    private static readonly Dictionary<string, Func<MilvusGrpcService, IMessage, ServerCallContext, Task<IMessage>>> SecurityRpcs = new(StringComparer.Ordinal)
    {
        ["CreateCredential"] = async (s, m, c) => await s.CreateCredential((CreateCredentialRequest)m, c).ConfigureAwait(false),
        ["UpdateCredential"] = async (s, m, c) => await s.UpdateCredential((UpdateCredentialRequest)m, c).ConfigureAwait(false),
        ["DeleteCredential"] = async (s, m, c) => await s.DeleteCredential((DeleteCredentialRequest)m, c).ConfigureAwait(false),
        ["ListCredUsers"] = async (s, m, c) => await s.ListCredUsers((ListCredUsersRequest)m, c).ConfigureAwait(false),
        ["CreateRole"] = async (s, m, c) => await s.CreateRole((CreateRoleRequest)m, c).ConfigureAwait(false),
        ["DropRole"] = async (s, m, c) => await s.DropRole((DropRoleRequest)m, c).ConfigureAwait(false),
        ["OperateUserRole"] = async (s, m, c) => await s.OperateUserRole((OperateUserRoleRequest)m, c).ConfigureAwait(false),
        ["SelectRole"] = async (s, m, c) => await s.SelectRole((SelectRoleRequest)m, c).ConfigureAwait(false),
        ["SelectUser"] = async (s, m, c) => await s.SelectUser((SelectUserRequest)m, c).ConfigureAwait(false),
        ["OperatePrivilege"] = async (s, m, c) => await s.OperatePrivilege((OperatePrivilegeRequest)m, c).ConfigureAwait(false),
        ["OperatePrivilegeV2"] = async (s, m, c) => await s.OperatePrivilegeV2((OperatePrivilegeV2Request)m, c).ConfigureAwait(false),
        ["SelectGrant"] = async (s, m, c) => await s.SelectGrant((SelectGrantRequest)m, c).ConfigureAwait(false),
        ["ListPrivilegeGroups"] = async (s, m, c) => await s.ListPrivilegeGroups((ListPrivilegeGroupsRequest)m, c).ConfigureAwait(false),
        ["CreatePrivilegeGroup"] = async (s, m, c) => await s.CreatePrivilegeGroup((CreatePrivilegeGroupRequest)m, c).ConfigureAwait(false),
        ["DropPrivilegeGroup"] = async (s, m, c) => await s.DropPrivilegeGroup((DropPrivilegeGroupRequest)m, c).ConfigureAwait(false),
        ["OperatePrivilegeGroup"] = async (s, m, c) => await s.OperatePrivilegeGroup((OperatePrivilegeGroupRequest)m, c).ConfigureAwait(false),
    };

    /// <summary>Passes every call through the gate, as the standalone server's pipeline does (authentication, the
    /// request limits, default or not, and the rates: a call on several shards is checked whole before it is split), and
    /// answers the RBAC RPCs. Returns the answer (a refusal or an RBAC RPC's), or null with the request as the gate
    /// parsed it, which the routing takes on (<see cref="RouteAsync"/>), so the call is parsed once.</summary>
    private async Task<(byte[]? Answer, IMessage Message)> SecurityAsync(MethodDescriptor method, byte[] request, ServerCallContext context)
    {
        var security = node.Security;
        var answers = SecurityRpcs.TryGetValue(method.Name, out var handler);
        var message = Parsed<IMessage>(method, request, null);
        var call = new CallInfo
        {
            Method = method.Name,
            Transport = "grpc",
            Database = NonEmpty(context.RequestHeaders.GetValue("dbname")),
            Credential = NonEmpty(context.RequestHeaders.GetValue("authorization")),
            PeerOf = context,
        };
        call.TargetDatabase = StringField(message, "db_name") is { Length: > 0 } db ? db : call.Database ?? "default";
        call.TargetCollection = StringField(message, "collection_name") is { Length: > 0 } collection ? collection : null;
        context.UserState[CallInfo.Key] = call;
        var services = context.GetHttpContext().RequestServices;
        try
        {
            await CheckAsync(security, services.GetRequiredService<ISecurityGate>(), call, message, context.CancellationToken).ConfigureAwait(false);
            if (NodeSecurity.ClusterRateRefusal(services, call) is { } overRate)
            {
                throw overRate;
            }

            if (!answers)
            {
                return (null, message);
            }

            var service = services.GetRequiredService<MilvusGrpcService>();
            if (!SecurityGate.SecurityChanges.Contains(method.Name))
            {
                // A listing answers what is stored, whichever node changed it last (one read of the bucket).
                await security.RefreshAsync(context.CancellationToken).ConfigureAwait(false);
                return ((await handler!(service, message, context).ConfigureAwait(false)).ToByteArray(), message);
            }

            var response = await security.ChangeAsync(() => handler!(service, message, context), context.CancellationToken).ConfigureAwait(false);
            return (response.ToByteArray(), message);
        }
        catch (MilvusException e)
        {
            return (StatusAnswer(method, e.Code, e.Message, e.Retriable), message);
        }
    }

    private long _requestParses;

    /// <summary>How many times this node parsed a client's gRPC request (tests count them: once per call).</summary>
    internal long RequestParses => Interlocked.Read(ref _requestParses);

    /// <summary><paramref name="parsed"/> when the call's request was parsed already, else <paramref name="request"/>
    /// parsed as <paramref name="method"/>'s input (counted in <see cref="RequestParses"/>).</summary>
    private T Parsed<T>(MethodDescriptor method, byte[] request, IMessage? parsed)
        where T : class, IMessage
    {
        if (parsed is T known)
        {
            return known;
        }

        Interlocked.Increment(ref _requestParses);
        try
        {
            return (T)method.InputType.Parser.ParseFrom(request);
        }
        catch (InvalidProtocolBufferException ex)
        {
            // As the standalone server answers a body that does not parse (docs/errors.md, grpc-malformed-request).
            throw global::Quiver.Server.Milvus.MalformedRequests.Refusal(method.InputType.Name, ex);
        }
    }

    /// <summary>The answer of <paramref name="method"/> to a change the bucket did not store (docs/errors.md,
    /// <c>cluster-security-not-stored</c>).</summary>
    internal static byte[] NotStored(MethodDescriptor method, Exception cause)
    {
        var refusal = ClusterSecurity.NotStored(cause);
        return StatusAnswer(method, refusal.Code, refusal.Message, refusal.Retriable);
    }

    /// <summary>Runs the gate; a refusal (unknown credential, missing privilege) is checked once more after reading the
    /// cluster's state, so that what another node stored a moment ago counts here at once.</summary>
    internal static async Task CheckAsync(ClusterSecurity security, ISecurityGate gate, CallInfo call, IMessage? message, CancellationToken ct)
    {
        try
        {
            await gate.CheckAsync(call, message, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (IsRefusal(e))
        {
            if (!await security.RefreshAsync(ct).ConfigureAwait(false))
            {
                throw;
            }

            await gate.CheckAsync(call, message, ct).ConfigureAwait(false);
        }
    }

    private static bool IsRefusal(Exception e) =>
        e is MilvusException { Code: MilvusCode.PrivilegeNotPermitted or MilvusCode.NeedAuthenticate }
        || e is RpcException { StatusCode: StatusCode.Unauthenticated };

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string? StringField(IMessage message, string name) =>
        message.Descriptor.FindFieldByName(name) is { FieldType: FieldType.String, IsRepeated: false } f ? (string)f.Accessor.GetValue(message) : null;
}
