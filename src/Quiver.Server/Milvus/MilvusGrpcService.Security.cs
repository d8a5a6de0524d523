using System.Text;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Security;
using Status = Quiver.Protocol.Common.Status;

namespace Quiver.Server.Milvus;

/// <summary>Users, roles, grants and privilege groups: Milvus's RBAC RPCs over <see cref="SecurityStore"/>. Who may call
/// each is decided by the security gate before the handler runs; the handlers check the request itself. Passwords
/// arrive base64-encoded, as Milvus SDKs send them.</summary>
internal sealed partial class MilvusGrpcService
{
    private SecurityStore Security => Services.GetRequiredService<SecurityStore>();

    /// <inheritdoc />
    public override Task<Status> CreateCredential(CreateCredentialRequest request, ServerCallContext context)
    {
        Security.CreateUser(request.Username, DecodePassword(request.Password, "password"),
            request.HasDescription ? request.Description : null);
        return Task.FromResult(MilvusStatus.Ok());
    }

    /// <inheritdoc />
    public override Task<Status> UpdateCredential(UpdateCredentialRequest request, ServerCallContext context)
    {
        var caller = CallInfo.Of(context).User;
        // Root and admins reset other users' passwords without the old one; everyone else proves it.
        var privileged = caller is not null && caller != request.Username && IsAdmin(caller);
        var newPassword = string.IsNullOrEmpty(request.NewPassword) ? null : DecodePassword(request.NewPassword, "newPassword");
        var oldPassword = string.IsNullOrEmpty(request.OldPassword) ? null : DecodePassword(request.OldPassword, "oldPassword");
        if (newPassword is null && !request.HasDescription)
        {
            throw new MilvusException(MilvusCode.ParameterMissing, "UpdateCredential needs newPassword or description");
        }
        Security.UpdateUser(request.Username, oldPassword, newPassword, request.HasDescription ? request.Description : null, privileged);
        return Task.FromResult(MilvusStatus.Ok());
    }

    /// <inheritdoc />
    public override Task<Status> DeleteCredential(DeleteCredentialRequest request, ServerCallContext context)
    {
        Security.DeleteUser(request.Username);
        return Task.FromResult(MilvusStatus.Ok());
    }

    /// <inheritdoc />
    public override Task<ListCredUsersResponse> ListCredUsers(ListCredUsersRequest request, ServerCallContext context)
    {
        var response = new ListCredUsersResponse { Status = MilvusStatus.Ok() };
        response.Usernames.AddRange(Security.UserNames());
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override Task<Status> CreateRole(CreateRoleRequest request, ServerCallContext context)
    {
        Security.CreateRole(request.Entity?.Name ?? "", string.IsNullOrEmpty(request.Entity?.Description) ? null : request.Entity.Description);
        return Task.FromResult(MilvusStatus.Ok());
    }

    /// <inheritdoc />
    public override Task<Status> DropRole(DropRoleRequest request, ServerCallContext context)
    {
        Security.DropRole(request.RoleName, request.ForceDrop);
        return Task.FromResult(MilvusStatus.Ok());
    }

    /// <inheritdoc />
    public override Task<Status> OperateUserRole(OperateUserRoleRequest request, ServerCallContext context)
    {
        Security.SetUserRole(request.Username, request.RoleName, request.Type == OperateUserRoleType.AddUserToRole);
        return Task.FromResult(MilvusStatus.Ok());
    }

    /// <inheritdoc />
    public override Task<SelectRoleResponse> SelectRole(SelectRoleRequest request, ServerCallContext context)
    {
        var response = new SelectRoleResponse { Status = MilvusStatus.Ok() };
        var wanted = request.Role?.Name;
        foreach (var role in Security.RoleNames())
        {
            if (!string.IsNullOrEmpty(wanted) && wanted != role)
            {
                continue;
            }
            var result = new RoleResult { Role = new RoleEntity { Name = role } };
            if (request.IncludeUserInfo)
            {
                result.Users.AddRange(Security.UsersWithRole(role).Select(u => new UserEntity { Name = u }));
            }
            response.Results.Add(result);
        }
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override Task<SelectUserResponse> SelectUser(SelectUserRequest request, ServerCallContext context)
    {
        var response = new SelectUserResponse { Status = MilvusStatus.Ok() };
        var wanted = request.User?.Name;
        foreach (var user in Security.UserNames())
        {
            if (!string.IsNullOrEmpty(wanted) && wanted != user)
            {
                continue;
            }
            var result = new UserResult { User = new UserEntity { Name = user }, Description = Security.DescriptionOf(user) ?? "" };
            if (request.IncludeRoleInfo)
            {
                result.Roles.AddRange((Security.RolesOf(user) ?? []).Select(r => new RoleEntity { Name = r }));
            }
            response.Results.Add(result);
        }
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override Task<Status> OperatePrivilege(OperatePrivilegeRequest request, ServerCallContext context)
    {
        var entity = request.Entity ?? throw new MilvusException(MilvusCode.ParameterMissing, "OperatePrivilege needs entity");
        var objectType = entity.Object?.Name ?? "";
        if (objectType is not ("Global" or "Collection" or "User"))
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"object type '{objectType}' is not one of Global, Collection, User");
        }
        var privilege = Privileges.Normalize(RequiredName(entity.Grantor?.Privilege?.Name, "grantor.privilege.name"));
        var objectName = string.IsNullOrEmpty(entity.ObjectName) ? Privileges.Any : entity.ObjectName;
        var database = string.IsNullOrEmpty(entity.DbName) ? Database(null, context) : entity.DbName;
        if (objectType == "Global" && privilege != Privileges.All && Privileges.LevelOf(privilege) == PrivilegeLevel.Cluster)
        {
            database = Privileges.Any; // cluster privileges hold on every database, as Milvus stores them
        }
        Grant(request.Type, new GrantRecord
        {
            Role = RequiredName(entity.Role?.Name, "role.name"),
            ObjectType = objectType,
            ObjectName = objectName,
            Database = database,
            Privilege = GroupOrPrivilege(privilege, entity.Grantor!.Privilege.Name),
        }, context);
        return Task.FromResult(MilvusStatus.Ok());
    }

    /// <inheritdoc />
    public override Task<Status> OperatePrivilegeV2(OperatePrivilegeV2Request request, ServerCallContext context)
    {
        var name = RequiredName(request.Grantor?.Privilege?.Name, "grantor.privilege.name");
        var privilege = GroupOrPrivilege(Privileges.Normalize(name), name);
        var database = string.IsNullOrEmpty(request.DbName) ? Database(null, context) : request.DbName;
        var collection = string.IsNullOrEmpty(request.CollectionName) ? Privileges.Any : request.CollectionName;
        var level = privilege == Privileges.All
            ? collection == Privileges.Any ? PrivilegeLevel.Database : PrivilegeLevel.Collection
            : Privileges.LevelOf(privilege);
        var grant = new GrantRecord { Role = RequiredName(request.Role?.Name, "role.name"), Privilege = privilege };
        (grant.ObjectType, grant.ObjectName, grant.Database) = level switch
        {
            PrivilegeLevel.Cluster => ("Global", Privileges.Any, Privileges.Any),
            PrivilegeLevel.Database => ("Global", Privileges.Any, database),
            _ => ("Collection", collection, database),
        };
        Grant(request.Type, grant, context);
        if (privilege == Privileges.All && level == PrivilegeLevel.Database)
        {
            // "*" on a whole database covers its collections too.
            Grant(request.Type, new GrantRecord
            {
                Role = grant.Role, Privilege = privilege, ObjectType = "Collection", ObjectName = Privileges.Any, Database = database,
            }, context);
        }
        return Task.FromResult(MilvusStatus.Ok());
    }

    /// <inheritdoc />
    public override Task<SelectGrantResponse> SelectGrant(SelectGrantRequest request, ServerCallContext context)
    {
        var entity = request.Entity ?? throw new MilvusException(MilvusCode.ParameterMissing, "SelectGrant needs entity");
        var role = RequiredName(entity.Role?.Name, "role.name");
        var response = new SelectGrantResponse { Status = MilvusStatus.Ok() };
        foreach (var g in Security.GrantsOf(role, entity.Object?.Name, entity.ObjectName, entity.DbName))
        {
            response.Entities.Add(new GrantEntity
            {
                Role = new RoleEntity { Name = g.Role },
                Object = new ObjectEntity { Name = g.ObjectType },
                ObjectName = g.ObjectName,
                DbName = g.Database,
                Grantor = new GrantorEntity
                {
                    User = new UserEntity { Name = g.Grantor ?? "" },
                    Privilege = new PrivilegeEntity { Name = Privileges.ApiName(g.Privilege) },
                },
            });
        }
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override Task<ListPrivilegeGroupsResponse> ListPrivilegeGroups(ListPrivilegeGroupsRequest request, ServerCallContext context)
    {
        var response = new ListPrivilegeGroupsResponse { Status = MilvusStatus.Ok() };
        foreach (var (name, privileges) in Security.Groups())
        {
            var info = new PrivilegeGroupInfo { GroupName = name };
            info.Privileges.AddRange(privileges.Select(p => new PrivilegeEntity { Name = Privileges.ApiName(p) }));
            response.PrivilegeGroups.Add(info);
        }
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override Task<Status> CreatePrivilegeGroup(CreatePrivilegeGroupRequest request, ServerCallContext context)
    {
        Security.CreateGroup(request.GroupName);
        return Task.FromResult(MilvusStatus.Ok());
    }

    /// <inheritdoc />
    public override Task<Status> DropPrivilegeGroup(DropPrivilegeGroupRequest request, ServerCallContext context)
    {
        Security.DropGroup(request.GroupName);
        return Task.FromResult(MilvusStatus.Ok());
    }

    /// <inheritdoc />
    public override Task<Status> OperatePrivilegeGroup(OperatePrivilegeGroupRequest request, ServerCallContext context)
    {
        Security.SetGroupPrivileges(request.GroupName, request.Privileges.Select(p => p.Name),
            request.Type == OperatePrivilegeGroupType.AddPrivilegesToGroup);
        return Task.FromResult(MilvusStatus.Ok());
    }

    private void Grant(OperatePrivilegeType type, GrantRecord grant, ServerCallContext context)
    {
        grant.Grantor = CallInfo.Of(context).User;
        Security.SetGrant(grant, type == OperatePrivilegeType.Grant);
    }

    private bool IsAdmin(string user) =>
        user == Privileges.RootUser || Security.RolesOf(user)?.Contains(Privileges.AdminRole) == true;

    /// <summary>A group name stays as sent (built-in or custom groups); a privilege takes its stored form.</summary>
    private string GroupOrPrivilege(string normalized, string sent) =>
        Privileges.BuiltInGroups.ContainsKey(sent) || Security.Groups().Any(g => g.Name == sent) ? sent : normalized;

    private static string RequiredName(string? value, string field) =>
        string.IsNullOrEmpty(value) ? throw new MilvusException(MilvusCode.ParameterMissing, $"{field} is required") : value;

    private static string DecodePassword(string base64, string field)
    {
        var bytes = new byte[base64.Length];
        return Convert.TryFromBase64String(base64, bytes, out var length)
            ? Encoding.UTF8.GetString(bytes, 0, length)
            : throw new MilvusException(MilvusCode.ParameterInvalid, $"{field} is not base64: Milvus SDKs send passwords base64-encoded");
    }
}
