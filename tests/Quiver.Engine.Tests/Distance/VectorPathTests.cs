using System.Runtime.Intrinsics;

namespace Quiver.Engine.Tests.Distance;

/// <summary>
/// Guards the CI leg that re-runs the kernel tests without AVX-512 to cover the Vector256 path.
/// On .NET 10 the old knob <c>DOTNET_EnableAVX512F=0</c> is ignored and Vector512 stays on, so that
/// leg would silently test the Vector512 path twice; <c>DOTNET_EnableAVX512=0</c> is the knob that works.
/// </summary>
[Trait("Category", "Kernels")]
public sealed class VectorPathTests
{
    [Fact]
    public void Vector512_DisabledByEnvironment_IsNotAccelerated()
    {
        bool asked = Environment.GetEnvironmentVariable("DOTNET_EnableAVX512F") == "0"
            || Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0";
        if (asked)
        {
            Assert.False(
                Vector512.IsHardwareAccelerated,
                "Vector512 is still accelerated, so the Vector256 kernels are not being tested. "
                + "On .NET 10 set DOTNET_EnableAVX512=0 (DOTNET_EnableAVX512F=0 is ignored).");
        }
    }
}
