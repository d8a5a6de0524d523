using System.Collections.Immutable;
using System.Net;
using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>When a node takes the node running an import job for gone and takes the job over
/// (<see cref="ClusterImports.GoneAsync"/>): a silo declared dead, or unknown to the membership table, but not a silo this
/// node's membership snapshot does not know yet (a node that joined a moment ago and accepted a job). The membership is
/// a stand-in whose table read (<c>Refresh</c>) brings the snapshot the test gives; oracle: the statuses given.</summary>
public sealed class ImportNodeGoneTests
{
    private static readonly SiloAddress Runner = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), 12345);

    [Fact]
    public async Task ASiloJoinedAfterThisNodesSnapshot_IsNotGone_OnceTheTableIsRead()
    {
        var membership = new Membership(Snapshot(1), Snapshot(2, (Runner, SiloStatus.Active)));
        Assert.False(await ClusterImports.GoneAsync(membership, Runner.ToParsableString(), CancellationToken.None));
        Assert.Equal(1, membership.Refreshes);
    }

    [Fact]
    public async Task ASiloTheTableDoesNotHoldEither_IsGone()
    {
        var membership = new Membership(Snapshot(1), Snapshot(2));
        Assert.True(await ClusterImports.GoneAsync(membership, Runner.ToParsableString(), CancellationToken.None));
        Assert.Equal(1, membership.Refreshes);
    }

    [Theory]
    [InlineData(SiloStatus.Dead, true)]
    [InlineData(SiloStatus.Active, false)]
    [InlineData(SiloStatus.Joining, false)]
    [InlineData(SiloStatus.ShuttingDown, false)]
    public async Task ASiloTheSnapshotKnows_IsGoneWhenDead_WithoutReadingTheTable(SiloStatus status, bool gone)
    {
        var membership = new Membership(Snapshot(1, (Runner, status)), Snapshot(2));
        Assert.Equal(gone, await ClusterImports.GoneAsync(membership, Runner.ToParsableString(), CancellationToken.None));
        Assert.Equal(0, membership.Refreshes);
    }

    [Fact]
    public async Task AnUnknownSilo_WhenTheTableCannotBeRead_IsNotGone()
    {
        var membership = new Membership(Snapshot(1), null);
        Assert.False(await ClusterImports.GoneAsync(membership, Runner.ToParsableString(), CancellationToken.None));
        Assert.Equal(1, membership.Refreshes);
    }

    private static ClusterMembershipSnapshot Snapshot(long version, params (SiloAddress Silo, SiloStatus Status)[] members) =>
        new(members.ToImmutableDictionary(m => m.Silo, m => new ClusterMember(m.Silo, m.Status, m.Silo.ToParsableString())), new MembershipVersion(version));

    /// <summary>A membership whose snapshot is <paramref name="before"/> until the table is read, then
    /// <paramref name="after"/>; a null <paramref name="after"/> is a table that cannot be read.</summary>
    private sealed class Membership(ClusterMembershipSnapshot before, ClusterMembershipSnapshot? after) : IClusterMembershipService
    {
        public int Refreshes { get; private set; }

        public ClusterMembershipSnapshot CurrentSnapshot { get; private set; } = before;

        public IAsyncEnumerable<ClusterMembershipSnapshot> MembershipUpdates => throw new NotSupportedException();

        public ValueTask Refresh(MembershipVersion minimumVersion = default, CancellationToken cancellationToken = default)
        {
            Refreshes++;
            CurrentSnapshot = after ?? throw new TimeoutException("the membership table cannot be read (test)");
            return ValueTask.CompletedTask;
        }

        public Task<bool> TryKill(SiloAddress siloAddress) => throw new NotSupportedException();
    }
}
