using System.Buffers;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Metering;

/// <summary>The export's segmented buffer gives back exactly what was written, across segment edges, and is reusable after Clear.</summary>
[TestFixture]
public sealed class PooledSegmentsTests
{
    [TestCase(1)]
    [TestCase(2)]
    public async Task WhatIsWritten_ComesBackInOrder_AcrossSegments_AndAfterClear(int seed)
    {
        var random = new Random(seed);
        var buffer = new PooledSegments();
        for (int round = 0; round < 2; round++)
        {
            using var expected = new MemoryStream();
            while (expected.Length < 3_500_000)
            {
                byte[] chunk = new byte[random.Next(1, random.Next(2) == 0 ? 100 : 5_000)];
                random.NextBytes(chunk);
                expected.Write(chunk);
                if (random.Next(2) == 0)
                {
                    buffer.Write(chunk);
                }
                else
                {
                    chunk.CopyTo(buffer.GetSpan(chunk.Length));
                    buffer.Advance(chunk.Length);
                }
            }

            buffer.WrittenCount.Should().Be(expected.Length);
            using var actual = new MemoryStream();
            await buffer.CopyToAsync(actual, CancellationToken.None);
            actual.ToArray().Should().Equal(expected.ToArray());
            buffer.Clear();
            buffer.WrittenCount.Should().Be(0);
        }

        Action past = () => buffer.Advance(buffer.GetSpan().Length + 1);
        past.Should().Throw<InvalidOperationException>();
    }
}
