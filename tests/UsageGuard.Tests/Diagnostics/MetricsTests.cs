using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Diagnostics;

/// <summary>The guard's metrics, observed with a <see cref="MeterListener"/>: names, values and tags (never a customer id).</summary>
[TestFixture]
public sealed class MetricsTests
{
    [Test]
    public async Task Decisions_AreCountedByOperationAndOutcome_CreditsConsumedByType_AndLedgerBatchesMeasured()
    {
        var longs = new ConcurrentQueue<(string Name, long Value, Dictionary<string, object?> Tags)>();
        var durations = new ConcurrentQueue<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == UsageGuardDiagnostics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => longs.Enqueue((instrument.Name, value, Tags(tags))));
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == "usageguard.ledger.batch.duration")
            {
                durations.Enqueue(value);
            }
        });
        listener.Start();

        await using GuardHarness h = await GuardHarness.StartAsync();
        await h.GrantAsync("acme-metrics", 10m);
        (await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme-metrics", Amount = 3m })).IsAdmitted.Should().BeTrue();
        (await h.Gate.ConsumeAsync(new ReservationRequest { CustomerId = "acme-metrics", Amount = 20m })).Status.Should().Be(ReservationStatus.InsufficientCredits);
        ReservationResult held = await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme-metrics", Amount = 2m });
        await held.Reservation.SettleAsync(1.5m);
        (await h.Gate.ReserveAsync(new ReservationRequest { CustomerId = "acme-metrics", Amount = 100m })).Status.Should().Be(ReservationStatus.InsufficientCredits);
        listener.RecordObservableInstruments();

        var decisions = longs.Where(m => m.Name == "usageguard.reservations").Select(m => ((string)m.Tags["usageguard.operation"]!, (string)m.Tags["usageguard.status"]!, m.Value)).ToList();
        decisions.Should().BeEquivalentTo(new[]
        {
            ("consume", "Admitted", 1L),
            ("consume", "InsufficientCredits", 1L),
            ("reserve", "Admitted", 1L),
            ("reserve", "InsufficientCredits", 1L),
        });
        var consumed = longs.Where(m => m.Name == "usageguard.credits.consumed").ToList();
        consumed.Sum(m => m.Value).Should().Be(4_500_000, "3 + 1.5 credits at scale 6, exact");
        consumed.Should().OnlyContain(m => (string)m.Tags["usageguard.credit_type"]! == "credits" && m.Tags.Count == 1, "a credit type, never a customer id");
        longs.Where(m => m.Name == "usageguard.ledger.batch.size").Sum(m => m.Value).Should().BeGreaterThanOrEqualTo(3, "the grant and the two settlements were committed");
        durations.Should().NotBeEmpty().And.OnlyContain(d => d >= 0);
        longs.Should().NotContain(m => m.Tags.Values.Any(v => Equals(v, "acme-metrics")), "no customer id is ever a tag");
    }

    private static Dictionary<string, object?> Tags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var dictionary = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            dictionary[tag.Key] = tag.Value;
        }

        return dictionary;
    }
}
