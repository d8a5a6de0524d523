using Quiver.Indexing;

namespace Quiver.Engine.Tests.Indexing;

public sealed class IvfFlatIndexTests : IvfFamilyTests
{
    private protected override IndexKind Kind => IndexKind.IvfFlat;

    private protected override double FullProbeRecall => 0.999;
}
