using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace UsageGuard;

/// <summary>Validates <see cref="CatalogOptions"/> whole and builds a <see cref="CatalogSnapshot"/>, or reports every problem at once.</summary>
internal static class CatalogCompiler
{
    /// <summary>The windows a subscription can be billed over, shortest first.</summary>
    private static readonly UsageWindow[] BillingPeriods = [UsageWindow.Hour, UsageWindow.Day, UsageWindow.Week, UsageWindow.Month, UsageWindow.Year];

    /// <summary>Builds a snapshot, or throws <see cref="CatalogValidationException"/> listing every problem.</summary>
    /// <param name="options">The catalog.</param>
    /// <param name="creditTypeScales">The configured credit types and their scales.</param>
    /// <param name="version">The number the snapshot gets.</param>
    internal static CatalogSnapshot Compile(CatalogOptions options, IReadOnlyDictionary<string, int> creditTypeScales, long version)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        CheckDefined(errors, "catalog", nameof(CatalogOptions.UnknownFeatures), options.UnknownFeatures);
        CheckDefined(errors, "catalog", nameof(CatalogOptions.UnknownModels), options.UnknownModels);

        Dictionary<string, CatalogFeature?> features = CompileFeatures(options, creditTypeScales, errors);
        Dictionary<string, CatalogOffer> offers = CompileOffers(options, features, creditTypeScales, errors);
        Dictionary<string, CatalogOverride[]> overrides = CompileOverrides(options, features, errors);
        (RateCard rates, Dictionary<string, RateCard> contracts) = CompileRates(options, creditTypeScales, errors);
        Dictionary<string, CatalogSubscription> subscriptions = CompileSubscriptions(options, offers, errors);
        if (errors.Count > 0)
        {
            throw new CatalogValidationException(errors);
        }

        return new CatalogSnapshot(
            version,
            ContentHash(options),
            options.Revision,
            features.ToFrozenDictionary(pair => pair.Key, pair => pair.Value!, StringComparer.Ordinal),
            offers.ToFrozenDictionary(StringComparer.Ordinal),
            overrides.ToFrozenDictionary(StringComparer.Ordinal),
            subscriptions.ToFrozenDictionary(StringComparer.Ordinal),
            rates,
            contracts.ToFrozenDictionary(StringComparer.Ordinal),
            options.UnknownFeatures,
            options.UnknownModels);
    }

    /// <summary>A SHA-256 of the catalog's JSON form, in hex: equal catalogs hash equally in any process.</summary>
    internal static string ContentHash(CatalogOptions options) =>
        Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(options, CatalogJson.Default.CatalogOptions)));

    /// <summary>Compiles the features by id; an invalid feature's id maps to null, so that what refers to it is not reported a second time.</summary>
    private static Dictionary<string, CatalogFeature?> CompileFeatures(CatalogOptions options, IReadOnlyDictionary<string, int> scales, List<string> errors)
    {
        var features = new Dictionary<string, CatalogFeature?>(StringComparer.Ordinal);
        for (int i = 0; i < options.Features.Count; i++)
        {
            FeatureOptions f = options.Features[i];
            string at = Name("features", f?.Id, i);
            if (f is null)
            {
                errors.Add($"{at}: is null");
                continue;
            }

            int before = errors.Count;
            CheckId(errors, at, nameof(FeatureOptions.Id), f.Id);
            CheckDefined(errors, at, nameof(FeatureOptions.Kind), f.Kind);
            CheckDefined(errors, at, nameof(FeatureOptions.ValueType), f.ValueType);
            if (f.Kind == FeatureKind.Config && f.ValueType == ConfigValueType.Choice && f.AllowedValues.Count == 0)
            {
                errors.Add($"{at}: a Choice feature needs AllowedValues");
            }

            if (f.AllowedValues.Count > 0 && !(f.Kind == FeatureKind.Config && f.ValueType == ConfigValueType.Choice))
            {
                errors.Add($"{at}: AllowedValues apply only to a Config feature of ValueType Choice");
            }

            if (f.AllowedValues.Count != f.AllowedValues.Distinct(StringComparer.Ordinal).Count())
            {
                errors.Add($"{at}: AllowedValues has duplicates");
            }

            long? price = null;
            int scale = 0;
            if (f.PricePerUnit is decimal perUnit)
            {
                if (f.Kind != FeatureKind.Metered)
                {
                    errors.Add($"{at}: PricePerUnit applies only to a Metered feature");
                }

                if (f.CreditType is null)
                {
                    errors.Add($"{at}: PricePerUnit needs a CreditType");
                }
                else if (CheckCreditType(errors, at, f.CreditType, scales) is int s)
                {
                    scale = s;
                    price = Units(errors, at, nameof(FeatureOptions.PricePerUnit), perUnit, s);
                }
            }
            else if (f.CreditType is not null && CheckCreditType(errors, at, f.CreditType, scales) is int s)
            {
                scale = s;
            }

            long offline = 0;
            if (f.OfflineAllowance is decimal allowance)
            {
                if (f.CreditType is null)
                {
                    errors.Add($"{at}: OfflineAllowance needs a CreditType");
                }
                else if (scales.TryGetValue(f.CreditType, out int s) && Units(errors, at, nameof(FeatureOptions.OfflineAllowance), allowance, s) is long units)
                {
                    // An unknown credit type is reported above.
                    offline = units;
                }
            }

            if (!string.IsNullOrWhiteSpace(f.Id) && !features.TryAdd(f.Id, null))
            {
                errors.Add($"{at}: the id is used by another feature");
                continue;
            }

            if (errors.Count == before)
            {
                features[f.Id] = new CatalogFeature(f, price, scale, offline);
            }
        }

        return features;
    }

    private static Dictionary<string, CatalogOffer> CompileOffers(CatalogOptions options, Dictionary<string, CatalogFeature?> features, IReadOnlyDictionary<string, int> scales, List<string> errors)
    {
        // Ids are unique across plans and add-ons, so a subscription's ids name one thing each.
        var plans = new Dictionary<string, PlanOptions>(StringComparer.Ordinal);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < options.Plans.Count; i++)
        {
            PlanOptions p = options.Plans[i];
            string at = Name("plans", p?.Id, i);
            if (p is null)
            {
                errors.Add($"{at}: is null");
                continue;
            }

            if (CheckId(errors, at, nameof(PlanOptions.Id), p.Id) && !ids.Add(p.Id))
            {
                errors.Add($"{at}: the id is used by another plan or add-on");
                continue;
            }

            if (!string.IsNullOrWhiteSpace(p.Id))
            {
                plans[p.Id] = p;
            }
        }

        for (int i = 0; i < options.AddOns.Count; i++)
        {
            AddOnOptions a = options.AddOns[i];
            string at = Name("addOns", a?.Id, i);
            if (a is null)
            {
                errors.Add($"{at}: is null");
                continue;
            }

            if (CheckId(errors, at, nameof(AddOnOptions.Id), a.Id) && !ids.Add(a.Id))
            {
                errors.Add($"{at}: the id is used by another plan or add-on");
            }
        }

        var offers = new Dictionary<string, CatalogOffer>(StringComparer.Ordinal);
        foreach (PlanOptions plan in plans.Values)
        {
            string at = $"plans[{plan.Id}]";
            var entitlements = new Dictionary<string, CatalogEntitlement>(StringComparer.Ordinal);
            var allowances = new Dictionary<string, CatalogAllowance>(StringComparer.Ordinal);
            if (!FoldIncludes(plan, plans, features, scales, entitlements, allowances, [], errors, isRoot: true))
            {
                continue;
            }

            offers[plan.Id] = new CatalogOffer(plan.Id, plan.Name, isAddOn: false, entitlements.ToFrozenDictionary(StringComparer.Ordinal), allowances.Values.ToArray());
        }

        foreach (AddOnOptions addOn in options.AddOns)
        {
            if (addOn is null || string.IsNullOrWhiteSpace(addOn.Id) || offers.ContainsKey(addOn.Id) || plans.ContainsKey(addOn.Id))
            {
                continue;
            }

            string at = $"addOns[{addOn.Id}]";
            var entitlements = new Dictionary<string, CatalogEntitlement>(StringComparer.Ordinal);
            var allowances = new Dictionary<string, CatalogAllowance>(StringComparer.Ordinal);
            AddOwn(at, addOn.Id, EntitlementSource.AddOn, addOn.Entitlements, addOn.Allowances, features, scales, entitlements, allowances, errors);
            offers[addOn.Id] = new CatalogOffer(addOn.Id, addOn.Name, isAddOn: true, entitlements.ToFrozenDictionary(StringComparer.Ordinal), allowances.Values.ToArray());
        }

        return offers;
    }

    /// <summary>Folds a plan's includes (depth first, in order) and then its own elements into the maps; false on a cycle or an unknown include.</summary>
    private static bool FoldIncludes(
        PlanOptions plan,
        Dictionary<string, PlanOptions> plans,
        Dictionary<string, CatalogFeature?> features,
        IReadOnlyDictionary<string, int> scales,
        Dictionary<string, CatalogEntitlement> entitlements,
        Dictionary<string, CatalogAllowance> allowances,
        List<string> path,
        List<string> errors,
        bool isRoot)
    {
        string at = $"plans[{plan.Id}]";
        if (path.Contains(plan.Id, StringComparer.Ordinal))
        {
            // Reported once, by the plan where the cycle closes.
            if (path[0] == plan.Id)
            {
                errors.Add($"{at}: includes itself ({string.Join(" -> ", path)} -> {plan.Id})");
            }

            return false;
        }

        path.Add(plan.Id);
        try
        {
            bool ok = true;
            foreach (string included in plan.Includes)
            {
                if (included is null || !plans.TryGetValue(included, out PlanOptions? inner))
                {
                    if (isRoot)
                    {
                        errors.Add($"{at}: includes '{included}', which is not a plan of the catalog");
                    }

                    ok = false;
                    continue;
                }

                ok &= FoldIncludes(inner, plans, features, scales, entitlements, allowances, path, errors, isRoot: false);
            }

            // Only the plan being compiled reports its own elements' problems (and a cycle that returns to it); included plans
            // report theirs when they are compiled.
            AddOwn(at, plan.Id, EntitlementSource.Plan, plan.Entitlements, plan.Allowances, features, scales, entitlements, allowances, isRoot ? errors : []);
            return ok;
        }
        finally
        {
            path.RemoveAt(path.Count - 1);
        }
    }

    private static void AddOwn(
        string at,
        string ownerId,
        EntitlementSource source,
        IList<EntitlementOptions> ownEntitlements,
        IList<AllowanceOptions> ownAllowances,
        Dictionary<string, CatalogFeature?> features,
        IReadOnlyDictionary<string, int> scales,
        Dictionary<string, CatalogEntitlement> entitlements,
        Dictionary<string, CatalogAllowance> allowances,
        List<string> errors)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < ownEntitlements.Count; i++)
        {
            EntitlementOptions e = ownEntitlements[i];
            string where = $"{at}.{Name("entitlements", e?.Feature, i)}";
            if (e is null)
            {
                errors.Add($"{where}: is null");
                continue;
            }

            if (!seen.Add(e.Feature ?? string.Empty))
            {
                errors.Add($"{where}: the feature has another entitlement in the same {(source == EntitlementSource.AddOn ? "add-on" : "plan")}");
                continue;
            }

            if (CompileEntitlement(where, e, source, ownerId, features, errors) is { } compiled)
            {
                // Own entitlements win over included plans', feature by feature.
                entitlements[e.Feature!] = compiled;
            }
        }

        var ownIds = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < ownAllowances.Count; i++)
        {
            AllowanceOptions a = ownAllowances[i];
            string where = $"{at}.{Name("allowances", a?.Id, i)}";
            if (a is null)
            {
                errors.Add($"{where}: is null");
                continue;
            }

            if (CheckId(errors, where, nameof(AllowanceOptions.Id), a.Id) && !ownIds.Add(a.Id))
            {
                errors.Add($"{where}: the id is used by another allowance of the same {(source == EntitlementSource.AddOn ? "add-on" : "plan")}");
                continue;
            }

            if (CompileAllowance(where, a, ownerId, scales, errors) is { } compiled)
            {
                allowances[a.Id] = compiled;
            }
        }
    }

    private static CatalogEntitlement? CompileEntitlement(string at, EntitlementOptions e, EntitlementSource source, string sourceId, Dictionary<string, CatalogFeature?> features, List<string> errors)
    {
        int before = errors.Count;
        CheckDefined(errors, at, nameof(EntitlementOptions.Window), e.Window);
        CheckDefined(errors, at, nameof(EntitlementOptions.Enforcement), e.Enforcement);
        if (e.Enforcement == LimitEnforcement.Throttled)
        {
            errors.Add($"{at}: Enforcement Throttled applies to budgets (GovernanceOptions); a metered entitlement is Hard or Soft");
        }

        if (string.IsNullOrWhiteSpace(e.Feature))
        {
            errors.Add($"{at}: Feature is empty");
            return null;
        }

        if (!features.TryGetValue(e.Feature, out CatalogFeature? feature))
        {
            errors.Add($"{at}: Feature '{e.Feature}' is not a feature of the catalog");
            return null;
        }

        if (feature is null)
        {
            // The feature itself is invalid, and reported as such.
            return null;
        }

        if (e.Limit is not null && feature.Kind != FeatureKind.Metered)
        {
            errors.Add($"{at}: Limit applies only to a Metered feature ('{feature.Id}' is {feature.Kind})");
        }

        CheckNotNegative(errors, at, nameof(EntitlementOptions.Limit), e.Limit);
        CheckNotNegative(errors, at, nameof(EntitlementOptions.OverageCap), e.OverageCap);
        CheckWholeUnits(errors, at, nameof(EntitlementOptions.Limit), e.Limit);
        CheckWholeUnits(errors, at, nameof(EntitlementOptions.OverageCap), e.OverageCap);
        if (e.Limit is null && e.OverageCap is not null && e.Enforcement == LimitEnforcement.Soft)
        {
            errors.Add($"{at}: OverageCap needs a Limit");
        }
        CheckNotNegative(errors, at, nameof(EntitlementOptions.OverageRatePerUnit), e.OverageRatePerUnit);
        if ((e.OverageCap is not null || e.OverageRatePerUnit is not null) && e.Enforcement != LimitEnforcement.Soft)
        {
            errors.Add($"{at}: OverageCap and OverageRatePerUnit apply only to a Soft limit");
        }

        if (e.OverageRatePerUnit is not null && feature.CreditType is null)
        {
            errors.Add($"{at}: OverageRatePerUnit needs the feature '{feature.Id}' to have a CreditType to charge in");
        }

        if (feature.Kind == FeatureKind.Config && e.Enabled)
        {
            CheckConfigValue(at, feature, e.Value, errors);
        }
        else if (e.Value is not null && feature.Kind != FeatureKind.Config)
        {
            errors.Add($"{at}: Value applies only to a Config feature ('{feature.Id}' is {feature.Kind})");
        }

        return errors.Count == before ? new CatalogEntitlement(feature, e, source, sourceId) : null;
    }

    private static void CheckConfigValue(string at, CatalogFeature feature, string? value, List<string> errors)
    {
        if (value is null)
        {
            errors.Add($"{at}: Value is required for the Config feature '{feature.Id}'");
            return;
        }

        switch (feature.ValueType)
        {
            case ConfigValueType.Number when !decimal.TryParse(value, NumberStyles.Number, CultureInfo.InvariantCulture, out _):
                errors.Add($"{at}: Value '{value}' is not a number (use an invariant-culture decimal point)");
                break;
            case ConfigValueType.Choice when !feature.AllowedValues.Contains(value):
                errors.Add($"{at}: Value '{value}' is not one of the AllowedValues of '{feature.Id}' ({string.Join(", ", feature.AllowedValues.Order(StringComparer.Ordinal))})");
                break;
        }
    }

    private static CatalogAllowance? CompileAllowance(string at, AllowanceOptions a, string ownerId, IReadOnlyDictionary<string, int> scales, List<string> errors)
    {
        int before = errors.Count;
        CheckDefined(errors, at, nameof(AllowanceOptions.Expiry), a.Expiry);
        CheckDefined(errors, at, nameof(AllowanceOptions.Category), a.Category);
        if (a.Amount <= 0)
        {
            errors.Add($"{at}: Amount must be positive ({a.Amount.ToString(CultureInfo.InvariantCulture)})");
        }

        if (a.Expiry == AllowanceExpiry.Relative && a.ExpiresAfter is not { Ticks: > 0 })
        {
            errors.Add($"{at}: Expiry Relative needs a positive ExpiresAfter");
        }
        else if (a.Expiry != AllowanceExpiry.Relative && a.ExpiresAfter is not null)
        {
            errors.Add($"{at}: ExpiresAfter applies only to Expiry Relative");
        }

        CheckNotNegative(errors, at, nameof(AllowanceOptions.RolloverMin), a.RolloverMin);
        CheckNotNegative(errors, at, nameof(AllowanceOptions.RolloverMax), a.RolloverMax);
        if (a.RolloverMin is decimal min && a.RolloverMax is decimal max && min > max)
        {
            errors.Add($"{at}: RolloverMin ({min.ToString(CultureInfo.InvariantCulture)}) is above RolloverMax ({max.ToString(CultureInfo.InvariantCulture)})");
        }

        if (CheckCreditType(errors, at, a.CreditType, scales) is not int scale)
        {
            return null;
        }

        // Negative and non-positive values are reported above; converting them would report them a second time.
        long amount = a.Amount > 0 ? Units(errors, at, nameof(AllowanceOptions.Amount), a.Amount, scale) ?? 0 : 0;
        long rolloverMin = a.RolloverMin is decimal rmin and >= 0 ? Units(errors, at, nameof(AllowanceOptions.RolloverMin), rmin, scale) ?? 0 : 0;
        long? rolloverMax = a.RolloverMax is decimal rmax and >= 0 ? Units(errors, at, nameof(AllowanceOptions.RolloverMax), rmax, scale) : null;
        return errors.Count == before
            ? new CatalogAllowance(a.Id, ownerId, amount, a.CreditType, scale, a.Priority, a.Category, a.Expiry, a.ExpiresAfter, rolloverMin, rolloverMax, a.PreserveOverage)
            : null;
    }

    private static Dictionary<string, CatalogOverride[]> CompileOverrides(CatalogOptions options, Dictionary<string, CatalogFeature?> features, List<string> errors)
    {
        var byCustomer = new Dictionary<string, List<CatalogOverride>>(StringComparer.Ordinal);
        for (int i = 0; i < options.Overrides.Count; i++)
        {
            CustomerOverrideOptions o = options.Overrides[i];
            string at = $"overrides[#{i}{(o is null || string.IsNullOrWhiteSpace(o.Customer) ? "" : " " + o.Customer)}]";
            if (o is null || o.Entitlement is null)
            {
                errors.Add($"{at}: {(o is null ? "is null" : "Entitlement is null")}");
                continue;
            }

            int before = errors.Count;
            CheckId(errors, at, nameof(CustomerOverrideOptions.Customer), o.Customer);
            if (o.From is { } from && o.Until is { } until && from >= until)
            {
                errors.Add($"{at}: From ({from:O}) is not before Until ({until:O})");
            }

            CatalogEntitlement? entitlement = CompileEntitlement($"{at}.entitlement[{o.Entitlement.Feature}]", o.Entitlement, EntitlementSource.Override, o.Customer ?? string.Empty, features, errors);
            if (entitlement is not null && errors.Count == before)
            {
                if (!byCustomer.TryGetValue(o.Customer!, out List<CatalogOverride>? list))
                {
                    byCustomer[o.Customer!] = list = [];
                }

                list.Add(new CatalogOverride(o.From, o.Until, entitlement));
            }
        }

        // Ordered by start, so that the latest-starting override in force wins (a stable sort keeps the catalog's order for equal starts).
        return byCustomer.ToDictionary(
            pair => pair.Key,
            pair => pair.Value.OrderBy(o => o.From ?? DateTimeOffset.MinValue).ToArray(),
            StringComparer.Ordinal);
    }

    /// <summary>Builds the rate card and each customer's contract card layered on it; a rate card's problems become the catalog's.</summary>
    private static (RateCard Rates, Dictionary<string, RateCard> Contracts) CompileRates(CatalogOptions options, IReadOnlyDictionary<string, int> scales, List<string> errors)
    {
        RateCard rates = BuildCard("models", options.Models, scales, errors) ?? RateCard.Empty;
        var contracts = new Dictionary<string, RateCard>(StringComparer.Ordinal);
        for (int i = 0; i < options.ContractRates.Count; i++)
        {
            CustomerRatesOptions c = options.ContractRates[i];
            string at = Name("contractRates", c?.Customer, i);
            if (c is null)
            {
                errors.Add($"{at}: is null");
                continue;
            }

            if (!CheckId(errors, at, nameof(CustomerRatesOptions.Customer), c.Customer))
            {
                continue;
            }

            if (contracts.ContainsKey(c.Customer))
            {
                errors.Add($"{at}: the customer has other contract rates; put them in one entry");
                continue;
            }

            if (BuildCard(at + ".models", c.Models, scales, errors) is { } contract)
            {
                contracts[c.Customer] = rates.WithOverrides(contract);
            }
        }

        return (rates, contracts);
    }

    private static RateCard? BuildCard(string at, IList<ModelRate> models, IReadOnlyDictionary<string, int> scales, List<string> errors)
    {
        int before = errors.Count;
        for (int i = 0; i < models.Count; i++)
        {
            if (models[i] is { CreditType: { } type } rate && !string.IsNullOrWhiteSpace(type) && !scales.ContainsKey(type))
            {
                errors.Add($"{at}[{rate.Model}]: CreditType '{type}' is not a configured credit type ({string.Join(", ", scales.Keys.Order(StringComparer.Ordinal))})");
            }
        }

        try
        {
            RateCard card = RateCard.Create(models);
            return errors.Count == before ? card : null;
        }
        catch (RateCardException ex)
        {
            foreach (string problem in ex.Problems)
            {
                errors.Add($"{at}: {problem}");
            }

            return null;
        }
    }

    private static Dictionary<string, CatalogSubscription> CompileSubscriptions(CatalogOptions options, Dictionary<string, CatalogOffer> offers, List<string> errors)
    {
        var subscriptions = new Dictionary<string, CatalogSubscription>(StringComparer.Ordinal);
        var declaredPlans = new HashSet<string>(options.Plans.Where(p => p?.Id is not null).Select(p => p.Id), StringComparer.Ordinal);
        var customers = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < options.Subscriptions.Count; i++)
        {
            SubscriptionOptions s = options.Subscriptions[i];
            string at = Name("subscriptions", s?.Customer, i);
            if (s is null)
            {
                errors.Add($"{at}: is null");
                continue;
            }

            int before = errors.Count;
            if (CheckId(errors, at, nameof(SubscriptionOptions.Customer), s.Customer) && !customers.Add(s.Customer))
            {
                errors.Add($"{at}: the customer has another subscription");
            }

            CheckDefined(errors, at, nameof(SubscriptionOptions.BillingPeriod), s.BillingPeriod);
            CheckBillingPeriod(errors, at, s.BillingPeriod);
            if (s.Start == default)
            {
                errors.Add($"{at}: Start is not set");
            }

            CatalogOffer? plan = Plan(errors, at, nameof(SubscriptionOptions.Plan), s.Plan, offers, declaredPlans);
            var addOns = new List<CatalogOffer>();
            foreach (string id in s.AddOns)
            {
                if (id is not null && offers.TryGetValue(id, out CatalogOffer? addOn) && addOn.IsAddOn)
                {
                    addOns.Add(addOn);
                }
                else
                {
                    errors.Add($"{at}: AddOns names '{id}', which is not an add-on of the catalog");
                }
            }

            PeriodCalendar? calendar = null;
            try
            {
                calendar = PeriodCalendar.FromTimeZoneId(s.TimeZone, s.BillingAnchor ?? s.Start);
            }
            catch (ArgumentException ex)
            {
                errors.Add($"{at}: TimeZone '{s.TimeZone}' is not usable ({ex.Message})");
            }

            var phases = new List<SubscriptionPhase>();
            if (plan is not null)
            {
                phases.Add(new SubscriptionPhase(s.Start, plan, addOns.ToArray()));
            }

            DateTimeOffset previous = s.Start;
            for (int c = 0; c < s.Changes.Count; c++)
            {
                PlanChangeOptions change = s.Changes[c];
                string changeAt = $"{at}.changes[#{c}]";
                if (change is null)
                {
                    errors.Add($"{changeAt}: is null");
                    continue;
                }

                if (change.At <= previous)
                {
                    errors.Add($"{changeAt}: At ({change.At:O}) is not after the start or the change before it ({previous:O})");
                }

                previous = change.At;
                if (Plan(errors, changeAt, nameof(PlanChangeOptions.Plan), change.Plan, offers, declaredPlans) is { } next)
                {
                    phases.Add(new SubscriptionPhase(change.At, next, addOns.ToArray()));
                }
            }

            if (s.CanceledAt is { } canceled && canceled <= s.Start)
            {
                errors.Add($"{at}: CanceledAt ({canceled:O}) is not after Start ({s.Start:O})");
            }

            if (errors.Count == before && calendar is not null)
            {
                subscriptions[s.Customer] = new CatalogSubscription(s.Customer, calendar, s.BillingPeriod, phases.ToArray(), s.CanceledAt);
            }
        }

        return subscriptions;
    }

    private static CatalogOffer? Plan(List<string> errors, string at, string property, string? id, Dictionary<string, CatalogOffer> offers, HashSet<string> declaredPlans)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            errors.Add($"{at}: {property} is empty");
            return null;
        }

        if (offers.TryGetValue(id, out CatalogOffer? offer) && !offer.IsAddOn)
        {
            return offer;
        }

        // An invalid plan is reported where it is defined; only a name that is no plan at all is reported here.
        if (declaredPlans.Contains(id))
        {
            return null;
        }

        errors.Add($"{at}: {property} '{id}' is not a plan of the catalog");
        return null;
    }

    private static string Name(string collection, string? id, int index) =>
        string.IsNullOrWhiteSpace(id) ? $"{collection}[#{index}]" : $"{collection}[{id}]";

    /// <summary>Checks an id is neither empty nor longer than <see cref="UsageGuardDefaults.MaxIdLength"/>; governance checks its ids the same way.</summary>
    internal static bool CheckId(List<string> errors, string at, string property, string? id)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            errors.Add($"{at}: {property} is empty");
            return false;
        }

        if (id.Length > UsageGuardDefaults.MaxIdLength)
        {
            errors.Add($"{at}: {property} is longer than {UsageGuardDefaults.MaxIdLength} characters");
            return false;
        }

        return true;
    }

    private static void CheckDefined<TEnum>(List<string> errors, string at, string property, TEnum value)
        where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            errors.Add($"{at}: {property} has the undefined value {value}");
        }
    }

    /// <summary>
    /// Minute and second windows are for rate limits, not billing: allowances are granted, tiers counted and plan changes prorated
    /// per billing period, and a grant every minute or second is not a plan anyone sells.
    /// </summary>
    private static void CheckBillingPeriod(List<string> errors, string at, UsageWindow period)
    {
        if (period is UsageWindow.Minute or UsageWindow.Second)
        {
            errors.Add($"{at}: {nameof(SubscriptionOptions.BillingPeriod)} {period} is not a billing period ({string.Join(", ", BillingPeriods)})");
        }
    }

    private static void CheckNotNegative(List<string> errors, string at, string property, decimal? value)
    {
        if (value < 0)
        {
            errors.Add($"{at}: {property} is negative ({value.Value.ToString(CultureInfo.InvariantCulture)})");
        }
    }

    private static void CheckWholeUnits(List<string> errors, string at, string property, decimal? value)
    {
        // Metered quantities are whole units (tokens, requests, seconds); a quarter of the ceiling leaves room to add a cap and usage without overflow.
        if (value is decimal v && v >= 0 && (v != decimal.Truncate(v) || v > long.MaxValue / 4))
        {
            errors.Add($"{at}: {property} must be a whole number of units below {long.MaxValue / 4} ({v.ToString(CultureInfo.InvariantCulture)})");
        }
    }

    private static int? CheckCreditType(List<string> errors, string at, string creditType, IReadOnlyDictionary<string, int> scales)
    {
        if (creditType is not null && scales.TryGetValue(creditType, out int scale))
        {
            return scale;
        }

        errors.Add($"{at}: CreditType '{creditType}' is not a configured credit type ({string.Join(", ", scales.Keys.Order(StringComparer.Ordinal))})");
        return null;
    }

    private static long? Units(List<string> errors, string at, string property, decimal value, int scale)
    {
        if (value < 0)
        {
            errors.Add($"{at}: {property} is negative ({value.ToString(CultureInfo.InvariantCulture)})");
            return null;
        }

        try
        {
            return FixedPoint.ToUnits(value, scale, property);
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException)
        {
            errors.Add($"{at}: {property} {value.ToString(CultureInfo.InvariantCulture)} does not fit the credit type's scale {scale} (more decimal places, or too large)");
            return null;
        }
    }
}
