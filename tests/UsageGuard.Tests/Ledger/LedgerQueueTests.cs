using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Ledger;

[TestFixture]
public sealed class LedgerQueueTests
{
    [TestCase(4, 1)]
    [TestCase(16, 2)]
    [TestCase(1024, 3)]
    public void ManyWriters_OneReader_EveryItemOnceAndInOrderPerWriter(int capacity, int seed)
    {
        var queue = new LedgerQueue<(int Writer, int Index)>(capacity);
        const int writers = 4;
        const int perWriter = 50_000;
        using var start = new Barrier(writers + 1);
        var producers = Enumerable.Range(0, writers).Select(w => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < perWriter; i++)
            {
                while (!queue.Writer.TryWrite((w, i)))
                {
                    Thread.Yield();
                }
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        var next = new int[writers];
        int read = 0;
        start.SignalAndWait();
        var random = new Random(seed);
        while (read < writers * perWriter)
        {
            if (queue.Reader.TryRead(out var item))
            {
                item.Index.Should().Be(next[item.Writer], "each writer's items arrive once, in its order");
                next[item.Writer]++;
                read++;
            }
            else if (random.Next(4) == 0)
            {
                Thread.Yield();
            }
        }

        Task.WaitAll(producers);
        queue.Reader.TryRead(out _).Should().BeFalse();
    }

    [Test]
    public void Full_RefusesUntilTheReaderFreesASlot()
    {
        var queue = new LedgerQueue<int>(4);
        for (int i = 0; i < 4; i++)
        {
            queue.Writer.TryWrite(i).Should().BeTrue();
        }

        queue.Writer.TryWrite(99).Should().BeFalse();
        queue.Reader.TryRead(out int first).Should().BeTrue();
        first.Should().Be(0);
        queue.Writer.TryWrite(4).Should().BeTrue();
        queue.Reader.TryPeek(out int peeked).Should().BeTrue();
        peeked.Should().Be(1);
    }

    [Test]
    public async Task Complete_WhileWritersWrite_LosesNothingAcceptedAndRefusesTheRest()
    {
        var queue = new LedgerQueue<int>(64);
        int accepted = 0;
        using var go = new ManualResetEventSlim();
        var writers = Enumerable.Range(0, 3).Select(_ => Task.Factory.StartNew(() =>
        {
            go.Wait();
            var spinner = default(SpinWait);
            while (!queue.Reader.Completion.IsCompleted)
            {
                if (queue.Writer.TryWrite(1))
                {
                    Interlocked.Increment(ref accepted);
                }
                else
                {
                    spinner.SpinOnce();
                }

                if (Volatile.Read(ref accepted) > 200_000)
                {
                    break;
                }
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        // The reader drains while writers write, and the queue is completed in the middle of it all.
        int read = 0;
        go.Set();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        bool completed = false;
        while (true)
        {
            if (queue.Reader.TryRead(out _))
            {
                read++;
                continue;
            }

            if (!completed && clock.ElapsedMilliseconds > 20)
            {
                queue.Writer.TryComplete().Should().BeTrue();
                completed = true;
            }

            if (queue.Reader.Completion.IsCompleted)
            {
                break;
            }
        }

        await Task.WhenAll(writers);
        read.Should().Be(accepted);
        queue.Reader.Completion.IsCompleted.Should().BeTrue();
        queue.Writer.TryWrite(1).Should().BeFalse();
        queue.Writer.TryComplete().Should().BeFalse();
        (await queue.Reader.WaitToReadAsync()).Should().BeFalse();
    }

    [TestCase(1)]
    [TestCase(2)]
    public async Task Writer_NeverMissesAWakeUp_UnderManyShortDurableCalls(int seed)
    {
        // Every durable call leaves the writer idle for a moment, so the writer resets and re-arms its event thousands
        // of times while producers publish: the window in which a wake-up can be lost.
        await using var h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme", 1_000_000);
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var random = new Random(seed * 10 + w);
            for (int i = 0; i < 2_500; i++)
            {
                var r = await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = random.Next(1, 3) });
                r.IsAdmitted.Should().BeTrue();
            }
        })).ToArray();

        await Task.WhenAll(workers);

        h.Guard.Writer.MissedWakeUps.Should().Be(0);
    }
}
