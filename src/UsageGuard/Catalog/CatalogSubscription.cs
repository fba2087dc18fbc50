namespace UsageGuard;

/// <summary>A validated subscription: the customer's calendar and its phases (one per plan it was on), with cancellation.</summary>
internal sealed class CatalogSubscription
{
    internal CatalogSubscription(string customer, PeriodCalendar calendar, UsageWindow billingPeriod, SubscriptionPhase[] phases, DateTimeOffset? canceledAt)
    {
        Customer = customer;
        Calendar = calendar;
        BillingPeriod = billingPeriod;
        Phases = phases;
        CanceledAt = canceledAt;
    }

    internal string Customer { get; }

    internal PeriodCalendar Calendar { get; }

    internal UsageWindow BillingPeriod { get; }

    /// <summary>Gets the phases ordered by start; the first starts with the subscription.</summary>
    internal SubscriptionPhase[] Phases { get; }

    internal DateTimeOffset? CanceledAt { get; }

    internal DateTimeOffset Start => Phases[0].Start;

    /// <summary>Gets the phase in force at an instant, or null before the start and from the cancellation on.</summary>
    internal SubscriptionPhase? PhaseAt(long utcTicks)
    {
        if (CanceledAt is { } canceled && utcTicks >= canceled.UtcTicks)
        {
            return null;
        }

        SubscriptionPhase[] phases = Phases;
        for (int i = phases.Length - 1; i >= 0; i--)
        {
            if (utcTicks >= phases[i].Start.UtcTicks)
            {
                return phases[i];
            }
        }

        return null;
    }
}
