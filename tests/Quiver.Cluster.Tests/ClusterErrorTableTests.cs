using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf.Reflection;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;

namespace Quiver.Cluster.Tests;

/// <summary>The cluster nodes' own refusals (docs/errors.md, "Cluster nodes"): for each row, the answer a node builds over
/// gRPC (in the response's status, for RPCs answering a bare status and those carrying one) and over REST carries the
/// row's code, and the row's example message is the one a node sends. The running nodes give these answers in
/// <see cref="ClusterNodeTests"/> and <see cref="ClusterSdkTests"/>; the code-2 answer appears there only when a write is
/// in flight at the kill, which a test cannot arrange without depending on timing, hence these cases.</summary>
public sealed partial class ClusterErrorTableTests
{
    private const string Section = "## Cluster nodes";

    private static readonly Dictionary<string, Func<IReadOnlyList<(int Code, string Message, bool Retriable)>>> Cases = new(StringComparer.Ordinal)
    {
        ["cluster-import-object-missing"] = () =>
        [
            Grpc("Import", m => MilvusRouting.StatusAnswer(m, ClusterImports.ObjectMissing("batch/rows.jsonl", "quiver-import-objects").Code, ClusterImports.ObjectMissing("batch/rows.jsonl", "quiver-import-objects").Message)),
        ],
        ["cluster-not-served"] = () =>
        [
            Grpc("RenameCollection", m => MilvusRouting.NotServed(m)),
        ],
        ["cluster-rename-database"] = () =>
        [
            Grpc("RenameCollection", m => MilvusRouting.RenameAcrossDatabases(m, "items", "default", "db2")),
        ],
        ["cluster-security-not-stored"] = () =>
        [
            Grpc("CreateCredential", m => MilvusRouting.NotStored(m, new TimeoutException("The operation has timed out."))),
            Grpc("OperatePrivilegeV2", m => MilvusRouting.NotStored(m, new TimeoutException("The operation has timed out."))),
        ],
        ["cluster-rate-limit"] = () =>
        [
            Grpc("Search", m => MilvusRouting.StatusAnswer(m, ClusterRate.Refusal(0.003, 3).Code, ClusterRate.Refusal(0.003, 3).Message, retriable: true)),
            Grpc("Insert", m => MilvusRouting.StatusAnswer(m, ClusterRate.Refusal(0.003, 3).Code, ClusterRate.Refusal(0.003, 3).Message, retriable: true)),
        ],
        ["cluster-replica-number-fixed"] = () =>
        [
            Grpc("LoadPartitions", m => MilvusRouting.ReplicaNumberFixed(m, 2, 3)),
        ],
        ["cluster-replicas-exceed-nodes"] = () =>
        [
            Grpc("LoadCollection", m => MilvusRouting.NotEnoughNodes(m, 3, 4)),
            Grpc("LoadPartitions", m => MilvusRouting.NotEnoughNodes(m, 3, 4)),
        ],
        ["cluster-shard-dropped"] = () =>
        [
            Grpc("Insert", m => MilvusRouting.Refusal(m, ShardGrain.Dropped("default/items"))),
            Grpc("DropCollection", m => MilvusRouting.Refusal(m, ShardGrain.Dropped("default/items"))),
            Rest(RestRouting.Refusal(ShardGrain.Dropped("default/items"))),
        ],
        ["cluster-shard-unreachable"] = () =>
        [
            Grpc("Insert", m => MilvusRouting.Unreachable(m, ShardCalls.Reason("default/items", "Insert", surelyNotApplied: false))),
            Grpc("CreateCollection", m => MilvusRouting.Unreachable(m, ShardCalls.Reason("default/items", "CreateCollection", surelyNotApplied: true))),
            Rest(RestRouting.Unreachable(ShardCalls.Reason("default/items", "POST /v2/vectordb/entities/insert", surelyNotApplied: false))),
        ],
        ["cluster-sharded-not-served"] = () =>
        [
            Grpc("Search", m => MilvusRouting.ShardedNotServed(m, "Search with an iterator, sub-requests or a function score")),
            Rest(RestRouting.ShardedNotServed("/entities/search")),
        ],
        ["cluster-shards-num-invalid"] = () =>
        [
            Grpc("CreateCollection", m => MilvusRouting.TooManyShards(m, 17)),
            Rest(MilvusRouting.RestTooManyShards(17)),
        ],
    };

    [Fact]
    public void EveryRow_HasACase_AndEveryAnswerCarriesTheRowsCode()
    {
        var rows = ReadRows();
        Assert.Equal(Cases.Keys.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, (code, example)) in rows)
        {
            var answers = Cases[name]();
            Assert.All(answers, a => Assert.Equal(code, a.Code));
            Assert.Contains(example, answers.Select(a => a.Message));
        }
    }

    [Fact]
    public void ShardDropped_IsRetriable_OverGrpc()
    {
        Assert.All(Cases["cluster-shard-dropped"]().Take(2), a => Assert.True(a.Retriable));
    }

    [Fact]
    public void ShardUnreachable_IsRetriable_AndSaysWhetherTheCallMayHaveRun()
    {
        var answers = Cases["cluster-shard-unreachable"]();
        Assert.All(answers.Take(2), a => Assert.True(a.Retriable));
        Assert.Contains("may or may not have been applied", answers[0].Message, StringComparison.Ordinal);
        Assert.Contains("did not become reachable", answers[1].Message, StringComparison.Ordinal);
    }

    /// <summary>The status inside the gRPC answer <paramref name="build"/> makes for <paramref name="rpc"/>.</summary>
    private static (int, string, bool) Grpc(string rpc, Func<MethodDescriptor, byte[]> build)
    {
        var method = MilvusService.Descriptor.FindMethodByName(rpc);
        var response = method.OutputType.Parser.ParseFrom(build(method));
        var status = method.OutputType == Protocol.Common.Status.Descriptor
            ? (Protocol.Common.Status)response
            : (Protocol.Common.Status)method.OutputType.FindFieldByName("status").Accessor.GetValue(response);
        return (status.Code, status.Reason, status.Retriable);
    }

    private static (int, string, bool) Rest(string body)
    {
        using var json = JsonDocument.Parse(body);
        return (json.RootElement.GetProperty("code").GetInt32(), json.RootElement.GetProperty("message").GetString()!, false);
    }

    /// <summary>The rows of docs/errors.md's cluster section: case, code and example message.</summary>
    private static Dictionary<string, (int Code, string Example)> ReadRows([System.Runtime.CompilerServices.CallerFilePath] string here = "")
    {
        var path = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "docs", "errors.md"));
        return File.ReadLines(path)
            .SkipWhile(line => !line.StartsWith(Section, StringComparison.Ordinal))
            .Select(line => RowPattern().Match(line))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups["case"].Value, m => (int.Parse(m.Groups["code"].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups["example"].Value), StringComparer.Ordinal);
    }

    [GeneratedRegex(@"^\|\s*`(?<case>[a-z0-9-]+)`\s*\|[^|]+\|\s*(?<code>\d+)\s*\|[^|]+\|[^|]+\|\s*`(?<example>[^`]+)`\s*\|$")]
    private static partial Regex RowPattern();
}
