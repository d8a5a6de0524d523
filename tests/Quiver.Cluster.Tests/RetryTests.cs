using NATS.Client.Core;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster.Tests;

/// <summary><see cref="Retry.UntilAsync{T}"/>: what it sends again and what it hands to the caller at once. Counts
/// attempts; no timing.</summary>
public sealed class RetryTests
{
    public static TheoryData<string> Refusals => ["wrong-last-revision", "create-exists"];

    /// <summary>A KV compare-and-set refused is the store's answer: before, it was sent again for 30 s and then reported as
    /// "NATS JetStream did not answer", so an import job's handling of a record the node that took it over wrote never ran.</summary>
    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task ACompareAndSetRefused_ReachesTheCaller_AtTheFirstAttempt(string refusal)
    {
        var attempts = 0;
        Exception Refused() => refusal == "create-exists" ? new NatsKVCreateException() : new NatsKVWrongLastRevisionException(new NATS.Client.JetStream.Models.ApiError { Code = 400, ErrCode = 10071, Description = "wrong last sequence: 7" });

        var thrown = await Assert.ThrowsAnyAsync<NatsKVException>(() => Retry.UntilAsync<ulong>(TimeSpan.FromSeconds(30), _ =>
        {
            attempts++;
            throw Refused();
        }, CancellationToken.None));

        Assert.Equal(1, attempts);
        Assert.Equal(Refused().GetType(), thrown.GetType());
    }

    [Fact]
    public async Task AFailureThatPasses_IsSentAgain_UntilItAnswers()
    {
        var attempts = 0;

        var answer = await Retry.UntilAsync(TimeSpan.FromMinutes(5), _ =>
            ++attempts < 3 ? throw new NatsNoRespondersException() : Task.FromResult(42UL), CancellationToken.None);

        Assert.Equal(42UL, answer);
        Assert.Equal(3, attempts);
    }
}
