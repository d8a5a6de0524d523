using Google.Protobuf;
using Grpc.Core;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;
using Quiver.Server.Security;
using Quiver.Testing;

namespace Quiver.Server.Tests.Security;

/// <summary>The gate on its own: REST credentials (no REST endpoints are needed for these) and the limits read from the
/// wire form of query vectors and schemas.</summary>
public sealed class GateTests
{
    private static CallInfo Call(string method, string transport, string? credential) =>
        new() { Method = method, Transport = transport, RequestId = "t", Credential = credential, Peer = "ipv4:127.0.0.1:5000" };

    /// <summary>A serialized common.PlaceholderGroup with <paramref name="count"/> float vectors of <paramref name="dim"/>.</summary>
    private static ByteString Placeholders(int count, int dim)
    {
        var value = new MemoryStream();
        var inner = new CodedOutputStream(value);
        inner.WriteTag(1, WireFormat.WireType.LengthDelimited);
        inner.WriteString("$0");
        inner.WriteTag(2, WireFormat.WireType.Varint);
        inner.WriteEnum(101); // FloatVector
        for (var i = 0; i < count; i++)
        {
            inner.WriteTag(3, WireFormat.WireType.LengthDelimited);
            inner.WriteBytes(ByteString.CopyFrom(new byte[dim * 4]));
        }
        inner.Flush();
        var group = new MemoryStream();
        var outer = new CodedOutputStream(group);
        outer.WriteTag(1, WireFormat.WireType.LengthDelimited);
        outer.WriteBytes(ByteString.CopyFrom(value.ToArray()));
        outer.Flush();
        return ByteString.CopyFrom(group.ToArray());
    }

    [Fact]
    public async Task Rest_BearerUserPassword_AndApiKey_Authenticate_ElseCode1800()
    {
        using var folder = new TempFolder();
        var options = new SecurityOptions { AuthEnabled = true, RootPassword = AuthTests.RootPassword };
        var store = SecurityStore.Open(folder.Path, options);
        using var audit = new AuditLog(null);
        var gate = new SecurityGate(options, store, audit);

        var byPassword = Call("ListCredUsers", "rest", "Bearer root:" + AuthTests.RootPassword);
        await gate.CheckAsync(byPassword, null, CancellationToken.None);
        Assert.Equal("root", byPassword.User);

        var (_, key) = store.CreateApiKey("root", null);
        var byKey = Call("ListCredUsers", "rest", key);
        await gate.CheckAsync(byKey, null, CancellationToken.None);
        Assert.Equal("root", byKey.User);

        var wrong = await Assert.ThrowsAsync<MilvusException>(async () =>
            await gate.CheckAsync(Call("ListCredUsers", "rest", "Bearer root:nope-nope"), null, CancellationToken.None));
        Assert.Equal(1800, wrong.Code);
        var none = await Assert.ThrowsAsync<MilvusException>(async () =>
            await gate.CheckAsync(Call("ListCredUsers", "rest", null), null, CancellationToken.None));
        Assert.Equal(1800, none.Code);
    }

    [Fact]
    public async Task RepeatedFailures_FromOneAddress_AreTurnedAwayWithoutHashing()
    {
        using var folder = new TempFolder();
        var options = new SecurityOptions { AuthEnabled = true, RootPassword = AuthTests.RootPassword };
        var store = SecurityStore.Open(folder.Path, options);
        using var audit = new AuditLog(Path.Combine(folder.Path, "audit.jsonl"));
        var gate = new SecurityGate(options, store, audit, failuresPerSecond: 1e-6, failureBurst: 3);
        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<RpcException>(async () =>
                await gate.CheckAsync(Call("GetVersion", "grpc", AuthTests.Auth("root:wrong-" + i).GetValue("authorization")), null, CancellationToken.None));
        }
        var limited = await Assert.ThrowsAsync<MilvusException>(async () =>
            await gate.CheckAsync(Call("GetVersion", "grpc", AuthTests.Auth("root:wrong-3").GetValue("authorization")), null, CancellationToken.None));
        Assert.Equal(MilvusCode.RateLimit, limited.Code);
        // ... even with the right password, until the address's bucket refills.
        Assert.Equal(MilvusCode.RateLimit, (await Assert.ThrowsAsync<MilvusException>(async () => await gate.CheckAsync(
            Call("GetVersion", "grpc", AuthTests.Root.GetValue("authorization")), null, CancellationToken.None))).Code);
        audit.Dispose();
        // Repeats are counted into the audit line's count (AuditLog aggregates identical failures).
        var lines = (await File.ReadAllLinesAsync(Path.Combine(folder.Path, "audit.jsonl"))).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        long Counted(string outcome) => lines.Where(l => l.GetProperty("outcome").GetString() == outcome).Sum(l => l.GetProperty("count").GetInt64());
        Assert.Equal(3, Counted("authentication failed"));
        Assert.Equal(2, Counted("authentication failed: too many failures from this address"));
    }

    [Fact]
    public async Task ConcurrentWrongGuesses_FromOneAddress_EvaluateExactlyTheBudget_AndTheRestAreRateLimited()
    {
        const int Budget = 5, Guesses = 32;
        using var folder = new TempFolder();
        var options = new SecurityOptions { AuthEnabled = true, RootPassword = AuthTests.RootPassword };
        var store = SecurityStore.Open(folder.Path, options);
        var auditPath = Path.Combine(folder.Path, "audit.jsonl");
        // The clock does not move: whatever the machine's speed, the budget is the burst alone.
        var clock = new ManualClock();
        var audit = new AuditLog(auditPath, time: clock);
        var gate = new SecurityGate(options, store, audit, failuresPerSecond: 2, failureBurst: Budget, time: clock);
        var outcomes = new Exception?[Guesses];
        using var start = new Barrier(Guesses);
        var threads = Enumerable.Range(0, Guesses).Select(i => new Thread(() =>
        {
            var call = Call("GetVersion", "grpc", AuthTests.Auth("root:wrong-guess-" + i).GetValue("authorization"));
            start.SignalAndWait();
            try
            {
                gate.CheckAsync(call, null, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                outcomes[i] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromMinutes(5)), "a guess hung"));
        audit.Dispose();

        var evaluated = outcomes.Count(e => e is RpcException { StatusCode: StatusCode.Unauthenticated });
        var limited = outcomes.OfType<MilvusException>().Where(e => e.Code == MilvusCode.RateLimit).ToList();
        Assert.Equal(Budget, evaluated);
        Assert.Equal(Guesses - Budget, limited.Count);
        Assert.Contains("failed logins", limited[0].Message, StringComparison.Ordinal);
        var lines = await File.ReadAllTextAsync(auditPath);
        Assert.DoesNotContain("wrong-guess", lines, StringComparison.Ordinal);

        // Once the bucket has refilled (2 per second), the next guesses are evaluated again.
        clock.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 2; i++)
        {
            await Assert.ThrowsAsync<RpcException>(async () => await gate.CheckAsync(
                Call("GetVersion", "grpc", AuthTests.Auth("root:again-" + i).GetValue("authorization")), null, CancellationToken.None));
        }
        Assert.Equal(MilvusCode.RateLimit, (await Assert.ThrowsAsync<MilvusException>(async () => await gate.CheckAsync(
            Call("GetVersion", "grpc", AuthTests.Auth("root:again-2").GetValue("authorization")), null, CancellationToken.None))).Code);
    }

    /// <summary>A PlaceholderValue written field by field: <paramref name="vectors"/> float vectors of <paramref name="dim"/>,
    /// the type after the values, and an unknown varint field between them.</summary>
    private static byte[] ValueTypeLast(int vectors, int dim)
    {
        var value = new MemoryStream();
        var inner = new CodedOutputStream(value);
        for (var i = 0; i < vectors; i++)
        {
            inner.WriteTag(3, WireFormat.WireType.LengthDelimited);
            inner.WriteBytes(ByteString.CopyFrom(new byte[dim * 4]));
            inner.WriteTag(9, WireFormat.WireType.Varint);
            inner.WriteInt32(7);
        }
        inner.WriteTag(2, WireFormat.WireType.Varint);
        inner.WriteEnum(101); // FloatVector
        inner.Flush();
        return value.ToArray();
    }

    private static ByteString Group(params byte[][] values)
    {
        var group = new MemoryStream();
        var outer = new CodedOutputStream(group);
        foreach (var v in values)
        {
            outer.WriteTag(1, WireFormat.WireType.LengthDelimited);
            outer.WriteBytes(ByteString.CopyFrom(v));
        }
        outer.Flush();
        return ByteString.CopyFrom(group.ToArray());
    }

    [Fact]
    public async Task Limits_CountEveryPlaceholderValueInAnyFieldOrder_AndRefuseAMalformedGroup()
    {
        using var audit = new AuditLog(null);
        var gate = new SecurityGate(new SecurityOptions { MaxNq = 3, MaxDimension = 8 }, null, audit);
        Task Check(ByteString group) => gate.CheckAsync(Call("Search", "grpc", null),
            new Protocol.Milvus.SearchRequest { CollectionName = "c", PlaceholderGroup = group }, CancellationToken.None).AsTask();

        // The group's own parser is the oracle for what the wire bytes hold.
        var twoAndTwo = Group(ValueTypeLast(2, 8), ValueTypeLast(2, 8));
        Assert.Equal(4, Protocol.Common.PlaceholderGroup.Parser.ParseFrom(twoAndTwo).Placeholders.Sum(p => p.Values.Count));
        Assert.Equal(1100, (await Assert.ThrowsAsync<MilvusException>(() => Check(twoAndTwo))).Code);
        await Check(Group(ValueTypeLast(2, 8), ValueTypeLast(1, 8)));

        // The dimension is the first value's that holds vectors, whichever placeholder that is.
        var wide = await Assert.ThrowsAsync<MilvusException>(() => Check(Group(ValueTypeLast(0, 8), ValueTypeLast(1, 9))));
        Assert.Equal(1102, wide.Code);

        var whole = Placeholders(1, 8).ToByteArray();
        foreach (var cut in new[] { 1, 5, whole.Length - 1 })
        {
            Assert.Throws<InvalidProtocolBufferException>(() => Protocol.Common.PlaceholderGroup.Parser.ParseFrom(whole.AsSpan(0, cut).ToArray()));
            var broken = await Assert.ThrowsAsync<MilvusException>(() => Check(ByteString.CopyFrom(whole, 0, cut)));
            Assert.Equal(1100, broken.Code);
            Assert.Contains("not a valid PlaceholderGroup", broken.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Limits_ReadNqAndDimensionFromPlaceholders_AndDimFromSchema()
    {
        var options = new SecurityOptions { MaxNq = 2, MaxDimension = 8 };
        using var audit = new AuditLog(null);
        var gate = new SecurityGate(options, null, audit);

        var fits = new Protocol.Milvus.SearchRequest { CollectionName = "c", PlaceholderGroup = Placeholders(2, 8) };
        await gate.CheckAsync(Call("Search", "grpc", null), fits, CancellationToken.None);

        var tooMany = new Protocol.Milvus.SearchRequest { CollectionName = "c", PlaceholderGroup = Placeholders(3, 8) };
        Assert.Equal(1100, (await Assert.ThrowsAsync<MilvusException>(async () =>
            await gate.CheckAsync(Call("Search", "grpc", null), tooMany, CancellationToken.None))).Code);

        var tooWide = new Protocol.Milvus.SearchRequest { CollectionName = "c", PlaceholderGroup = Placeholders(1, 9) };
        var wide = await Assert.ThrowsAsync<MilvusException>(async () =>
            await gate.CheckAsync(Call("Search", "grpc", null), tooWide, CancellationToken.None));
        Assert.Equal(1102, wide.Code);
        Assert.Contains("9", wide.Message, StringComparison.Ordinal);

        var schema = new Protocol.Schema.CollectionSchema { Name = "c" };
        var field = new Protocol.Schema.FieldSchema { Name = "v", DataType = Protocol.Schema.DataType.FloatVector };
        field.TypeParams.Add(new Protocol.Common.KeyValuePair { Key = "dim", Value = "16" });
        schema.Fields.Add(field);
        var create = new CreateCollectionRequest { CollectionName = "c", Schema = schema.ToByteString() };
        var error = await Assert.ThrowsAsync<MilvusException>(async () =>
            await gate.CheckAsync(Call("CreateCollection", "grpc", null), create, CancellationToken.None));
        Assert.Equal(1102, error.Code);
        Assert.Contains("'v'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PrivilegeTable_CarriesMilvusAnnotations()
    {
        Assert.Equal(new PrivilegeRequirement("Collection", "PrivilegeSearch", "collection_name", null), PrivilegeTable.ByMethod["Search"]);
        Assert.Equal("Global", PrivilegeTable.ByMethod["CreateCollection"].ObjectType);
        Assert.Equal("collection_names", PrivilegeTable.ByMethod["Flush"].ObjectNamesField);
        Assert.Equal(new PrivilegeRequirement("User", "PrivilegeUpdateUser", "username", null), PrivilegeTable.ByMethod["UpdateCredential"]);
        Assert.False(PrivilegeTable.ByMethod.ContainsKey("ShowCollections"));
        Assert.False(PrivilegeTable.ByMethod.ContainsKey("Connect"));
    }
}
