using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.Tests.Enforcement;

/// <summary>Bad input gets a documented exception naming the problem, and changes no state.</summary>
[TestFixture]
public sealed class BadInputTests
{
    private GuardHarness _h = null!;

    [SetUp]
    public async Task SetUp()
    {
        _h = await GuardHarness.StartAsync();
        await _h.GrantAsync("acme", 100);
        await _h.GrantAsync("acme", 50, creditType: "usd");
    }

    [TearDown]
    public async Task TearDown() => await _h.DisposeAsync();

    private static IEnumerable<TestCaseData> BadReservations()
    {
        ReservationRequest ok = new() { CustomerId = "acme", Amount = 1 };
        yield return Case(ok with { Amount = -1 }, typeof(ArgumentOutOfRangeException), "Amount");
        yield return Case(ok with { Amount = 0 }, typeof(ArgumentOutOfRangeException), "Amount");
        yield return Case(ok with { Amount = 0.0000001m }, typeof(ArgumentException), "Amount");
        yield return Case(ok with { Amount = 1.001m, CreditType = "usd" }, typeof(ArgumentException), "Amount");
        yield return Case(ok with { Amount = 79_000_000_000_000m }, typeof(OverflowException), null);
        yield return Case(ok with { CustomerId = null! }, typeof(ArgumentNullException), "CustomerId");
        yield return Case(ok with { CustomerId = "" }, typeof(ArgumentException), "CustomerId");
        yield return Case(ok with { CustomerId = "   " }, typeof(ArgumentException), "CustomerId");
        yield return Case(ok with { CustomerId = new string('x', 257) }, typeof(ArgumentException), "CustomerId");
        yield return Case(ok with { Subject = "" }, typeof(ArgumentException), "Subject");
        yield return Case(ok with { IdempotencyKey = new string('k', 300) }, typeof(ArgumentException), "IdempotencyKey");
        yield return Case(ok with { Ttl = TimeSpan.Zero }, typeof(ArgumentOutOfRangeException), "Ttl");
        yield return Case(ok with { Ttl = TimeSpan.FromDays(2) }, typeof(ArgumentOutOfRangeException), "Ttl");
        yield return Case(ok with { OverrunPolicy = (SettlementPolicy)42 }, typeof(ArgumentOutOfRangeException), "OverrunPolicy");
        yield return Case(ok with { CustomerId = "nobody" }, typeof(UnknownCustomerException), null);
        yield return Case(ok with { CreditType = "gold" }, typeof(UnknownCreditTypeException), null);
    }

    private static TestCaseData Case(ReservationRequest request, Type exception, string? param) =>
        new TestCaseData(request, exception, param).SetName($"Reserve_BadInput_Throws{exception.Name}({param ?? request.CustomerId ?? "null"},{request.Amount})");

    [TestCaseSource(nameof(BadReservations))]
    public async Task Reserve_BadInput_ThrowsAndChangesNothing(ReservationRequest request, Type exception, string? param)
    {
        var before = await StateAsync();

        Func<Task> reserve = () => _h.Gate.ReserveAsync(request).AsTask();
        Func<Task> consume = () => _h.Gate.ConsumeAsync(request).AsTask();

        (await reserve.Should().ThrowAsync<Exception>()).Which.Should().BeOfType(exception);
        var thrown = (await consume.Should().ThrowAsync<Exception>()).Which;
        thrown.Should().BeOfType(exception);
        if (param is not null)
        {
            ((ArgumentException)thrown).ParamName.Should().Be(param);
        }

        thrown.Message.Should().NotBeNullOrWhiteSpace();
        (await StateAsync()).Should().Be(before);
    }

    [Test]
    public async Task Settle_Twice_ThrowsAndChangesNothing()
    {
        var r = (await _h.ReserveAsync("acme", 10)).Reservation;
        await r.SettleAsync(4);
        var before = await StateAsync();

        Func<Task> again = () => r.SettleAsync(4).AsTask();

        (await again.Should().ThrowAsync<ReservationStateException>()).Which.Message.Should().Contain("it was already settled.");
        (await StateAsync()).Should().Be(before);
    }

    [Test]
    public async Task Settle_AfterRelease_ThrowsAndChangesNothing()
    {
        var r = (await _h.ReserveAsync("acme", 10)).Reservation;
        await r.ReleaseAsync();
        var before = await StateAsync();

        Func<Task> settle = () => r.SettleAsync(4).AsTask();
        Func<Task> release = () => r.ReleaseAsync().AsTask();

        (await settle.Should().ThrowAsync<ReservationStateException>()).Which.Message.Should().Contain("it was already released.");
        await release.Should().ThrowAsync<ReservationStateException>();
        (await StateAsync()).Should().Be(before);
    }

    [Test]
    public async Task Settle_AfterTtl_ThrowsAndTheHoldIsReleased()
    {
        var r = (await _h.ReserveAsync("acme", 10, ttl: TimeSpan.FromSeconds(30))).Reservation;
        _h.Time.Advance(TimeSpan.FromSeconds(30));

        Func<Task> settle = () => r.SettleAsync(4).AsTask();

        (await settle.Should().ThrowAsync<ReservationStateException>()).Which.Message.Should().Contain("TTL");
        _h.Balance("acme").Should().Be(100);
        _h.Available("acme").Should().Be(100);
    }

    [Test]
    public async Task Settle_BadActual_ThrowsAndKeepsTheReservationUsable()
    {
        var r = (await _h.ReserveAsync("acme", 10)).Reservation;
        var before = await StateAsync();

        Func<Task> negative = () => r.SettleAsync(-1).AsTask();
        Func<Task> precise = () => r.SettleAsync(0.0000001m).AsTask();
        Func<Task> defaultHandle = () => _h.Gate.SettleAsync(default, 1).AsTask();

        (await negative.Should().ThrowAsync<ArgumentOutOfRangeException>()).Which.ParamName.Should().Be("actual");
        (await precise.Should().ThrowAsync<ArgumentException>()).Which.ParamName.Should().Be("actual");
        (await defaultHandle.Should().ThrowAsync<ArgumentException>()).Which.ParamName.Should().Be("reservation");
        (await StateAsync()).Should().Be(before);
        (await r.SettleAsync(10)).Charged.ToDecimal().Should().Be(10);
    }

    [Test]
    public async Task Grant_BadInput_ThrowsAndChangesNothing()
    {
        var before = await StateAsync();
        DateTimeOffset now = _h.Time.GetUtcNow();

        await Throws<ArgumentOutOfRangeException>(new CreditGrant { CustomerId = "acme", Amount = 0 });
        await Throws<ArgumentOutOfRangeException>(new CreditGrant { CustomerId = "acme", Amount = -5 });
        await Throws<ArgumentException>(new CreditGrant { CustomerId = "acme", Amount = 1.0000001m });
        await Throws<ArgumentOutOfRangeException>(new CreditGrant { CustomerId = "acme", Amount = 1, CostBasis = -0.1m });
        await Throws<ArgumentException>(new CreditGrant { CustomerId = "acme", Amount = 1, ExpiresAt = now });
        await Throws<ArgumentException>(new CreditGrant { CustomerId = "", Amount = 1 });
        await Throws<UnknownCreditTypeException>(new CreditGrant { CustomerId = "acme", Amount = 1, CreditType = "gold" });
        await Throws<OverflowException>(new CreditGrant { CustomerId = "acme", Amount = 10_000_000_000_000m });

        (await StateAsync()).Should().Be(before);
        Func<Task> nullGrant = () => _h.Ledger.GrantAsync(null!).AsTask();
        await nullGrant.Should().ThrowAsync<ArgumentNullException>();
    }

    [Test]
    public async Task Grant_OverflowingTheWallet_ThrowsAndChangesNothing()
    {
        Func<Task> huge = () => _h.Ledger.GrantAsync(new CreditGrant { CustomerId = "big", Amount = 9_000_000_000_000m }).AsTask();
        await huge.Should().NotThrowAsync();

        (await huge.Should().ThrowAsync<OverflowException>("two blocks of 9e12 at scale 6 overflow a 64-bit balance")).Which.Message.Should().Contain("Nothing was granted");

        _h.Ledger.GetBalance("big").Balance.ToDecimal().Should().Be(9_000_000_000_000m);
        (await _h.Ledger.VerifyAsync()).IsValid.Should().BeTrue("the writer keeps running");
    }

    [Test]
    public async Task VoidAndAdjust_BadInput_ThrowAndChangeNothing()
    {
        var block = _h.Ledger.GetBalance("acme").Blocks[0].Block;
        var before = await StateAsync();

        Func<Task> unknownBlock = () => _h.Ledger.VoidAsync("acme", Guid.NewGuid(), "x").AsTask();
        Func<Task> noReason = () => _h.Ledger.VoidAsync("acme", block.Id, " ").AsTask();
        Func<Task> unknownCustomer = () => _h.Ledger.VoidAsync("nobody", block.Id, "x").AsTask();
        Func<Task> zero = () => _h.Ledger.AdjustAsync(new CreditAdjustment { CustomerId = "acme", Amount = 0, Reason = "x" }).AsTask();
        Func<Task> refundTooBig = () => _h.Ledger.AdjustAsync(new CreditAdjustment { CustomerId = "acme", Amount = 1, Reason = "x" }).AsTask();

        await unknownBlock.Should().ThrowAsync<UnknownCreditBlockException>();
        await noReason.Should().ThrowAsync<ArgumentException>();
        await unknownCustomer.Should().ThrowAsync<UnknownCustomerException>();
        await zero.Should().ThrowAsync<ArgumentOutOfRangeException>();
        await refundTooBig.Should().ThrowAsync<ArgumentException>();
        (await StateAsync()).Should().Be(before);

        await _h.Ledger.VoidAsync("acme", block.Id, "x");
        Func<Task> twice = () => _h.Ledger.VoidAsync("acme", block.Id, "x").AsTask();
        await twice.Should().ThrowAsync<InvalidOperationException>();
    }

    private async Task Throws<T>(CreditGrant grant)
        where T : Exception
    {
        Func<Task> act = () => _h.Ledger.GrantAsync(grant).AsTask();
        await act.Should().ThrowAsync<T>();
    }

    private async Task<string> StateAsync()
    {
        var entries = await _h.EntriesAsync();
        var credits = _h.Ledger.GetBalance("acme");
        var usd = _h.Ledger.GetBalance("acme", "usd");
        return $"{entries.Count}|{credits.Balance}|{credits.Held}|{credits.Available}|{credits.Blocks.Count}|{usd.Balance}|{usd.Held}|{usd.Blocks.Count}";
    }
}
