using System.Collections.Concurrent;

namespace UsageGuard;

internal sealed partial class EntitlementGuard
{
    private const string NoSubscriptionReason = "The customer has no subscription in force and no override gives the feature.";
    private const string NotInPlanReason = "The customer's plan, add-ons and overrides do not give the feature.";
    private const string SwitchedOffReason = "The customer's entitlement switches the feature off.";
    private const string UnknownFeatureReason = "The catalog does not define the feature (CatalogOptions.UnknownFeatures is Deny).";
    private const string LimitReason = "The metered feature's limit for the current window has no room for the quantity.";
    private const string UnknownModelReason = "The rate card has no rate for the model (CatalogOptions.UnknownModels is Deny, or tokens had nothing to be priced with).";

    // Without a subscription, windows align to UTC calendar days, weeks starting on Monday, and months starting on the 1st.
    private static readonly PeriodCalendar s_utcCalendar = new(TimeZoneInfo.Utc, new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, FeatureMeter>> _meters = new(StringComparer.Ordinal);
    private CatalogProvider? _catalog;

    /// <summary>Gets the catalog in force, or null when none is registered.</summary>
    internal CatalogProvider? Catalog => _catalog;

    public EntitlementDecision Check(string customerId, string featureId, long requested = 0)
    {
        ValidateId(customerId, nameof(customerId));
        ValidateId(featureId, nameof(featureId));
        ArgumentOutOfRangeException.ThrowIfNegative(requested);
        CatalogSnapshot catalog = RequireCatalog().Current;
        long nowTicks = _time.GetUtcNow().UtcTicks;
        return Decide(catalog, customerId, featureId, requested, nowTicks, startWindow: false, out _, out _);
    }

    /// <summary>Gets a customer's account; a customer the catalog subscribes (or overrides) has one before any credits are granted.</summary>
    private CustomerAccount CustomerFor(string customerId, CatalogSnapshot? catalog) =>
        catalog is not null && !_customers.ContainsKey(customerId)
            && (catalog.Subscriptions.ContainsKey(customerId) || catalog.Overrides.ContainsKey(customerId))
            ? AddCustomer(customerId)
            : Customer(customerId);

    private CatalogProvider RequireCatalog() =>
        _catalog ?? throw new InvalidOperationException("No catalog is registered: call UseCatalog(...) on the UsageGuard builder to check entitlements.");

    /// <summary>Decides a feature for a customer at an instant from one snapshot; with <paramref name="startWindow"/>, returns the meter window to hold in.</summary>
    private EntitlementDecision Decide(CatalogSnapshot catalog, string customerId, string featureId, long requested, long nowTicks, bool startWindow, out CatalogEntitlement? entitlement, out MeterWindow? window)
    {
        window = null;
        if (!catalog.Features.TryGetValue(featureId, out CatalogFeature? feature))
        {
            entitlement = null;
            return catalog.UnknownFeatures == UnknownPolicy.Allow
                ? new EntitlementDecision(EntitlementStatus.Granted, FeatureKind.Boolean, EntitlementSource.UnknownAllowed, null, null, 0, 0, null, false, null, catalog.Id)
                : new EntitlementDecision(EntitlementStatus.UnknownFeature, FeatureKind.Boolean, EntitlementSource.None, null, null, 0, 0, null, false, UnknownFeatureReason, catalog.Id);
        }

        entitlement = catalog.ResolveAt(customerId, featureId, nowTicks, out CatalogSubscription? subscription);
        if (entitlement is null)
        {
            string reason = subscription?.PhaseAt(nowTicks) is null ? NoSubscriptionReason : NotInPlanReason;
            return new EntitlementDecision(EntitlementStatus.NotEntitled, feature.Kind, EntitlementSource.None, null, null, 0, 0, null, false, reason, catalog.Id);
        }

        if (!entitlement.Enabled)
        {
            return new EntitlementDecision(EntitlementStatus.NotEntitled, feature.Kind, entitlement.Source, null, null, 0, 0, null, false, SwitchedOffReason, catalog.Id);
        }

        if (feature.Kind != FeatureKind.Metered)
        {
            return new EntitlementDecision(EntitlementStatus.Granted, feature.Kind, entitlement.Source, entitlement.Value, null, 0, 0, null, false, null, catalog.Id);
        }

        PeriodCalendar calendar = subscription?.Calendar ?? s_utcCalendar;
        long start;
        long end;
        long consumed;
        long held = 0;
        FeatureMeter? meter = null;
        if (startWindow)
        {
            // With many instances a window with a finite ceiling is shared through leases; an unbounded one has nothing to share.
            bool leased = _leasedLimits && Ceiling(entitlement.LimitUnits, entitlement) != long.MaxValue;
            window = Meter(customerId, feature.Scope).WindowAt(nowTicks, calendar, entitlement.Window, leased);
        }
        else if (_meters.TryGetValue(customerId, out ConcurrentDictionary<string, FeatureMeter>? meters) && meters.TryGetValue(feature.Scope, out meter))
        {
            window = meter.Peek(nowTicks, entitlement.Window);
        }

        if (window is not null)
        {
            start = window.StartTicks;
            end = window.EndTicks;
            consumed = window.Consumed;
            held = window.Held;
        }
        else
        {
            // A check does not start a window; one the ledger counted in before a restart still reports what it counted.
            UsagePeriod period = calendar.Containing(new DateTimeOffset(nowTicks, TimeSpan.Zero), entitlement.Window);
            start = period.Start.UtcTicks;
            end = period.End.UtcTicks;
            consumed = meter?.RestoredIn(period, entitlement.Window) ?? 0;
        }

        long? limit = LimitIn(entitlement, subscription, featureId, nowTicks, start, end);
        bool soft = entitlement.Enforcement == LimitEnforcement.Soft;
        long ceiling = Ceiling(limit, entitlement);
        var resetsAt = new DateTimeOffset(end, TimeSpan.Zero);
        return requested > ceiling - consumed
            ? new EntitlementDecision(EntitlementStatus.LimitReached, feature.Kind, entitlement.Source, null, limit, consumed, held, resetsAt, soft, LimitReason, catalog.Id)
            : new EntitlementDecision(EntitlementStatus.Granted, feature.Kind, entitlement.Source, null, limit, consumed, held, resetsAt, soft, null, catalog.Id);
    }

    /// <summary>
    /// The limit for the window: the entitlement's, except in the window in which the plan changed, where the old plan's limit counts
    /// for the part before the change and the new plan's for the part after (each share truncated toward zero, like allowances).
    /// </summary>
    private static long? LimitIn(CatalogEntitlement entitlement, CatalogSubscription? subscription, string featureId, long nowTicks, long windowStart, long windowEnd)
    {
        long? limit = entitlement.LimitUnits;
        if (limit is not long newLimit || subscription is null || subscription.Phases.Length < 2 || entitlement.Source == EntitlementSource.Override)
        {
            return limit;
        }

        SubscriptionPhase[] phases = subscription.Phases;
        for (int i = phases.Length - 1; i >= 1; i--)
        {
            long changeTicks = phases[i].Start.UtcTicks;
            if (changeTicks > nowTicks)
            {
                continue;
            }

            if (changeTicks <= windowStart || changeTicks >= windowEnd)
            {
                return limit;
            }

            var period = new UsagePeriod(new DateTimeOffset(windowStart, TimeSpan.Zero), new DateTimeOffset(windowEnd, TimeSpan.Zero));
            var at = new DateTimeOffset(changeTicks, TimeSpan.Zero);
            long before = phases[i - 1].Entitlements.TryGetValue(featureId, out CatalogEntitlement? old) && old.Enabled && old.Window == entitlement.Window && old.LimitUnits is long oldLimit
                ? oldLimit - PeriodCalendar.Prorate(oldLimit, period, at)
                : 0;
            return before + PeriodCalendar.Prorate(newLimit, period, at);
        }

        return limit;
    }

    /// <summary>The most a window admits: the limit, plus the overage cap for a soft limit (unbounded without a limit, or a soft one without a cap).</summary>
    private static long Ceiling(long? limit, CatalogEntitlement entitlement) =>
        limit is not long l ? long.MaxValue
        : entitlement.Enforcement == LimitEnforcement.Hard ? l
        : entitlement.OverageCapUnits is long cap ? l + cap : long.MaxValue;

    /// <summary>
    /// Gets the window of a tiered rate's token count for a customer: the subscription's billing period in its time zone, or a UTC
    /// calendar month without a subscription.
    /// </summary>
    private MeterWindow TierWindow(CatalogSnapshot catalog, string customerId, CompiledRate rate, long nowTicks)
    {
        catalog.Subscriptions.TryGetValue(customerId, out CatalogSubscription? subscription);
        return Meter(customerId, rate.Meter).WindowAt(nowTicks, subscription?.Calendar ?? s_utcCalendar, subscription?.BillingPeriod ?? UsageWindow.Month);
    }

    /// <summary>Gets the shared pool of one window of a customer's metered feature: the customer, the feature's scope, the window's kind and start.</summary>
    /// <remarks>The customer's id is prefixed by its length and the scope is followed by numbers only, so two windows never share a name.</remarks>
    private static string MeterPool(string customerId, string scope, MeterWindow window) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"meter:{customerId.Length}:{customerId}:{scope}:{(int)window.Kind}:{window.StartTicks}");

    /// <summary>Gets a customer's meter: a feature's (by its scope, <c>feature:</c> and its id) or a tiered rate's (<c>tokens:</c> and its model).</summary>
    private FeatureMeter Meter(string customerId, string meter)
    {
        ConcurrentDictionary<string, FeatureMeter> meters = _meters.TryGetValue(customerId, out ConcurrentDictionary<string, FeatureMeter>? customer)
            ? customer
            : _meters.GetOrAdd(customerId, static _ => new ConcurrentDictionary<string, FeatureMeter>(StringComparer.Ordinal));
        return meters.TryGetValue(meter, out FeatureMeter? found) ? found : meters.GetOrAdd(meter, static _ => new FeatureMeter());
    }

    /// <summary>
    /// Gates a reservation on the catalog: entitlement, then the metered feature's window. On admission the meter holds the quantity
    /// and <paramref name="overageUnits"/> is the part of it above a soft limit; on denial nothing is held.
    /// </summary>
    private ReservationStatus AdmitFeature(in ReservationRequest request, in Prepared prepared, long nowTicks, ReservationState state, out long overageUnits, out decimal? overageRate, out string? reason, out string? scope)
    {
        overageUnits = 0;
        overageRate = null;
        CatalogSnapshot catalog = prepared.Catalog!;
        EntitlementDecision decision = Decide(catalog, request.CustomerId, request.Feature!, prepared.Quantity, nowTicks, startWindow: true, out CatalogEntitlement? entitlement, out MeterWindow? window);
        reason = decision.Reason;
        scope = decision.Status == EntitlementStatus.Granted ? null : catalog.Features.TryGetValue(request.Feature!, out CatalogFeature? f) ? f.Scope : "feature";
        ReservationStatus status = decision.Status switch
        {
            EntitlementStatus.Granted => ReservationStatus.Admitted,
            EntitlementStatus.LimitReached => ReservationStatus.LimitReached,
            EntitlementStatus.UnknownFeature => ReservationStatus.UnknownFeature,
            _ => ReservationStatus.NotEntitled,
        };
        if (status != ReservationStatus.Admitted || window is null)
        {
            return status;
        }

        long limit = decision.Limit ?? long.MaxValue;
        long ceiling = Ceiling(decision.Limit, entitlement!);
        if (!window.TryHold(prepared.Quantity, ceiling, limit, out overageUnits, out bool leaseShort))
        {
            if (leaseShort && !t_lastAttempt)
            {
                // This instance's lease on the window is short while the ceiling has room: the caller tops it up and tries again.
                t_shortfall = new LeaseShortfall(window, MeterPool(request.CustomerId, entitlement!.Feature.Scope, window), ceiling, prepared.Quantity, CountsUse: true);
            }

            // Another request took the room between the decision and the hold (or, with many instances, the shared pool has none).
            reason = LimitReason;
            scope = entitlement!.Feature.Scope;
            return ReservationStatus.LimitReached;
        }

        state.HoldMeter(window, entitlement!.Feature.Scope, prepared.Quantity);
        overageRate = entitlement!.OverageRatePerUnit;
        return ReservationStatus.Admitted;
    }
}
