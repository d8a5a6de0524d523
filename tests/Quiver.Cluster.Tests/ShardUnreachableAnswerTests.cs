using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;

namespace Quiver.Cluster.Tests;

/// <summary>What a node answers when a call's shard does not answer (its node is dying): Milvus code 2, retriable, in the
/// response's own status, for RPCs answering a bare status and those carrying one, with a message that says whether the
/// call may have been applied. The multi-process <see cref="ClusterNodeTests"/> sees these answers during a kill when a
/// write is in flight; these cases check them without depending on when the kill lands.</summary>
public sealed class ShardUnreachableAnswerTests
{
    [Fact]
    public void Insert_AnswersCode2InItsStatus_SayingItMayHaveBeenApplied()
    {
        var method = MilvusService.Descriptor.FindMethodByName("Insert");
        var reason = ShardCalls.Reason("default/items", "Insert", surelyNotApplied: false);
        var answer = Protocol.Milvus.MutationResult.Parser.ParseFrom(MilvusRouting.StatusAnswer(method, 2, reason, retriable: true));
        Assert.Equal(2, answer.Status.Code);
        Assert.True(answer.Status.Retriable);
        Assert.Contains("shard of 'default/items'", answer.Status.Reason, StringComparison.Ordinal);
        Assert.Contains("may or may not have been applied", answer.Status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateCollection_AnswersABareStatusWithCode2()
    {
        var method = MilvusService.Descriptor.FindMethodByName("CreateCollection");
        var reason = ShardCalls.Reason("default/items", "CreateCollection", surelyNotApplied: true);
        var answer = Protocol.Common.Status.Parser.ParseFrom(MilvusRouting.StatusAnswer(method, 2, reason, retriable: true));
        Assert.Equal(2, answer.Code);
        Assert.Contains("did not become reachable", answer.Reason, StringComparison.Ordinal);
    }
}
