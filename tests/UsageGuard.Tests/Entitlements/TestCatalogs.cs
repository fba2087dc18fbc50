namespace UsageGuard.Tests;

/// <summary>Catalogs the entitlement tests share: a starter and a pro plan, an add-on, model rates.</summary>
internal static class TestCatalogs
{
    public static readonly DateTimeOffset Start = new(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);

    public static CatalogOptions Basic(decimal ratePerMillion = 2m, int apiCallLimit = 100, LimitEnforcement enforcement = LimitEnforcement.Hard, decimal? overageCap = null, decimal? overageRate = null)
    {
        var catalog = new CatalogOptions { Revision = "test" };
        catalog.Features.Add(new FeatureOptions { Id = "sso", Kind = FeatureKind.Boolean });
        catalog.Features.Add(new FeatureOptions { Id = "export", Kind = FeatureKind.Boolean });
        catalog.Features.Add(new FeatureOptions { Id = "retention", Kind = FeatureKind.Config, ValueType = ConfigValueType.Number });
        catalog.Features.Add(new FeatureOptions { Id = "api.calls", Kind = FeatureKind.Metered, Unit = "calls", CreditType = "credits" });
        catalog.Features.Add(new FeatureOptions { Id = "images", Kind = FeatureKind.Metered, Unit = "images", CreditType = "credits", PricePerUnit = 0.5m });

        var starter = new PlanOptions { Id = "starter" };
        starter.Entitlements.Add(new EntitlementOptions { Feature = "retention", Value = "7" });
        starter.Entitlements.Add(new EntitlementOptions
        {
            Feature = "api.calls",
            Limit = apiCallLimit,
            Window = UsageWindow.Month,
            Enforcement = enforcement,
            OverageCap = overageCap,
            OverageRatePerUnit = overageRate,
        });
        starter.Entitlements.Add(new EntitlementOptions { Feature = "images", Limit = 10, Window = UsageWindow.Day });
        catalog.Plans.Add(starter);

        var pro = new PlanOptions { Id = "pro" };
        pro.Includes.Add("starter");
        pro.Entitlements.Add(new EntitlementOptions { Feature = "sso" });
        pro.Entitlements.Add(new EntitlementOptions { Feature = "retention", Value = "90" });
        pro.Entitlements.Add(new EntitlementOptions { Feature = "api.calls", Limit = 1_000, Window = UsageWindow.Month });
        catalog.Plans.Add(pro);

        var exports = new AddOnOptions { Id = "exports" };
        exports.Entitlements.Add(new EntitlementOptions { Feature = "export" });
        exports.Entitlements.Add(new EntitlementOptions { Feature = "retention", Value = "30" });
        catalog.AddOns.Add(exports);

        catalog.Models.Add(new ModelRate { Model = "gpt-x", CreditType = "credits", InputPerMillion = ratePerMillion, OutputPerMillion = ratePerMillion * 4 });
        catalog.Models.Add(new ModelRate { Model = "claude-*", CreditType = "credits", InputPerMillion = 3m, OutputPerMillion = 15m });
        return catalog;
    }

    public static SubscriptionOptions Subscribe(this CatalogOptions catalog, string customer, string plan, string timeZone = "UTC", params string[] addOns)
    {
        var subscription = new SubscriptionOptions { Customer = customer, Plan = plan, Start = Start, TimeZone = timeZone };
        foreach (string addOn in addOns)
        {
            subscription.AddOns.Add(addOn);
        }

        catalog.Subscriptions.Add(subscription);
        return subscription;
    }
}
