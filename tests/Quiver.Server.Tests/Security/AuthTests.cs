using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Server.Security;

namespace Quiver.Server.Tests.Security;

public sealed class AuthTests
{
    internal const string RootPassword = "Root-Secret-9";

    /// <summary>gRPC metadata as Milvus SDKs send it: authorization = base64("user:password") or base64(api key).</summary>
    internal static Metadata Auth(string credential) =>
        new() { { "authorization", Convert.ToBase64String(Encoding.UTF8.GetBytes(credential)) } };

    internal static Metadata Root => Auth("root:" + RootPassword);

    internal static Task<TestServer> StartAuthAsync(Action<SecurityOptions>? configure = null) =>
        TestServer.StartAsync(o =>
        {
            o.Security.AuthEnabled = true;
            o.Security.RootPassword = RootPassword;
            configure?.Invoke(o.Security);
        });

    internal static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>Creates user <paramref name="user"/> with a role <paramref name="role"/> (as root, over gRPC).</summary>
    internal static async Task CreateUserWithRoleAsync(TestServer server, string user, string password, string role)
    {
        Assert.Equal(0, (await server.Milvus.CreateCredentialAsync(new CreateCredentialRequest { Username = user, Password = B64(password) }, Root)).Code);
        Assert.Equal(0, (await server.Milvus.CreateRoleAsync(new CreateRoleRequest { Entity = new RoleEntity { Name = role } }, Root)).Code);
        Assert.Equal(0, (await server.Milvus.OperateUserRoleAsync(new OperateUserRoleRequest
        {
            Username = user, RoleName = role, Type = OperateUserRoleType.AddUserToRole,
        }, Root)).Code);
    }

    [Fact]
    public async Task NoCredential_IsUnauthenticated_EvenForHealth()
    {
        await using var server = await StartAuthAsync();
        var e = await Assert.ThrowsAsync<RpcException>(async () => await server.Milvus.CheckHealthAsync(new CheckHealthRequest()));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        var connect = await Assert.ThrowsAsync<RpcException>(async () => await server.Milvus.ConnectAsync(new ConnectRequest()));
        Assert.Equal(StatusCode.Unauthenticated, connect.StatusCode);
    }

    [Fact]
    public async Task WrongPassword_AndUnknownUser_AreDeniedAlike_WithoutDetail()
    {
        await using var server = await StartAuthAsync();
        var wrong = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Milvus.GetVersionAsync(new GetVersionRequest(), Auth("root:guess-123")));
        var unknown = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Milvus.GetVersionAsync(new GetVersionRequest(), Auth("nobody:guess-123")));
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.Equal(wrong.Status.Detail, unknown.Status.Detail);
        Assert.DoesNotContain("guess-123", wrong.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("nobody", unknown.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RightPassword_Passes()
    {
        await using var server = await StartAuthAsync();
        var version = await server.Milvus.GetVersionAsync(new GetVersionRequest(), Root);
        Assert.Equal(0, version.Status.Code);
        var health = await server.Milvus.CheckHealthAsync(new CheckHealthRequest(), Root);
        Assert.True(health.IsHealthy);
    }

    [Fact]
    public async Task AuthOn_FirstStartWithoutRootPassword_Refuses()
    {
        var previous = Environment.GetEnvironmentVariable(SecurityOptions.RootPasswordVariable);
        Environment.SetEnvironmentVariable(SecurityOptions.RootPasswordVariable, null);
        try
        {
            var e = await Assert.ThrowsAsync<ServerConfigurationException>(() => TestServer.StartAsync(o => o.Security.AuthEnabled = true));
            Assert.Contains("root password", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(SecurityOptions.RootPasswordVariable, previous);
        }
    }

    [Fact]
    public async Task NonLoopbackBind_WithoutAuth_Refuses()
    {
        var e = await Assert.ThrowsAsync<ServerConfigurationException>(() => TestServer.StartAsync(o => o.Host = "0.0.0.0"));
        Assert.Contains("authentication is off", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PasswordFile_HoldsNoPlaintext_AndSurvivesRestart()
    {
        await using var server = await StartAuthAsync();
        Assert.Equal(0, (await server.Milvus.CreateCredentialAsync(
            new CreateCredentialRequest { Username = "alice", Password = B64("Alice-Pass-1") }, Root)).Code);
        var text = await File.ReadAllTextAsync(Path.Combine(server.DataPath, "security", "users.json"));
        Assert.Contains("alice", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Alice-Pass-1", text, StringComparison.Ordinal);
        Assert.DoesNotContain(B64("Alice-Pass-1"), text, StringComparison.Ordinal);
        Assert.DoesNotContain(RootPassword, text, StringComparison.Ordinal);
        var store = SecurityStore.Open(server.DataPath, new SecurityOptions { AuthEnabled = true });
        Assert.Equal("alice", store.Authenticate("alice:Alice-Pass-1"));
        Assert.Null(store.Authenticate("alice:wrong-pass"));
    }

    [Fact]
    public async Task User_ChangesOwnPassword_WithTheOldOne()
    {
        await using var server = await StartAuthAsync();
        await server.Milvus.CreateCredentialAsync(new CreateCredentialRequest { Username = "bob", Password = B64("Bob-Pass-1") }, Root);
        var bob = Auth("bob:Bob-Pass-1");
        Assert.Equal(0, (await server.Milvus.GetVersionAsync(new GetVersionRequest(), bob)).Status.Code);

        var wrongOld = await server.Milvus.UpdateCredentialAsync(new UpdateCredentialRequest
        {
            Username = "bob", OldPassword = B64("not-it-1"), NewPassword = B64("Bob-Pass-2"),
        }, bob);
        Assert.NotEqual(0, wrongOld.Code);

        var changed = await server.Milvus.UpdateCredentialAsync(new UpdateCredentialRequest
        {
            Username = "bob", OldPassword = B64("Bob-Pass-1"), NewPassword = B64("Bob-Pass-2"),
        }, bob);
        Assert.Equal(0, changed.Code);
        // The old password stops working at once (the credential cache is dropped on change).
        var old = await Assert.ThrowsAsync<RpcException>(async () => await server.Milvus.GetVersionAsync(new GetVersionRequest(), bob));
        Assert.Equal(StatusCode.Unauthenticated, old.StatusCode);
        Assert.Equal(0, (await server.Milvus.GetVersionAsync(new GetVersionRequest(), Auth("bob:Bob-Pass-2"))).Status.Code);

        // Changing another user's password is a privilege bob lacks.
        var other = await server.Milvus.UpdateCredentialAsync(new UpdateCredentialRequest
        {
            Username = "root", OldPassword = B64(RootPassword), NewPassword = B64("Hijack-123"),
        }, Auth("bob:Bob-Pass-2"));
        Assert.Equal(1401, other.Code);
    }

    [Fact]
    public async Task ApiKey_Works_AndRevokedKeyFails()
    {
        await using var server = await StartAuthAsync();
        await server.Milvus.CreateCredentialAsync(new CreateCredentialRequest { Username = "carol", Password = B64("Carol-Pass-1") }, Root);
        var store = server.Server.Services.GetRequiredService<SecurityStore>();
        var (id, key) = store.CreateApiKey("carol", "ci");
        Assert.DoesNotContain(':', key);

        var version = await server.Milvus.GetVersionAsync(new GetVersionRequest(), Auth(key));
        Assert.Equal(0, version.Status.Code);
        Assert.DoesNotContain(key, await File.ReadAllTextAsync(store.FilePath), StringComparison.Ordinal);
        Assert.Contains(store.ApiKeys(), k => k.Id == id && k.User == "carol");

        Assert.True(store.RevokeApiKey(id));
        var e = await Assert.ThrowsAsync<RpcException>(async () => await server.Milvus.GetVersionAsync(new GetVersionRequest(), Auth(key)));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
    }

    [Fact]
    public async Task RateLimit_Trips_WithRetriableCode8()
    {
        await using var server = await StartAuthAsync(s => s.RequestsPerSecondPerUser = 0.001);
        var codes = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            // Flush is one of the calls Milvus's limiter counts; an empty one has nothing to do.
            var response = await server.Milvus.FlushAsync(new FlushRequest(), Root);
            codes.Add(response.Status.Code);
            if (response.Status.Code == 8)
            {
                Assert.True(response.Status.Retriable);
            }
        }
        Assert.Equal(0, codes[0]);
        Assert.Contains(8, codes);
    }

    [Fact]
    public async Task RateLimit_CountsWritesSearchesAndDdl_NotTheMetadataAndProgressReadsAnSdkPolls()
    {
        // One call per 1,000 s: once the create took the bucket's one token, every later counted call is refused however
        // slow the machine, and the reads an SDK repeats while it waits for a load or an index are all served meanwhile.
        await using var server = await StartAuthAsync(s => s.RequestsPerSecondPerUser = 0.001);
        var schema = new Protocol.Schema.CollectionSchema
        {
            Name = "limited",
            Fields =
            {
                new Protocol.Schema.FieldSchema { Name = "id", DataType = Protocol.Schema.DataType.Int64, IsPrimaryKey = true },
                new Protocol.Schema.FieldSchema
                {
                    Name = "v", DataType = Protocol.Schema.DataType.FloatVector,
                    TypeParams = { new Protocol.Common.KeyValuePair { Key = "dim", Value = "2" } },
                },
            },
        };
        var created = await server.Milvus.CreateCollectionAsync(
            new CreateCollectionRequest { CollectionName = "limited", Schema = schema.ToByteString() }, Root);
        Assert.Equal(0, created.Code);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(0, (await server.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { CollectionName = "limited" }, Root)).Status.Code);
            Assert.Equal(0, (await server.Milvus.ShowCollectionsAsync(new ShowCollectionsRequest(), Root)).Status.Code);
            Assert.Equal(0, (await server.Milvus.HasCollectionAsync(new HasCollectionRequest { CollectionName = "limited" }, Root)).Status.Code);
            Assert.Equal(0, (await server.Milvus.GetLoadStateAsync(new GetLoadStateRequest { CollectionName = "limited" }, Root)).Status.Code);
            Assert.Equal(0, (await server.Milvus.GetVersionAsync(new GetVersionRequest(), Root)).Status.Code);
        }
        var flushed = await server.Milvus.FlushAsync(new FlushRequest(), Root);
        Assert.Equal(Quiver.Server.Milvus.MilvusCode.RateLimit, flushed.Status.Code);
        var dropped = await server.Milvus.DropCollectionAsync(new DropCollectionRequest { CollectionName = "limited" }, Root);
        Assert.Equal(Quiver.Server.Milvus.MilvusCode.RateLimit, dropped.Code);
    }
}
