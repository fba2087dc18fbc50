using System.Collections.Concurrent;
using System.Diagnostics;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Diagnostics;

/// <summary>The guard's spans, observed with an <see cref="ActivityListener"/>: one per decision, settlement and ledger flush.</summary>
[TestFixture]
public sealed class TracingTests
{
    [Test]
    public async Task Decisions_Settlements_AndFlushes_AreSpans_WithOutcomeTags_AndNoCustomerId()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == UsageGuardDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        await using GuardHarness h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme-trace", 10m);
        using Activity parent = new Activity("request").Start();
        ReservationResult held = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme-trace", Amount = 2m, Feature = "chat", Model = "gpt-x" });
        await held.Reservation.SettleAsync(1.25m);
        (await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme-trace", Amount = 50m })).Status.Should().Be(ReservationStatus.InsufficientCredits);
        await h.Ledger.FlushAsync();
        Func<Task> bad = async () => await held.Reservation.SettleAsync(1m);
        await bad.Should().ThrowAsync<ReservationStateException>();

        Activity[] spans = [.. stopped.Where(a => a.Source.Name == UsageGuardDiagnostics.ActivitySourceName)];
        Activity reserve = spans.Single(a => a.OperationName == "usageguard.reserve");
        reserve.GetTagItem("usageguard.status").Should().Be("Admitted");
        reserve.GetTagItem("usageguard.feature").Should().Be("chat");
        reserve.GetTagItem("gen_ai.request.model").Should().Be("gpt-x");
        reserve.ParentId.Should().Be(parent.Id, "a decision is a child of the host's request span");

        Activity[] settles = [.. spans.Where(a => a.OperationName == "usageguard.settle")];
        settles.Should().HaveCount(2);
        settles[0].GetTagItem("usageguard.charged").Should().Be("1.250000", "exact, at the credit type's scale");
        settles[0].GetTagItem("usageguard.reservation.id").Should().Be(held.Reservation.Id);
        settles[0].Status.Should().Be(ActivityStatusCode.Unset);
        settles[1].Status.Should().Be(ActivityStatusCode.Error, "settling twice is misuse, and the span says so");
        settles[1].GetTagItem("error.type").Should().Be(typeof(ReservationStateException).FullName);

        spans.Single(a => a.OperationName == "usageguard.consume").GetTagItem("usageguard.status").Should().Be("InsufficientCredits");
        spans.Where(a => a.OperationName == "usageguard.ledger.flush").Sum(a => (int)a.GetTagItem("usageguard.ledger.batch.size")!)
            .Should().BeGreaterThanOrEqualTo(2, "the grant and the settlement were flushed");
        spans.Should().NotContain(a => a.TagObjects.Any(t => Equals(t.Value, "acme-trace")), "no customer id is a span tag");
    }
}
