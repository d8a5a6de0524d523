using System.Text.Json.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;

namespace Quiver.Server.Rest;

internal static partial class MilvusRestV2
{
    // ---- partitions ----

    private static async Task<JsonNode?> CreatePartitionAsync(RestRequest r)
    {
        await r.CallAsync("CreatePartition",
            new CreatePartitionRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName"), PartitionName = r.RequiredString("partitionName") },
            r.Service.CreatePartition).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> DropPartitionAsync(RestRequest r)
    {
        await r.CallAsync("DropPartition",
            new DropPartitionRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName"), PartitionName = r.RequiredString("partitionName") },
            r.Service.DropPartition).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> ListPartitionsAsync(RestRequest r)
    {
        var listed = await r.CallAsync("ShowPartitions",
            new ShowPartitionsRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName") },
            r.Service.ShowPartitions).ConfigureAwait(false);
        return Strings(listed.PartitionNames);
    }

    private static async Task<JsonNode?> HasPartitionAsync(RestRequest r)
    {
        var has = await r.CallAsync("HasPartition",
            new HasPartitionRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName"), PartitionName = r.RequiredString("partitionName") },
            r.Service.HasPartition).ConfigureAwait(false);
        return new JsonObject { ["has"] = has.Value };
    }

    private static async Task<JsonNode?> LoadPartitionsAsync(RestRequest r)
    {
        var partitions = r.OptionalStrings("partitionNames") ?? throw RestRequest.Missing("partitionNames", "list of strings");
        await r.CallAsync("LoadPartitions",
            new LoadPartitionsRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName"), PartitionNames = { partitions } },
            r.Service.LoadPartitions).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> ReleasePartitionsAsync(RestRequest r)
    {
        var partitions = r.OptionalStrings("partitionNames") ?? throw RestRequest.Missing("partitionNames", "list of strings");
        await r.CallAsync("ReleasePartitions",
            new ReleasePartitionsRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName"), PartitionNames = { partitions } },
            r.Service.ReleasePartitions).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> PartitionStatsAsync(RestRequest r)
    {
        var stats = await r.CallAsync("GetPartitionStatistics",
            new GetPartitionStatisticsRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName"), PartitionName = r.RequiredString("partitionName") },
            r.Service.GetPartitionStatistics).ConfigureAwait(false);
        return RowCount(stats.Stats);
    }

    // ---- indexes ----

    private static async Task<JsonNode?> CreateIndexesAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var indexParams = r.RequiredArray("indexParams");
        var requests = new List<CreateIndexRequest>(indexParams.Count);
        for (var i = 0; i < indexParams.Count; i++)
        {
            var path = $"$.indexParams[{i}]";
            var entry = RestRequest.ObjectOf(indexParams[i], path) ?? throw RestRequest.Format(path, "must be an object, got null");
            requests.Add(RestSchema.IndexRequest(entry, path, r.DatabaseOrDefault, collection));
        }
        // One call (CreateIndex) for the whole list, as Milvus's REST server counts it.
        await r.CallAsync("CreateIndex", requests[0], async (q, context) =>
        {
            foreach (var request in requests)
            {
                await r.StepAsync("CreateIndex", request, r.Service.CreateIndex).ConfigureAwait(false);
            }
            return MilvusStatus.Ok();
        }).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> DescribeIndexAsync(RestRequest r)
    {
        var described = await r.CallAsync("DescribeIndex",
            new DescribeIndexRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName"), IndexName = r.RequiredString("indexName") },
            r.Service.DescribeIndex).ConfigureAwait(false);
        return new JsonArray(described.IndexDescriptions.Select(d => (JsonNode?)new JsonObject
        {
            ["indexName"] = d.IndexName,
            ["fieldName"] = d.FieldName,
            ["indexType"] = d.Params.FirstOrDefault(p => p.Key == "index_type")?.Value ?? "",
            ["metricType"] = d.Params.FirstOrDefault(p => p.Key == "metric_type")?.Value ?? "",
            ["totalRows"] = d.TotalRows,
            ["pendingRows"] = d.PendingIndexRows,
            ["indexedRows"] = d.IndexedRows,
            ["indexState"] = RestSchema.EnumName(d.State),
            ["failReason"] = d.IndexStateFailReason,
        }).ToArray());
    }

    private static async Task<JsonNode?> ListIndexesAsync(RestRequest r)
    {
        var described = await r.TryCallAsync("DescribeIndex",
            new DescribeIndexRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName") },
            r.Service.DescribeIndex).ConfigureAwait(false);
        // Milvus lists no index as an empty list, not as an error.
        if (described.Status is { Code: MilvusCode.IndexNotFound })
        {
            return new JsonArray();
        }
        if (described.Status is { Code: not MilvusCode.Success } failed)
        {
            throw new MilvusException(failed.Code, failed.Reason);
        }
        return Strings(described.IndexDescriptions.Select(d => d.IndexName));
    }

    private static async Task<JsonNode?> DropIndexAsync(RestRequest r)
    {
        await r.CallAsync("DropIndex",
            new DropIndexRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName"), IndexName = r.RequiredString("indexName") },
            r.Service.DropIndex).ConfigureAwait(false);
        return null;
    }

    // ---- aliases ----

    private static async Task<JsonNode?> CreateAliasAsync(RestRequest r)
    {
        await r.CallAsync("CreateAlias",
            new CreateAliasRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName"), Alias = r.RequiredString("aliasName") },
            r.Service.CreateAlias).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> DropAliasAsync(RestRequest r)
    {
        await r.CallAsync("DropAlias", new DropAliasRequest { DbName = r.DatabaseOrDefault, Alias = r.RequiredString("aliasName") },
            r.Service.DropAlias).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> ListAliasesAsync(RestRequest r)
    {
        var listed = await r.CallAsync("ListAliases",
            new ListAliasesRequest { DbName = r.DatabaseOrDefault, CollectionName = r.OptionalString("collectionName") ?? "" },
            r.Service.ListAliases).ConfigureAwait(false);
        return Strings(listed.Aliases);
    }

    private static async Task<JsonNode?> DescribeAliasAsync(RestRequest r)
    {
        var described = await r.CallAsync("DescribeAlias",
            new DescribeAliasRequest { DbName = r.DatabaseOrDefault, Alias = r.RequiredString("aliasName") },
            r.Service.DescribeAlias).ConfigureAwait(false);
        return new JsonObject
        {
            ["dbName"] = described.DbName.Length > 0 ? described.DbName : r.DatabaseOrDefault,
            ["collectionName"] = described.Collection,
            ["aliasName"] = described.Alias,
        };
    }

    private static async Task<JsonNode?> AlterAliasAsync(RestRequest r)
    {
        await r.CallAsync("AlterAlias",
            new AlterAliasRequest { DbName = r.DatabaseOrDefault, CollectionName = r.RequiredString("collectionName"), Alias = r.RequiredString("aliasName") },
            r.Service.AlterAlias).ConfigureAwait(false);
        return null;
    }

    // ---- users (passwords travel base64-encoded in the gRPC requests, as Milvus's REST handlers send them) ----

    private static string Base64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));

    private static async Task<JsonNode?> CreateUserAsync(RestRequest r)
    {
        await r.CallAsync("CreateCredential",
            new CreateCredentialRequest { Username = r.RequiredString("userName"), Password = Base64(r.RequiredString("password")) },
            r.Service.CreateCredential).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> DropUserAsync(RestRequest r)
    {
        await r.CallAsync("DeleteCredential", new DeleteCredentialRequest { Username = r.RequiredString("userName") },
            r.Service.DeleteCredential).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> ListUsersAsync(RestRequest r)
    {
        var listed = await r.CallAsync("ListCredUsers", new ListCredUsersRequest(), r.Service.ListCredUsers).ConfigureAwait(false);
        return Strings(listed.Usernames);
    }

    private static async Task<JsonNode?> DescribeUserAsync(RestRequest r)
    {
        var user = r.RequiredString("userName");
        var selected = await r.CallAsync("SelectUser",
            new SelectUserRequest { User = new UserEntity { Name = user }, IncludeRoleInfo = true },
            r.Service.SelectUser).ConfigureAwait(false);
        return Strings(selected.Results.Where(u => u.User?.Name == user).SelectMany(u => u.Roles).Select(role => role.Name));
    }

    private static async Task<JsonNode?> UpdatePasswordAsync(RestRequest r)
    {
        await r.CallAsync("UpdateCredential",
            new UpdateCredentialRequest
            {
                Username = r.RequiredString("userName"),
                OldPassword = Base64(r.RequiredString("password")),
                NewPassword = Base64(r.RequiredString("newPassword")),
            },
            r.Service.UpdateCredential).ConfigureAwait(false);
        return null;
    }

    private static Task<JsonNode?> GrantRoleAsync(RestRequest r) => OperateUserRoleAsync(r, OperateUserRoleType.AddUserToRole);

    private static Task<JsonNode?> RevokeRoleAsync(RestRequest r) => OperateUserRoleAsync(r, OperateUserRoleType.RemoveUserFromRole);

    private static async Task<JsonNode?> OperateUserRoleAsync(RestRequest r, OperateUserRoleType type)
    {
        await r.CallAsync("OperateUserRole",
            new OperateUserRoleRequest { Username = r.RequiredString("userName"), RoleName = r.RequiredString("roleName"), Type = type },
            r.Service.OperateUserRole).ConfigureAwait(false);
        return null;
    }

    // ---- roles ----

    private static async Task<JsonNode?> CreateRoleAsync(RestRequest r)
    {
        await r.CallAsync("CreateRole", new CreateRoleRequest { Entity = new RoleEntity { Name = r.RequiredString("roleName") } },
            r.Service.CreateRole).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> DropRoleAsync(RestRequest r)
    {
        await r.CallAsync("DropRole", new DropRoleRequest { RoleName = r.RequiredString("roleName") }, r.Service.DropRole).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> ListRolesAsync(RestRequest r)
    {
        var selected = await r.CallAsync("SelectRole", new SelectRoleRequest(), r.Service.SelectRole).ConfigureAwait(false);
        return Strings(selected.Results.Select(result => result.Role?.Name ?? ""));
    }

    private static async Task<JsonNode?> DescribeRoleAsync(RestRequest r)
    {
        var selected = await r.CallAsync("SelectGrant",
            new SelectGrantRequest { Entity = new GrantEntity { Role = new RoleEntity { Name = r.RequiredString("roleName") }, DbName = r.DatabaseOrDefault } },
            r.Service.SelectGrant).ConfigureAwait(false);
        return new JsonArray(selected.Entities.Select(g => (JsonNode?)new JsonObject
        {
            ["objectType"] = g.Object?.Name ?? "",
            ["objectName"] = g.ObjectName,
            ["privilege"] = g.Grantor?.Privilege?.Name ?? "",
            ["dbName"] = g.DbName,
            ["grantor"] = g.Grantor?.User?.Name ?? "",
        }).ToArray());
    }

    private static Task<JsonNode?> GrantPrivilegeAsync(RestRequest r) => OperatePrivilegeAsync(r, OperatePrivilegeType.Grant);

    private static Task<JsonNode?> RevokePrivilegeAsync(RestRequest r) => OperatePrivilegeAsync(r, OperatePrivilegeType.Revoke);

    private static async Task<JsonNode?> OperatePrivilegeAsync(RestRequest r, OperatePrivilegeType type)
    {
        var grant = new GrantEntity
        {
            Role = new RoleEntity { Name = r.RequiredString("roleName") },
            Object = new ObjectEntity { Name = r.RequiredString("objectType") },
            ObjectName = r.RequiredString("objectName"),
            DbName = r.DatabaseOrDefault,
            Grantor = new GrantorEntity { Privilege = new PrivilegeEntity { Name = r.RequiredString("privilege") } },
        };
        await r.CallAsync("OperatePrivilege", new OperatePrivilegeRequest { Entity = grant, Type = type }, r.Service.OperatePrivilege).ConfigureAwait(false);
        return null;
    }

    // ---- databases (the body's dbName is the database acted on) ----

    private static async Task<JsonNode?> CreateDatabaseAsync(RestRequest r)
    {
        await r.CallAsync("CreateDatabase",
            new CreateDatabaseRequest { DbName = r.RequiredString("dbName"), Properties = { RestSchema.ToPairs(r.OptionalObject("properties")) } },
            r.Service.CreateDatabase).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> DropDatabaseAsync(RestRequest r)
    {
        await r.CallAsync("DropDatabase", new DropDatabaseRequest { DbName = r.RequiredString("dbName") }, r.Service.DropDatabase).ConfigureAwait(false);
        return null;
    }

    private static async Task<JsonNode?> ListDatabasesAsync(RestRequest r)
    {
        var listed = await r.CallAsync("ListDatabases", new ListDatabasesRequest(), r.Service.ListDatabases).ConfigureAwait(false);
        return Strings(listed.DbNames);
    }

    private static async Task<JsonNode?> DescribeDatabaseAsync(RestRequest r)
    {
        var described = await r.CallAsync("DescribeDatabase", new DescribeDatabaseRequest { DbName = r.RequiredString("dbName") },
            r.Service.DescribeDatabase).ConfigureAwait(false);
        return new JsonObject
        {
            ["dbName"] = described.DbName,
            ["dbID"] = described.DbID,
            ["properties"] = RestSchema.Pairs(described.Properties),
        };
    }

    private static async Task<JsonNode?> AlterDatabaseAsync(RestRequest r)
    {
        var properties = r.OptionalObject("properties") ?? throw RestRequest.Missing("properties", "object");
        await r.CallAsync("AlterDatabase",
            new AlterDatabaseRequest { DbName = r.RequiredString("dbName"), Properties = { RestSchema.ToPairs(properties) } },
            r.Service.AlterDatabase).ConfigureAwait(false);
        return null;
    }
}
