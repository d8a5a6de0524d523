using System.Text;
using Quiver.Storage;

namespace Quiver.Engine.Tests.Storage;

public class Crc32CTests
{
    [Fact]
    public void Compute_CheckString_MatchesPublishedValue()
    {
        byte[] data = Encoding.ASCII.GetBytes("123456789");
        Assert.Equal(0xE3069283u, Crc32C.Compute(data));
        Assert.Equal(0xE3069283u, Crc32C.AppendScalar(0, data));
    }

    [Fact]
    public void Compute_Empty_IsZero() => Assert.Equal(0u, Crc32C.Compute([]));

    [Fact]
    public void Compute_KnownVectors_Match()
    {
        // RFC 3720 (iSCSI) B.4 test vectors.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
    }

    [Fact]
    public void HardwarePath_MatchesScalar_OverRandomLengthsAndOffsets()
    {
        var random = new Random(12345);
        byte[] data = new byte[4096];
        random.NextBytes(data);
        for (int length = 0; length <= 300; length++)
        {
            int offset = random.Next(0, 16);
            var span = data.AsSpan(offset, length);
            Assert.Equal(Crc32C.AppendScalar(0, span), Crc32C.Compute(span));
        }

        for (int i = 0; i < 200; i++)
        {
            int offset = random.Next(0, 64);
            int length = random.Next(0, data.Length - offset);
            uint seed = (uint)random.Next();
            var span = data.AsSpan(offset, length);
            Assert.Equal(Crc32C.AppendScalar(seed, span), Crc32C.Append(seed, span));
        }
    }

    [Fact]
    public void Append_InPieces_EqualsWhole()
    {
        var random = new Random(7);
        byte[] data = new byte[1000];
        random.NextBytes(data);
        uint whole = Crc32C.Compute(data);
        for (int split = 0; split <= data.Length; split += 37)
        {
            Assert.Equal(whole, Crc32C.Append(Crc32C.Compute(data.AsSpan(0, split)), data.AsSpan(split)));
        }
    }
}
