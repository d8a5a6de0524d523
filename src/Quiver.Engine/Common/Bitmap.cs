using System.Diagnostics;
using System.Numerics;

namespace Quiver.Common;

/// <summary>A fixed-length set of row numbers as 64-bit words. Bits past <see cref="Length"/> are kept zero so that
/// counts and word-wise operations never need masking by the caller. Not thread-safe for writes.</summary>
internal sealed class Bitmap
{
    private readonly ulong[] _words;

    public Bitmap(int length, bool initial = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        _words = new ulong[WordCount(length)];
        if (initial)
        {
            SetAll();
        }
    }

    private Bitmap(int length, ulong[] words)
    {
        Length = length;
        _words = words;
    }

    /// <summary>Number of bits.</summary>
    public int Length { get; }

    /// <summary>The backing words; bits past <see cref="Length"/> are zero.</summary>
    public Span<ulong> Words => _words;

    public static int WordCount(int length) => (length + 63) >> 6;

    /// <summary>Bytes the bitmap holds on the managed heap: the object (header, array reference and length: 32) and its
    /// word array (24 + 8 a word).</summary>
    public long MemoryBytes => 32 + 24 + (8L * _words.Length);

    public bool this[int index]
    {
        get
        {
            Debug.Assert((uint)index < (uint)Length);
            return (_words[index >> 6] & (1UL << index)) != 0;
        }
        set
        {
            Debug.Assert((uint)index < (uint)Length);
            if (value)
            {
                _words[index >> 6] |= 1UL << index;
            }
            else
            {
                _words[index >> 6] &= ~(1UL << index);
            }
        }
    }

    public void Set(int index) => _words[index >> 6] |= 1UL << index;

    public void Clear(int index) => _words[index >> 6] &= ~(1UL << index);

    public void SetAll()
    {
        Array.Fill(_words, ulong.MaxValue);
        TrimTail();
    }

    public void ClearAll() => Array.Clear(_words);

    public Bitmap Clone() => new(Length, (ulong[])_words.Clone());

    public void And(Bitmap other)
    {
        CheckSame(other);
        for (var i = 0; i < _words.Length; i++)
        {
            _words[i] &= other._words[i];
        }
    }

    public void Or(Bitmap other)
    {
        CheckSame(other);
        for (var i = 0; i < _words.Length; i++)
        {
            _words[i] |= other._words[i];
        }
    }

    public void AndNot(Bitmap other)
    {
        CheckSame(other);
        for (var i = 0; i < _words.Length; i++)
        {
            _words[i] &= ~other._words[i];
        }
    }

    public void Not()
    {
        for (var i = 0; i < _words.Length; i++)
        {
            _words[i] = ~_words[i];
        }

        TrimTail();
    }

    public int PopCount()
    {
        var n = 0;
        foreach (var w in _words)
        {
            n += BitOperations.PopCount(w);
        }

        return n;
    }

    public bool Any()
    {
        foreach (var w in _words)
        {
            if (w != 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Index of the first set bit at or after <paramref name="start"/>, or -1.</summary>
    public int NextSet(int start)
    {
        if (start >= Length)
        {
            return -1;
        }

        var wi = start >> 6;
        var w = _words[wi] & (ulong.MaxValue << (start & 63));
        while (true)
        {
            if (w != 0)
            {
                return (wi << 6) + BitOperations.TrailingZeroCount(w);
            }

            if (++wi >= _words.Length)
            {
                return -1;
            }

            w = _words[wi];
        }
    }

    /// <summary>Writes the set bits in ascending order into <paramref name="destination"/> and returns how many; the span must hold <see cref="PopCount"/>.</summary>
    public int CopySetBits(Span<int> destination)
    {
        var n = 0;
        for (var wi = 0; wi < _words.Length; wi++)
        {
            var w = _words[wi];
            while (w != 0)
            {
                destination[n++] = (wi << 6) + BitOperations.TrailingZeroCount(w);
                w &= w - 1;
            }
        }

        return n;
    }

    private void TrimTail()
    {
        var rem = Length & 63;
        if (rem != 0)
        {
            _words[^1] &= (1UL << rem) - 1;
        }
    }

    private void CheckSame(Bitmap other)
    {
        if (other.Length != Length)
        {
            throw new ArgumentException($"bitmap lengths differ: {Length} and {other.Length}", nameof(other));
        }
    }
}
