namespace Quiver.Engine.Tests.Faults;

/// <summary>One engine per data folder: a second open while the first is alive is refused with Locked.</summary>
public sealed class FolderLockTests : FaultTestBase
{
    [Fact]
    public async Task SecondOpen_OnOpenFolder_IsLocked_AndSucceedsAfterClose()
    {
        var first = await CreateAsync();
        await first.InsertAsync(Collection, Rows(0, 3));
        var ex = await Assert.ThrowsAsync<QuiverException>(() => QuiverEngine.OpenAsync(Dir.Path, NoBackground));
        Assert.Equal(QuiverErrorCode.Locked, ex.Code);

        // The refused open changed nothing: the first engine still works.
        await first.InsertAsync(Collection, Rows(3, 3));
        await first.DisposeAsync();

        await using var second = await QuiverEngine.OpenAsync(Dir.Path, NoBackground);
        await AssertExactlyAsync(second, Rows(0, 6));
    }
}
