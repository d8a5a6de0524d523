using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Quiver.Protocol.Milvus;
using Quiver.Server.Rest;
using static Quiver.Server.Tests.Security.AuthTests;

namespace Quiver.Server.Tests.Security;

public sealed class RbacTests
{
    private static Protocol.Milvus.SearchRequest SearchOn(string collection, string? database = null) => new()
    {
        CollectionName = collection,
        DbName = database ?? "",
        Nq = 1,
    };

    internal static Task<Protocol.Common.Status> GrantAsync(TestServer server, string role, string objectType, string objectName, string privilege, string database = "") =>
        server.Milvus.OperatePrivilegeAsync(new OperatePrivilegeRequest
        {
            Type = OperatePrivilegeType.Grant,
            Entity = new GrantEntity
            {
                Role = new RoleEntity { Name = role },
                Object = new ObjectEntity { Name = objectType },
                ObjectName = objectName,
                DbName = database,
                Grantor = new GrantorEntity { Privilege = new PrivilegeEntity { Name = privilege } },
            },
        }, Root).ResponseAsync;

    private static async Task<Metadata> NewUserAsync(TestServer server, string name)
    {
        Assert.Equal(0, (await server.Milvus.CreateCredentialAsync(new CreateCredentialRequest { Username = name, Password = B64(name + "-Pass-1") }, Root)).Code);
        return Auth(name + ":" + name + "-Pass-1");
    }

    [Fact]
    public async Task Search_WithoutPrivilege_Is1401_AndWithIt_PassesTheGate()
    {
        await using var server = await StartAuthAsync();
        await server.Server.Engine.CreateCollectionAsync("docs", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 4, MetricType.L2)],
        });
        await CreateUserWithRoleAsync(server, "alice", "Alice-Pass-1", "reader");
        await CreateUserWithRoleAsync(server, "dave", "Dave-Pass-1", "writer");
        Assert.Equal(0, (await GrantAsync(server, "reader", "Collection", "docs", "Search")).Code);
        Assert.Equal(0, (await GrantAsync(server, "writer", "Collection", "docs", "Insert")).Code);

        var denied = await server.Milvus.SearchAsync(SearchOn("docs"), Auth("dave:Dave-Pass-1"));
        Assert.Equal(1401, denied.Status.Code);
        Assert.Contains("PrivilegeSearch", denied.Status.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("Dave-Pass-1", denied.Status.Reason, StringComparison.Ordinal);

        // The granted role passes the gate: the call reaches the handler (code 10 while Search is unimplemented here,
        // a search answer once it is), never 1401.
        var allowed = await server.Milvus.SearchAsync(SearchOn("docs"), Auth("alice:Alice-Pass-1"));
        Assert.NotEqual(1401, allowed.Status.Code);
        // ... on that collection only.
        var elsewhere = await server.Milvus.SearchAsync(SearchOn("other"), Auth("alice:Alice-Pass-1"));
        Assert.Equal(1401, elsewhere.Status.Code);
    }

    [Fact]
    public async Task Grants_AreScopedPerDatabase()
    {
        await using var server = await StartAuthAsync();
        await CreateUserWithRoleAsync(server, "erin", "Erin-Pass-1", "db1reader");
        Assert.Equal(0, (await GrantAsync(server, "db1reader", "Collection", "*", "Search", "db1")).Code);
        var erin = Auth("erin:Erin-Pass-1");

        Assert.NotEqual(1401, (await server.Milvus.SearchAsync(SearchOn("anything", "db1"), erin)).Status.Code);
        Assert.Equal(1401, (await server.Milvus.SearchAsync(SearchOn("anything", "default"), erin)).Status.Code);
        // The connection's database (metadata dbname) counts when the request names none.
        var viaMetadata = Auth("erin:Erin-Pass-1");
        viaMetadata.Add("dbname", "db1");
        Assert.NotEqual(1401, (await server.Milvus.SearchAsync(SearchOn("anything"), viaMetadata)).Status.Code);
    }

    [Fact]
    public async Task PrivilegeGroup_AndV2Grant_CoverTheirMembers()
    {
        await using var server = await StartAuthAsync();
        await CreateUserWithRoleAsync(server, "fred", "Fred-Pass-1", "ro");
        var fred = Auth("fred:Fred-Pass-1");
        Assert.Equal(1401, (await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "c" }, fred)).Status.Code);

        var granted = await server.Milvus.OperatePrivilegeV2Async(new OperatePrivilegeV2Request
        {
            Role = new RoleEntity { Name = "ro" },
            Grantor = new GrantorEntity { Privilege = new PrivilegeEntity { Name = "CollectionReadOnly" } },
            Type = OperatePrivilegeType.Grant,
            DbName = "default",
            CollectionName = "*",
        }, Root);
        Assert.Equal(0, granted.Code);
        Assert.NotEqual(1401, (await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "c" }, fred)).Status.Code);
        // The group's DescribeCollection holds on the collection although Milvus annotates it on the Global object
        // (public's default grant of it revoked first, so that only the group can pass).
        Assert.Equal(0, (await server.Milvus.OperatePrivilegeAsync(new OperatePrivilegeRequest
        {
            Type = OperatePrivilegeType.Revoke,
            Entity = new GrantEntity
            {
                Role = new RoleEntity { Name = "public" }, Object = new ObjectEntity { Name = "Global" }, ObjectName = "*", DbName = "*",
                Grantor = new GrantorEntity { Privilege = new PrivilegeEntity { Name = "DescribeCollection" } },
            },
        }, Root)).Code);
        Assert.NotEqual(1401, (await server.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { CollectionName = "c" }, fred)).Status.Code);
        var ivan = await NewUserAsync(server, "ivan"); // public role only
        Assert.Equal(1401, (await server.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { CollectionName = "c" }, ivan)).Status.Code);
        // Read-only: no insert.
        Assert.Equal(1401, (await server.Milvus.InsertAsync(new InsertRequest { CollectionName = "c" }, fred)).Status.Code);

        var grants = await server.Milvus.SelectGrantAsync(new SelectGrantRequest
        {
            Entity = new GrantEntity { Role = new RoleEntity { Name = "ro" } },
        }, fred); // a user may read its own role's grants
        Assert.Equal(0, grants.Status.Code);
        var grant = Assert.Single(grants.Entities);
        Assert.Equal("CollectionReadOnly", grant.Grantor.Privilege.Name);
        Assert.Equal("Collection", grant.Object.Name);
        Assert.Equal("root", grant.Grantor.User.Name);
    }

    [Fact]
    public async Task Users_And_Roles_AreListed_AndAdminRoleCanManage()
    {
        await using var server = await StartAuthAsync();
        await CreateUserWithRoleAsync(server, "gina", "Gina-Pass-1", "ops");
        var gina = Auth("gina:Gina-Pass-1");
        Assert.Equal(1401, (await server.Milvus.ListCredUsersAsync(new ListCredUsersRequest(), gina)).Status.Code);
        Assert.Equal(0, (await server.Milvus.OperateUserRoleAsync(new OperateUserRoleRequest
        {
            Username = "gina", RoleName = "admin", Type = OperateUserRoleType.AddUserToRole,
        }, Root)).Code);
        var users = await server.Milvus.ListCredUsersAsync(new ListCredUsersRequest(), gina);
        Assert.Equal(0, users.Status.Code);
        Assert.Equal(["root", "gina"], users.Usernames);

        var selected = await server.Milvus.SelectUserAsync(new SelectUserRequest
        {
            User = new UserEntity { Name = "gina" }, IncludeRoleInfo = true,
        }, gina);
        Assert.Equal(["ops", "admin"], Assert.Single(selected.Results).Roles.Select(r => r.Name));

        var roles = await server.Milvus.SelectRoleAsync(new SelectRoleRequest { IncludeUserInfo = true }, gina);
        Assert.Contains(roles.Results, r => r.Role.Name == "ops" && r.Users.Any(u => u.Name == "gina"));

        Assert.NotEqual(0, (await server.Milvus.DeleteCredentialAsync(new DeleteCredentialRequest { Username = "root" }, gina)).Code);
        Assert.Equal(0, (await server.Milvus.DeleteCredentialAsync(new DeleteCredentialRequest { Username = "gina" }, Root)).Code);
        var gone = await Assert.ThrowsAsync<RpcException>(async () => await server.Milvus.GetVersionAsync(new GetVersionRequest(), gina));
        Assert.Equal(StatusCode.Unauthenticated, gone.StatusCode);
    }

    [Fact]
    public async Task AuditLog_RecordsDenials_FailedLogins_AndSecurityChanges_WithoutSecrets()
    {
        await using var server = await StartAuthAsync();
        await CreateUserWithRoleAsync(server, "hank", "Hank-Pass-1", "nobody");
        await server.Milvus.SearchAsync(SearchOn("docs"), Auth("hank:Hank-Pass-1"));
        await Assert.ThrowsAsync<RpcException>(async () => await server.Milvus.GetVersionAsync(new GetVersionRequest(), Auth("hank:bad-pass-1")));

        var lines = await File.ReadAllLinesAsync(Path.Combine(server.DataPath, "security", "audit.jsonl"));
        var records = lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Contains(records, r => r.GetProperty("method").GetString() == "CreateCredential" && r.GetProperty("outcome").GetString() == "ok"
            && r.GetProperty("user").GetString() == "root");
        Assert.Contains(records, r => r.GetProperty("method").GetString() == "CreateRole");
        Assert.Contains(records, r => r.GetProperty("method").GetString() == "Search"
            && r.GetProperty("outcome").GetString() == "denied PrivilegeSearch" && r.GetProperty("user").GetString() == "hank");
        Assert.Contains(records, r => r.GetProperty("method").GetString() == "GetVersion"
            && r.GetProperty("outcome").GetString()!.StartsWith("authentication failed", StringComparison.Ordinal));
        var all = string.Join('\n', lines);
        Assert.DoesNotContain("Hank-Pass-1", all, StringComparison.Ordinal);
        Assert.DoesNotContain("bad-pass-1", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Limits_TopKAndRows_AnswerMilvusErrors()
    {
        await using var server = await TestServer.StartAsync(o => o.Security.MaxRowsPerInsert = 10);
        var search = SearchOn("docs");
        search.SearchParams.Add(new Quiver.Protocol.Common.KeyValuePair { Key = "topk", Value = "16385" });
        var tooDeep = await server.Milvus.SearchAsync(search);
        Assert.Equal(1100, tooDeep.Status.Code);
        Assert.Contains("16384", tooDeep.Status.Reason, StringComparison.Ordinal);

        var tooMany = await server.Milvus.InsertAsync(new InsertRequest { CollectionName = "docs", NumRows = 11 });
        Assert.Equal(1102, tooMany.Status.Code);

        var wideQuery = SearchOn("docs");
        wideQuery.Nq = 16385;
        Assert.Equal(1100, (await server.Milvus.SearchAsync(wideQuery)).Status.Code);
    }

    [Fact]
    public async Task RenameIntoAnotherDatabase_NeedsThePrivilegeThereToo()
    {
        await using var server = await StartAuthAsync();
        await server.Server.Engine.CreateDatabaseAsync("a");
        await server.Server.Engine.CreateDatabaseAsync("b");
        await server.Server.Engine.CreateCollectionAsync("docs", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 4, MetricType.L2)],
        }, "a");
        await CreateUserWithRoleAsync(server, "erin", "Erin-Pass-1", "a_admin");
        Assert.Equal(0, (await GrantAsync(server, "a_admin", "Global", "*", "RenameCollection", "a")).Code);

        var move = new RenameCollectionRequest { DbName = "a", OldName = "docs", NewName = "docs", NewDBName = "b" };
        var denied = await server.Milvus.RenameCollectionAsync(move, Auth("erin:Erin-Pass-1"));
        Assert.Equal(1401, denied.Code);
        Assert.Contains("`b`", denied.Reason, StringComparison.Ordinal);
        Assert.True(await server.Server.Engine.HasCollectionAsync("docs", "a"));

        Assert.Equal(0, (await GrantAsync(server, "a_admin", "Global", "*", "RenameCollection", "b")).Code);
        Assert.Equal(0, (await server.Milvus.RenameCollectionAsync(move, Auth("erin:Erin-Pass-1"))).Code);
        Assert.True(await server.Server.Engine.HasCollectionAsync("docs", "b"));
    }

    private static async Task<JsonObject> RestAsync(TestServer server, string path, string body, string credential)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(MilvusRestV2.Prefix + path, UriKind.Relative))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", credential);
        using var response = await server.Http.SendAsync(request);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    [Fact]
    public async Task User_DescribesItself_OverGrpcAndRest_ButNotOtherUsers()
    {
        await using var server = await StartAuthAsync();
        await CreateUserWithRoleAsync(server, "ivy", "Ivy-Pass-1", "reader");
        await CreateUserWithRoleAsync(server, "jon", "Jon-Pass-1", "writer");
        var ivy = Auth("ivy:Ivy-Pass-1");

        var self = await server.Milvus.SelectUserAsync(new SelectUserRequest { User = new UserEntity { Name = "ivy" }, IncludeRoleInfo = true }, ivy);
        Assert.Equal(0, self.Status.Code);
        Assert.Equal(["reader"], Assert.Single(self.Results).Roles.Select(r => r.Name));
        var rest = await RestAsync(server, "/users/describe", "{\"userName\": \"ivy\"}", "ivy:Ivy-Pass-1");
        Assert.Equal(0, rest["code"]!.GetValue<int>());
        Assert.Equal(["reader"], rest["data"]!.AsArray().Select(n => n!.GetValue<string>()));

        // Another user, or every user, still needs SelectUser.
        var other = await server.Milvus.SelectUserAsync(new SelectUserRequest { User = new UserEntity { Name = "jon" }, IncludeRoleInfo = true }, ivy);
        Assert.Equal(1401, other.Status.Code);
        Assert.Empty(other.Results);
        Assert.Equal(1401, (await server.Milvus.SelectUserAsync(new SelectUserRequest(), ivy)).Status.Code);
        Assert.Equal(1401, (await RestAsync(server, "/users/describe", "{\"userName\": \"jon\"}", "ivy:Ivy-Pass-1"))["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task PublicRole_DescribedOverRest_ListsTheSameGrantsAsGrpc()
    {
        await using var server = await StartAuthAsync();
        var grpc = await server.Milvus.SelectGrantAsync(new SelectGrantRequest { Entity = new GrantEntity { Role = new RoleEntity { Name = "public" } } }, Root);
        Assert.Equal(0, grpc.Status.Code);
        Assert.Equal(3, grpc.Entities.Count);
        var inDefault = await server.Milvus.SelectGrantAsync(new SelectGrantRequest
        {
            Entity = new GrantEntity { Role = new RoleEntity { Name = "public" }, DbName = "default" },
        }, Root);

        var rest = await RestAsync(server, "/roles/describe", "{\"roleName\": \"public\"}", "root:" + RootPassword);
        Assert.Equal(0, rest["code"]!.GetValue<int>());
        var fromRest = rest["data"]!.AsArray()
            .Select(g => $"{g!["objectType"]}/{g["objectName"]}/{g["dbName"]}/{g["privilege"]}").Order().ToList();
        var fromGrpc = grpc.Entities.Select(g => $"{g.Object.Name}/{g.ObjectName}/{g.DbName}/{g.Grantor.Privilege.Name}").Order().ToList();
        Assert.Equal(fromGrpc, fromRest);
        Assert.Equal(fromGrpc, inDefault.Entities.Select(g => $"{g.Object.Name}/{g.ObjectName}/{g.DbName}/{g.Grantor.Privilege.Name}").Order());
        Assert.Contains("Global/*/*/DescribeCollection", fromRest);
    }
}
