using Microsoft.Extensions.DependencyInjection;

namespace UsageGuard.Benchmarks;

/// <summary>Builds a guard the way an application does (the public DI path) with a balance that never runs out.</summary>
internal static class GuardFactory
{
    internal const string Customer = "acme";

    /// <summary>Credits granted: each Reserve+Settle pair uses one, so a run never comes close to this.</summary>
    internal const decimal GrantCredits = 1_000_000_000_000m;

    /// <summary>The request every UsageGuard pair makes: 1 credit, settled write-behind.</summary>
    internal static readonly ReservationRequest Request = new()
    {
        CustomerId = Customer,
        Amount = 1m,
        Durability = Durability.WriteBehind,
    };

    /// <summary>Starts a guard with <paramref name="store"/>, or the default <see cref="InMemoryLedgerStore"/> when null, and grants the customer its credits.</summary>
    /// <param name="store">The ledger store, or null for the default.</param>
    /// <param name="governance">Governance to configure with <c>UseGovernance</c>, or null for none; every customer it names is granted credits too.</param>
    internal static (ServiceProvider Provider, IEntitlementGuard Guard, ICreditLedger Ledger) Start(ILedgerStore? store, Action<GovernanceOptions>? governance = null)
    {
        var services = new ServiceCollection();
        if (store is not null)
        {
            services.AddSingleton(store);
        }

        IUsageGuardBuilder builder = services.AddUsageGuard(o =>
        {
            o.SettlementDurability = Durability.WriteBehind;
            o.ReservationSweepInterval = TimeSpan.Zero;
        });
        var customers = new List<string> { Customer };
        if (governance is not null)
        {
            builder.UseGovernance(governance);
            var configured = new GovernanceOptions();
            governance(configured);
            customers.AddRange(configured.Customers.Select(c => c.CustomerId).Where(c => c != Customer));
        }

        ServiceProvider provider = services.BuildServiceProvider();
        IEntitlementGuard guard = provider.GetRequiredService<IEntitlementGuard>();
        ICreditLedger ledger = provider.GetRequiredService<ICreditLedger>();
        foreach (string customer in customers)
        {
            ledger.GrantAsync(new CreditGrant { CustomerId = customer, Amount = GrantCredits }).AsTask().GetAwaiter().GetResult();
        }

        return (provider, guard, ledger);
    }
}
