using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace UsageGuard;

internal sealed partial class EntitlementGuard
{
    private readonly ConcurrentDictionary<string, AllowanceProgress> _allowances = new(StringComparer.Ordinal);

    /// <summary>
    /// Grants the allowances of the customer's subscription for the billing period containing <paramref name="nowTicks"/>, lazily and
    /// exactly once. Each grant's block id is derived from (customer, plan or add-on, allowance, period start), so neither many threads
    /// crossing a boundary together nor a restart can grant a period twice: the ledger already holds the block.
    /// </summary>
    private void EnsureAllowances(CatalogSnapshot catalog, string customerId, long nowTicks)
    {
        if (catalog.Subscriptions.Count == 0 || !catalog.Subscriptions.TryGetValue(customerId, out CatalogSubscription? subscription))
        {
            return;
        }

        AllowanceProgress progress = _allowances.TryGetValue(customerId, out AllowanceProgress? found)
            ? found
            : _allowances.GetOrAdd(customerId, static _ => new AllowanceProgress());
        if (progress.IsCurrent(subscription, nowTicks))
        {
            return;
        }

        lock (progress.Gate)
        {
            if (progress.IsCurrent(subscription, nowTicks))
            {
                return;
            }

            long validUntil = GrantPeriod(subscription, customerId, nowTicks, catalog.Id);
            progress.Record(subscription, validUntil);
        }
    }

    /// <summary>Grants what the period containing now owes; returns until when nothing more is owed.</summary>
    private long GrantPeriod(CatalogSubscription subscription, string customerId, long nowTicks, string catalogVersion)
    {
        var now = new DateTimeOffset(nowTicks, TimeSpan.Zero);
        SubscriptionPhase? phase = subscription.PhaseAt(nowTicks);
        long nextPhase = NextChange(subscription, nowTicks);
        if (phase is null)
        {
            return nextPhase;
        }

        UsagePeriod period = subscription.Calendar.Containing(now, subscription.BillingPeriod);
        int index = Array.IndexOf(subscription.Phases, phase);
        bool changedInPeriod = phase.Start > period.Start && index > 0;
        if (changedInPeriod)
        {
            CutPrevious(subscription.Phases[index - 1], phase, customerId, period, now, catalogVersion);
        }

        foreach (CatalogAllowance allowance in phase.Allowances)
        {
            DateTimeOffset effective = changedInPeriod ? phase.Start : period.Start;
            long amount = changedInPeriod && !HasAllowance(subscription.Phases[index - 1], allowance)
                ? PeriodCalendar.Prorate(allowance.AmountUnits, period, phase.Start)
                : allowance.AmountUnits;
            DateTimeOffset? expiry = Expiry(allowance, period, effective);
            Wallet wallet = AddCustomer(customerId).Wallet(TypeIndex(allowance.CreditType));
            Guid id = AllowanceBlockId(customerId, allowance, period.Start, "period");
            if (amount > 0 && wallet.Find(id) is null)
            {
                GrantAllowance(wallet, id, amount, effective, expiry, allowance, period, now, "period", catalogVersion);
                long carry = Rollover(wallet, customerId, allowance, subscription.Calendar.Previous(period, subscription.BillingPeriod));
                if (carry > 0)
                {
                    GrantAllowance(wallet, AllowanceBlockId(customerId, allowance, period.Start, "rollover"), carry, effective, expiry, allowance, period, now, "rollover", catalogVersion);
                }
            }
        }

        return Math.Min(period.End.UtcTicks, nextPhase);
    }

    /// <summary>
    /// At a plan change inside a period, the old plan's allowance keeps only the share of the period before the change: the unused
    /// share after it is taken back (as much of it as is still available), so the new plan's prorated grant replaces it.
    /// </summary>
    private void CutPrevious(SubscriptionPhase previous, SubscriptionPhase current, string customerId, UsagePeriod period, DateTimeOffset now, string catalogVersion)
    {
        foreach (CatalogAllowance allowance in previous.Allowances)
        {
            if (HasAllowance(current, allowance))
            {
                continue;
            }

            Wallet wallet = AddCustomer(customerId).Wallet(TypeIndex(allowance.CreditType));
            Guid kept = AllowanceBlockId(customerId, allowance, period.Start, "kept");
            if (wallet.Find(AllowanceBlockId(customerId, allowance, period.Start, "period")) is not { } block || block.IsClosed || wallet.Find(kept) is not null)
            {
                continue;
            }

            long unusedShare = PeriodCalendar.Prorate(allowance.AmountUnits, period, current.Start);
            long remaining = block.Remaining;
            VoidCore(wallet, block.Terms.Id, $"plan change to '{current.Plan.Id}': the unused share of '{allowance.OwnerId}' allowance '{allowance.Id}'", null, null, now);
            long keep = remaining - Math.Min(remaining, unusedShare);
            if (keep > 0)
            {
                GrantAllowance(wallet, kept, keep, now, block.Terms.ExpiresAt, allowance, period, now, "kept", catalogVersion);
            }
        }
    }

    /// <summary>What an allowance carries from the period before: min(max, max(balance, min)), where balance is what its blocks there kept unused.</summary>
    private static long Rollover(Wallet wallet, string customerId, CatalogAllowance allowance, UsagePeriod previous)
    {
        long ceiling = allowance.RolloverMaxUnits ?? allowance.RolloverMinUnits;
        if (ceiling <= 0)
        {
            return 0;
        }

        long balance = 0;
        foreach (string part in (ReadOnlySpan<string>)["period", "rollover", "kept"])
        {
            if (wallet.Find(AllowanceBlockId(customerId, allowance, previous.Start, part)) is { } block)
            {
                balance += block.Capacity - block.Used - block.Held;
            }
        }

        return Math.Min(ceiling, Math.Max(balance, allowance.RolloverMinUnits));
    }

    /// <summary>
    /// Grants one part of an allowance's period. The period's own grant of an allowance that does not preserve overage first writes
    /// off the wallet's debt: the reset starts the customer from the allowance, not from the allowance less what was overdrawn.
    /// </summary>
    private void GrantAllowance(Wallet wallet, Guid id, long units, DateTimeOffset effective, DateTimeOffset? expiry, CatalogAllowance allowance, UsagePeriod period, DateTimeOffset now, string part, string catalogVersion)
    {
        if (expiry is { } end && end <= effective)
        {
            return;
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["allowance"] = allowance.Id,
            ["offer"] = allowance.OwnerId,
            ["period"] = period.Start.ToString("O", CultureInfo.InvariantCulture),
            ["part"] = part,
        };

        var terms = new CreditBlock(id, wallet.CustomerId, wallet.Type.Code, CreditAmount.FromUnits(units, wallet.Type.Scale), effective, expiry, allowance.Priority, allowance.Category, null, null, metadata, now);
        string? writeOff = part == "period" && !allowance.PreserveOverage
            ? $"'{allowance.OwnerId}' allowance '{allowance.Id}' resets for the period from {period.Start:O} without preserving overage"
            : null;
        GrantCore(terms, TypeIndex(wallet.Type.Code), null, null, catalogVersion, writeOff);
    }

    private static DateTimeOffset? Expiry(CatalogAllowance allowance, UsagePeriod period, DateTimeOffset effective) => allowance.Expiry switch
    {
        AllowanceExpiry.PeriodEnd => period.End,
        AllowanceExpiry.Relative => effective + allowance.ExpiresAfter!.Value,
        _ => null,
    };

    private static bool HasAllowance(SubscriptionPhase phase, CatalogAllowance allowance)
    {
        foreach (CatalogAllowance candidate in phase.Allowances)
        {
            if (candidate.Id == allowance.Id && candidate.OwnerId == allowance.OwnerId)
            {
                return true;
            }
        }

        return false;
    }

    private static long NextChange(CatalogSubscription subscription, long nowTicks)
    {
        long next = subscription.CanceledAt is { } canceled && canceled.UtcTicks > nowTicks ? canceled.UtcTicks : long.MaxValue;
        foreach (SubscriptionPhase phase in subscription.Phases)
        {
            if (phase.Start.UtcTicks > nowTicks)
            {
                next = Math.Min(next, phase.Start.UtcTicks);
            }
        }

        return next;
    }

    /// <summary>A name-based id (SHA-256, version 8 layout): the same allowance period always names the same block.</summary>
    internal static Guid AllowanceBlockId(string customerId, CatalogAllowance allowance, DateTimeOffset periodStart, string part)
    {
        string key = string.Join('\u001f', "allowance", customerId, allowance.OwnerId, allowance.Id, periodStart.UtcTicks.ToString(CultureInfo.InvariantCulture), part);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        hash[7] = (byte)((hash[7] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16]);
    }

    /// <summary>How far a customer's allowances are granted: for which subscription snapshot, and until when nothing more is owed.</summary>
    private sealed class AllowanceProgress
    {
        private CatalogSubscription? _subscription;
        private long _validUntil;

        internal Lock Gate { get; } = new();

        internal bool IsCurrent(CatalogSubscription subscription, long nowTicks) =>
            ReferenceEquals(Volatile.Read(ref _subscription), subscription) && nowTicks < Volatile.Read(ref _validUntil);

        internal void Record(CatalogSubscription subscription, long validUntil)
        {
            Volatile.Write(ref _validUntil, validUntil);
            Volatile.Write(ref _subscription, subscription);
        }
    }
}
