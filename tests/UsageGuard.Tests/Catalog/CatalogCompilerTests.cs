using FluentAssertions;
using Microsoft.Extensions.Configuration;
using NUnit.Framework;

namespace UsageGuard.Tests.Catalog;

[TestFixture]
public sealed class CatalogCompilerTests
{
    private static readonly Dictionary<string, int> Scales = new(StringComparer.Ordinal) { ["credits"] = 6, ["usd"] = 2 };
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public void Compile_TheDocumentedCatalogBoundFromConfiguration_Succeeds()
    {
        CatalogSnapshot snapshot = CatalogCompiler.Compile(DocumentedCatalog.FromConfiguration(), Scales, version: 1);

        snapshot.Features.Keys.Should().BeEquivalentTo("sso", "support-tier", "max-context-tokens", "chat.completions", "image.generate", "seats");
        snapshot.Features["image.generate"].PricePerUnitUnits.Should().Be(40_000, "0.04 credits at scale 6");
        snapshot.Revision.Should().Be("2026-11-pricing");
        snapshot.Version.Should().Be(1);

        CatalogOffer pro = snapshot.Offers["pro"];
        pro.Entitlements["chat.completions"].Limit.Should().Be(5_000_000m, "the plan's own entitlement wins over the included plan's");
        pro.Entitlements["chat.completions"].Enforcement.Should().Be(LimitEnforcement.Soft);
        pro.Entitlements["image.generate"].Limit.Should().Be(10m, "inherited from the included plan 'free'");
        pro.Entitlements["image.generate"].SourceId.Should().Be("free");
        pro.Allowances.Should().ContainSingle().Which.AmountUnits.Should().Be(100_000_000, "'pro' redefines the allowance 'monthly-credits' of 'free'");
        snapshot.Offers["image-pack"].IsAddOn.Should().BeTrue();
        snapshot.Offers["image-pack"].Allowances.Single().ExpiresAfter.Should().Be(TimeSpan.FromDays(90));
    }

    [Test]
    public void Compile_AnOfflineAllowance_IsKeptInUnitsOfTheFeaturesCreditType_AndChangesTheContentHash()
    {
        var options = new CatalogOptions();
        options.Features.Add(new FeatureOptions { Id = "chat", Kind = FeatureKind.Metered, CreditType = "usd", OfflineAllowance = 2.5m });
        options.Features.Add(new FeatureOptions { Id = "plain", Kind = FeatureKind.Metered });
        CatalogSnapshot snapshot = CatalogCompiler.Compile(options, Scales, version: 1);

        snapshot.Features["chat"].OfflineAllowanceUnits.Should().Be(250, "2.5 usd at scale 2");
        snapshot.Features["plain"].OfflineAllowanceUnits.Should().Be(0, "no allowance: the feature fails closed");
        string hash = snapshot.ContentHash;
        options.Features[0].OfflineAllowance = 3m;
        CatalogCompiler.Compile(options, Scales, version: 2).ContentHash.Should().NotBe(hash, "a changed allowance is a changed catalog");
    }

    [Test]
    public void Compile_TheSameCatalogBoundFromConfigurationOrJson_HasTheSameContentHash()
    {
        CatalogOptions fromConfiguration = DocumentedCatalog.FromConfiguration();
        CatalogOptions fromJson = DocumentedCatalog.FromJson();

        string hash = CatalogCompiler.Compile(fromConfiguration, Scales, 1).ContentHash;
        CatalogCompiler.Compile(fromJson, Scales, 2).ContentHash.Should().Be(hash);

        fromJson.Plans[0].Entitlements[0].Value = "enterprise";
        CatalogCompiler.Compile(fromJson, Scales, 3).ContentHash.Should().NotBe(hash, "any change of content changes the hash");
    }

    [Test]
    public void Resolve_FollowsOverrideThenAddOnThenPlan()
    {
        CatalogSnapshot snapshot = CatalogCompiler.Compile(DocumentedCatalog.FromJson(), Scales, 1);

        snapshot.Resolve("globex", "pro", [], "seats", Now)!.Limit.Should().Be(25m);
        snapshot.Resolve("acme", "pro", [], "seats", Now)!.Source.Should().Be(EntitlementSource.Override);
        snapshot.Resolve("acme", "pro", [], "seats", Now)!.Limit.Should().Be(100m);
        snapshot.Resolve("acme", "pro", [], "seats", new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero))!.Limit
            .Should().Be(25m, "the override ends at its Until, exclusive");
        snapshot.Resolve("acme", "pro", [], "seats", new DateTimeOffset(2026, 10, 31, 23, 59, 59, TimeSpan.Zero))!.Limit
            .Should().Be(25m, "the override starts at its From");

        snapshot.Resolve("globex", "pro", ["image-pack"], "image.generate", Now)!.Limit.Should().Be(500m);
        snapshot.Resolve("globex", "pro", ["image-pack"], "image.generate", Now)!.Source.Should().Be(EntitlementSource.AddOn);
        snapshot.Resolve("globex", "free", [], "sso", Now).Should().BeNull("'free' does not have the feature");
        snapshot.Resolve("globex", null, [], "seats", Now).Should().BeNull("no plan");
    }

    [Test]
    public void Resolve_WithTwoOverridesInForce_TakesTheOneThatStartedLast()
    {
        CatalogOptions options = Minimal();
        options.Overrides.Add(new CustomerOverrideOptions { Customer = "acme", Entitlement = new EntitlementOptions { Feature = "seats", Limit = 7 } });
        options.Overrides.Add(new CustomerOverrideOptions { Customer = "acme", From = Now.AddDays(-1), Until = Now.AddDays(1), Entitlement = new EntitlementOptions { Feature = "seats", Limit = 9 } });

        CatalogSnapshot snapshot = CatalogCompiler.Compile(options, Scales, 1);

        snapshot.Resolve("acme", "basic", [], "seats", Now)!.Limit.Should().Be(9m);
        snapshot.Resolve("acme", "basic", [], "seats", Now.AddDays(2))!.Limit.Should().Be(7m);
    }

    [Test]
    public void Compile_APlanThatIncludesItself_IsRejectedNamingTheCycle()
    {
        CatalogOptions options = Minimal();
        var loop = new PlanOptions { Id = "loop" };
        loop.Includes.Add("other");
        var other = new PlanOptions { Id = "other" };
        other.Includes.Add("loop");
        var self = new PlanOptions { Id = "self" };
        self.Includes.Add("self");
        options.Plans.Add(loop);
        options.Plans.Add(other);
        options.Plans.Add(self);

        CatalogValidationException ex = Reject(options);

        ex.Errors.Should().Contain("plans[loop]: includes itself (loop -> other -> loop)");
        ex.Errors.Should().Contain("plans[other]: includes itself (other -> loop -> other)");
        ex.Errors.Should().Contain("plans[self]: includes itself (self -> self)");
    }

    [Test]
    public void Compile_AnEntitlementOfAnInvalidFeature_ReportsTheFeatureOnly()
    {
        CatalogOptions options = Minimal();
        options.Features.Add(new FeatureOptions { Id = "img", Kind = FeatureKind.Metered, CreditType = "credits", PricePerUnit = -1m });
        options.Plans[0].Entitlements.Add(new EntitlementOptions { Feature = "img", Limit = 5 });
        options.Overrides.Add(new CustomerOverrideOptions { Customer = "acme", Entitlement = new EntitlementOptions { Feature = "img" } });

        Reject(options).Errors.Should().Equal("features[img]: PricePerUnit is negative (-1)");
    }

    [TestCase(UsageWindow.Minute)]
    [TestCase(UsageWindow.Second)]
    public void Compile_AnAllowanceGrantedEachMinuteOrSecond_IsRejectedNamingTheBillingPeriod(UsageWindow period)
    {
        // An allowance is granted per billing period of the subscription; it has no period of its own.
        CatalogOptions options = Minimal();
        options.Plans[0].Allowances.Add(new AllowanceOptions { Id = "monthly", Amount = 100, CreditType = "credits" });
        options.Subscriptions.Add(new SubscriptionOptions { Customer = "acme", Plan = "basic", Start = Now, BillingPeriod = period });

        Reject(options).Errors.Should().Equal($"subscriptions[acme]: BillingPeriod {period} is not a billing period (Hour, Day, Week, Month, Year)");
    }

    [TestCase(UsageWindow.Minute)]
    [TestCase(UsageWindow.Second)]
    public void Compile_AMeteredEntitlementPerMinuteOrSecond_IsAccepted(UsageWindow window)
    {
        CatalogOptions options = Minimal();
        options.Plans[0].Entitlements[0].Window = window;
        options.Overrides.Add(new CustomerOverrideOptions { Customer = "acme", Entitlement = new EntitlementOptions { Feature = "seats", Limit = 9, Window = window } });
        options.Subscriptions.Add(new SubscriptionOptions { Customer = "acme", Plan = "basic", Start = Now, BillingPeriod = UsageWindow.Hour });

        CatalogSnapshot snapshot = CatalogCompiler.Compile(options, Scales, 1);

        snapshot.Offers["basic"].Entitlements["seats"].Window.Should().Be(window);
        snapshot.Resolve("acme", "basic", [], "seats", Now)!.Window.Should().Be(window);
    }

    [TestCaseSource(nameof(BadCatalogs))]
    public void Compile_ABadCatalog_IsRejectedWithAMessageNamingTheElement(string because, Action<CatalogOptions> spoil, string expected)
    {
        CatalogOptions options = Minimal();
        spoil(options);

        CatalogValidationException ex = Reject(options);

        ex.Errors.Should().Contain(expected, because);
        ex.Message.Should().Contain(expected);
    }

    [Test]
    public void Compile_ACatalogWithManyProblems_ReportsEveryOneAtOnce()
    {
        CatalogOptions options = Minimal();
        foreach (object[] bad in BadCatalogs())
        {
            ((Action<CatalogOptions>)bad[1])(options);
        }

        CatalogValidationException ex = Reject(options);

        // Elements without an id are named by their position, which differs when all problems are in one catalog.
        static string Unplaced(string error) => System.Text.RegularExpressions.Regex.Replace(error, "#[0-9]+", "#n");
        ex.Errors.Select(Unplaced).Should().Contain(BadCatalogs().Select(bad => Unplaced((string)bad[2])));
        ex.Errors.Should().HaveCount(BadCatalogs().Count(), "one error per problem, none twice");
    }

    private static IEnumerable<object[]> BadCatalogs()
    {
        yield return Bad("duplicate feature id", o => o.Features.Add(new FeatureOptions { Id = "seats", Kind = FeatureKind.Metered }), "features[seats]: the id is used by another feature");
        yield return Bad("empty feature id", o => o.Features.Add(new FeatureOptions { Id = " " }), "features[#3]: Id is empty");
        yield return Bad("undefined kind", o => o.Features.Add(new FeatureOptions { Id = "k", Kind = (FeatureKind)9 }), "features[k]: Kind has the undefined value 9");
        yield return Bad("choice without values", o => o.Features.Add(new FeatureOptions { Id = "tier", Kind = FeatureKind.Config, ValueType = ConfigValueType.Choice }), "features[tier]: a Choice feature needs AllowedValues");
        yield return Bad("negative price", o => o.Features.Add(new FeatureOptions { Id = "img", Kind = FeatureKind.Metered, CreditType = "credits", PricePerUnit = -1m }), "features[img]: PricePerUnit is negative (-1)");
        yield return Bad("price finer than the scale", o => o.Features.Add(new FeatureOptions { Id = "fine", Kind = FeatureKind.Metered, CreditType = "usd", PricePerUnit = 0.001m }), "features[fine]: PricePerUnit 0.001 does not fit the credit type's scale 2 (more decimal places, or too large)");
        yield return Bad("price without credit type", o => o.Features.Add(new FeatureOptions { Id = "nocur", Kind = FeatureKind.Metered, PricePerUnit = 1m }), "features[nocur]: PricePerUnit needs a CreditType");
        yield return Bad("offline allowance without credit type", o => o.Features.Add(new FeatureOptions { Id = "offnocur", OfflineAllowance = 5m }), "features[offnocur]: OfflineAllowance needs a CreditType");
        yield return Bad("negative offline allowance", o => o.Features.Add(new FeatureOptions { Id = "offneg", CreditType = "credits", OfflineAllowance = -5m }), "features[offneg]: OfflineAllowance is negative (-5)");
        yield return Bad("offline allowance finer than the scale", o => o.Features.Add(new FeatureOptions { Id = "offfine", CreditType = "usd", OfflineAllowance = 0.001m }), "features[offfine]: OfflineAllowance 0.001 does not fit the credit type's scale 2 (more decimal places, or too large)");
        yield return Bad("unknown credit type", o => o.Features.Add(new FeatureOptions { Id = "gpu", Kind = FeatureKind.Metered, CreditType = "gpu-seconds" }), "features[gpu]: CreditType 'gpu-seconds' is not a configured credit type (credits, usd)");
        yield return Bad("plan and add-on share an id", o => o.AddOns.Add(new AddOnOptions { Id = "basic" }), "addOns[basic]: the id is used by another plan or add-on");
        yield return Bad("unknown include", o => o.Plans[0].Includes.Add("gold"), "plans[basic]: includes 'gold', which is not a plan of the catalog");
        yield return Bad("unknown feature", o => o.Plans[0].Entitlements.Add(new EntitlementOptions { Feature = "teleport" }), "plans[basic].entitlements[teleport]: Feature 'teleport' is not a feature of the catalog");
        yield return Bad("negative limit", o => o.Plans[0].Entitlements[0].Limit = -5m, "plans[basic].entitlements[seats]: Limit is negative (-5)");
        yield return Bad("two entitlements of one feature", o => o.Plans[0].Entitlements.Add(new EntitlementOptions { Feature = "seats", Limit = 1 }), "plans[basic].entitlements[seats]: the feature has another entitlement in the same plan");
        yield return Bad("limit on a boolean", o => o.Plans[0].Entitlements.Add(new EntitlementOptions { Feature = "sso", Limit = 1 }), "plans[basic].entitlements[sso]: Limit applies only to a Metered feature ('sso' is Boolean)");
        yield return Bad("overage on a hard limit", o => o.Plans[0].Entitlements[0].OverageCap = 10m, "plans[basic].entitlements[seats]: OverageCap and OverageRatePerUnit apply only to a Soft limit");
        yield return Bad("number that is not", o => o.Plans[0].Entitlements.Add(new EntitlementOptions { Feature = "ctx", Value = "lots" }), "plans[basic].entitlements[ctx]: Value 'lots' is not a number (use an invariant-culture decimal point)");
        yield return Bad("allowance amount zero", o => o.Plans[0].Allowances.Add(new AllowanceOptions { Id = "zero" }), "plans[basic].allowances[zero]: Amount must be positive (0)");
        yield return Bad("relative expiry without a duration", o => o.Plans[0].Allowances.Add(new AllowanceOptions { Id = "rel", Amount = 1, Expiry = AllowanceExpiry.Relative }), "plans[basic].allowances[rel]: Expiry Relative needs a positive ExpiresAfter");
        yield return Bad("negative allowance amount", o => o.Plans[0].Allowances.Add(new AllowanceOptions { Id = "neg", Amount = -3 }), "plans[basic].allowances[neg]: Amount must be positive (-3)");
        yield return Bad("negative rollover", o => o.Plans[0].Allowances.Add(new AllowanceOptions { Id = "back", Amount = 1, RolloverMax = -2 }), "plans[basic].allowances[back]: RolloverMax is negative (-2)");
        yield return Bad("rollover bounds crossed", o => o.Plans[0].Allowances.Add(new AllowanceOptions { Id = "roll", Amount = 1, RolloverMin = 5, RolloverMax = 2 }), "plans[basic].allowances[roll]: RolloverMin (5) is above RolloverMax (2)");
        yield return Bad("allowance in an unknown credit type", o => o.Plans[0].Allowances.Add(new AllowanceOptions { Id = "gpu", Amount = 1, CreditType = "gpu" }), "plans[basic].allowances[gpu]: CreditType 'gpu' is not a configured credit type (credits, usd)");
        yield return Bad("override ends before it starts", o => o.Overrides.Add(new CustomerOverrideOptions { Customer = "acme", From = Now, Until = Now, Entitlement = new EntitlementOptions { Feature = "seats" } }), $"overrides[#0 acme]: From ({Now:O}) is not before Until ({Now:O})");
        yield return Bad("override without a customer", o => o.Overrides.Add(new CustomerOverrideOptions { Entitlement = new EntitlementOptions { Feature = "seats" } }), "overrides[#0]: Customer is empty");
        yield return Bad("fractional limit", o => o.Plans.Add(new PlanOptions { Id = "half", Entitlements = { new EntitlementOptions { Feature = "seats", Limit = 2.5m } } }), $"plans[half].entitlements[seats]: Limit must be a whole number of units below {long.MaxValue / 4} (2.5)");
        yield return Bad("negative model price", o => o.Models.Add(new ModelRate { Model = "m1", CreditType = "credits", InputPerMillion = -1m }), "models: rate 'm1': InputPerMillion is negative (-1)");
        yield return Bad("model in an unknown credit type", o => o.Models.Add(new ModelRate { Model = "m2", CreditType = "gpu" }), "models[m2]: CreditType 'gpu' is not a configured credit type (credits, usd)");
        yield return Bad("subscription to an unknown plan", o => o.Subscriptions.Add(new SubscriptionOptions { Customer = "s1", Plan = "gold", Start = Now }), "subscriptions[s1]: Plan 'gold' is not a plan of the catalog");
        yield return Bad("subscription with an unknown add-on", o => o.Subscriptions.Add(new SubscriptionOptions { Customer = "s2", Plan = "basic", Start = Now, AddOns = { "nope" } }), "subscriptions[s2]: AddOns names 'nope', which is not an add-on of the catalog");
        yield return Bad("plan change before the start", o => o.Subscriptions.Add(new SubscriptionOptions { Customer = "s3", Plan = "basic", Start = Now, Changes = { new PlanChangeOptions { At = Now, Plan = "basic" } } }), $"subscriptions[s3].changes[#0]: At ({Now:O}) is not after the start or the change before it ({Now:O})");
        yield return Bad("canceled before the start", o => o.Subscriptions.Add(new SubscriptionOptions { Customer = "s4", Plan = "basic", Start = Now, CanceledAt = Now }), $"subscriptions[s4]: CanceledAt ({Now:O}) is not after Start ({Now:O})");
        yield return Bad("two subscriptions of one customer", o =>
        {
            o.Subscriptions.Add(new SubscriptionOptions { Customer = "s5", Plan = "basic", Start = Now });
            o.Subscriptions.Add(new SubscriptionOptions { Customer = "s5", Plan = "basic", Start = Now });
        }, "subscriptions[s5]: the customer has another subscription");
        yield return Bad("billing period of a minute", o => o.Subscriptions.Add(new SubscriptionOptions { Customer = "s6", Plan = "basic", Start = Now, BillingPeriod = UsageWindow.Minute }), "subscriptions[s6]: BillingPeriod Minute is not a billing period (Hour, Day, Week, Month, Year)");
        yield return Bad("billing period of a second", o => o.Subscriptions.Add(new SubscriptionOptions { Customer = "s7", Plan = "basic", Start = Now, BillingPeriod = UsageWindow.Second }), "subscriptions[s7]: BillingPeriod Second is not a billing period (Hour, Day, Week, Month, Year)");
        yield return Bad("undefined billing period", o => o.Subscriptions.Add(new SubscriptionOptions { Customer = "s8", Plan = "basic", Start = Now, BillingPeriod = (UsageWindow)7 }), "subscriptions[s8]: BillingPeriod has the undefined value 7");
        yield return Bad("undefined policy", o => o.UnknownModels = (UnknownPolicy)7, "catalog: UnknownModels has the undefined value 7");
    }

    private static object[] Bad(string because, Action<CatalogOptions> spoil, string expected) => [because, spoil, expected];

    private static CatalogValidationException Reject(CatalogOptions options)
    {
        Action compile = () => CatalogCompiler.Compile(options, Scales, 1);
        return compile.Should().Throw<CatalogValidationException>().Which;
    }

    /// <summary>A small valid catalog: a boolean, a number and a metered feature, and one plan.</summary>
    private static CatalogOptions Minimal()
    {
        var options = new CatalogOptions();
        options.Features.Add(new FeatureOptions { Id = "seats", Kind = FeatureKind.Metered });
        options.Features.Add(new FeatureOptions { Id = "sso", Kind = FeatureKind.Boolean });
        options.Features.Add(new FeatureOptions { Id = "ctx", Kind = FeatureKind.Config, ValueType = ConfigValueType.Number });
        var basic = new PlanOptions { Id = "basic" };
        basic.Entitlements.Add(new EntitlementOptions { Feature = "seats", Limit = 3 });
        options.Plans.Add(basic);
        CatalogCompiler.Compile(options, Scales, 1);
        return options;
    }
}
