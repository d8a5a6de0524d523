using Quiver.Indexing;

namespace Quiver.Engine.Tests.Indexing;

public sealed class IvfSq8IndexTests : IvfFamilyTests
{
    private protected override IndexKind Kind => IndexKind.IvfSq8;

    private protected override double FullProbeRecall => 0.95;
}
