using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using UsageGuard.Testing;

namespace UsageGuard.Tests.DependencyInjection;

[TestFixture]
public sealed class AddUsageGuardTests
{
    [Test]
    public async Task AddUsageGuard_ResolvesOneEngineBehindBothInterfaces_AndShutdownFlushes()
    {
        var store = new InMemoryLedgerStore();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new ManualTimeProvider());
        services.AddSingleton<ILedgerStore>(store);
        IUsageGuardBuilder builder = services.AddUsageGuard(o => o.SettlementDurability = Durability.WriteBehind);
        builder.Services.Should().BeSameAs(services);

        await using (ServiceProvider provider = services.BuildServiceProvider())
        {
            var ledger = provider.GetRequiredService<ICreditLedger>();
            var guard = provider.GetRequiredService<IEntitlementGuard>();
            guard.Should().BeSameAs(ledger);
            await ledger.GrantAsync(new CreditGrant { CustomerId = "acme", Amount = 10, Durability = Durability.WriteBehind });
            await guard.ConsumeAsync(new ReservationRequest { CustomerId = "acme", Amount = 3 });
        }

        store.Count.Should().Be(2, "disposing the provider commits what was queued");
    }

    [Test]
    public void AddUsageGuard_InvalidOptions_FailWithAMessageNamingTheSetting()
    {
        var services = new ServiceCollection();
        services.AddUsageGuard(o =>
        {
            o.CreditTypes.Add(new CreditTypeOptions { Code = "usd", Scale = 30 });
            o.CreditTypes.Add(new CreditTypeOptions { Code = "usd" });
        });
        using ServiceProvider provider = services.BuildServiceProvider();

        Action resolve = () => provider.GetRequiredService<IEntitlementGuard>();

        var error = resolve.Should().Throw<OptionsValidationException>().Which;
        error.Message.Should().Contain("CreditTypes[0].Scale").And.Contain("declared twice").And.Contain("DefaultCreditType");
    }
}
