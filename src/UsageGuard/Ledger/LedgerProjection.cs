namespace UsageGuard;

/// <summary>
/// The ledger folded into balances: the one state machine that start-up, the writer's before/after balances,
/// snapshots, verification and balance-as-of queries all share (invariant I2: balances are a projection of the ledger).
/// </summary>
/// <remarks>Not thread-safe: each user owns an instance.</remarks>
internal sealed class LedgerProjection
{
    private readonly Dictionary<(string Customer, string CreditType), ProjectedWallet> _wallets = [];

    // Each customer's latest window per meter and window kind, with the units settled in it: what restores usage limits and rate tiers.
    private readonly Dictionary<(string Customer, string Meter, UsageWindow Window), MeteredUsage> _usage = [];

    internal IEnumerable<ProjectedWallet> Wallets => _wallets.Values;

    internal static LedgerProjection FromSnapshot(LedgerSnapshot? snapshot)
    {
        var projection = new LedgerProjection();
        if (snapshot is null)
        {
            return projection;
        }

        foreach (WalletSnapshot w in snapshot.Wallets)
        {
            var wallet = projection.GetOrAdd(w.CustomerId, w.CreditType);
            wallet.Owed = w.OwedUnits;
            foreach (BlockSnapshot b in w.Blocks)
            {
                wallet.Blocks.Add(b.Terms.Id, new ProjectedBlock(b.Terms) { Used = b.UsedUnits, Removed = b.RemovedUnits, ClosedAs = b.ClosedAs });
            }

            wallet.Balance = wallet.ComputeBalance();
        }

        foreach (UsageSnapshot u in snapshot.Usage)
        {
            projection._usage[(u.CustomerId, u.Usage.Meter, u.Usage.Window)] = u.Usage;
        }

        return projection;
    }

    /// <summary>Gets each customer's latest window per meter and window kind, with the units settled in it.</summary>
    internal IEnumerable<UsageSnapshot> Usage => _usage.Select(p => new UsageSnapshot { CustomerId = p.Key.Customer, Usage = p.Value });

    /// <summary>Gets how an entry moves its wallet's posted balance.</summary>
    internal static long BalanceEffect(in LedgerEntry entry) => entry.Kind switch
    {
        LedgerEntryKind.Grant or LedgerEntryKind.Settle or LedgerEntryKind.Expire or LedgerEntryKind.Void
            or LedgerEntryKind.Adjust or LedgerEntryKind.Overdraft or LedgerEntryKind.OverdraftWriteOff => entry.Amount.Units,
        _ => 0,
    };

    /// <summary>Applies one entry; returns a description of what is wrong with it, or <see langword="null"/>.</summary>
    internal string? Apply(in LedgerEntry entry, out long balanceBefore, out long balanceAfter)
    {
        var wallet = GetOrAdd(entry.CustomerId, entry.CreditType);
        balanceBefore = wallet.Balance;
        balanceAfter = balanceBefore;
        long amount = entry.Amount.Units;
        ProjectedBlock? block = null;
        if (entry.Kind is not (LedgerEntryKind.Grant or LedgerEntryKind.Overdraft or LedgerEntryKind.Overage or LedgerEntryKind.OverdraftWriteOff or LedgerEntryKind.Usage or LedgerEntryKind.Budgeted or LedgerEntryKind.Settled))
        {
            if (entry.BlockId is not { } id || !wallet.Blocks.TryGetValue(id, out block))
            {
                return $"{entry.Kind} entry names block {entry.BlockId?.ToString() ?? "(none)"}, which was never granted to this wallet.";
            }
        }

        switch (entry.Kind)
        {
            case LedgerEntryKind.Grant:
                if (entry.Block is null || entry.BlockId != entry.Block.Id || amount != entry.Block.Amount.Units || amount <= 0)
                {
                    return "Grant entry does not carry matching block terms and a positive amount.";
                }

                if (!wallet.Blocks.TryAdd(entry.Block.Id, new ProjectedBlock(entry.Block)))
                {
                    return $"Block {entry.Block.Id} is granted twice.";
                }

                balanceAfter = checked(balanceBefore + amount);
                break;
            case LedgerEntryKind.Settle:
                if (amount > 0)
                {
                    return "Settle entry has a positive amount.";
                }

                block!.Used -= amount;
                balanceAfter = checked(balanceBefore + amount);
                break;
            case LedgerEntryKind.Expire:
            case LedgerEntryKind.Void:
                if (amount > 0)
                {
                    return $"{entry.Kind} entry has a positive amount.";
                }

                block!.Removed -= amount;
                block.ClosedAs ??= entry.Kind;
                balanceAfter = checked(balanceBefore + amount);
                break;
            case LedgerEntryKind.Adjust:
                // No "used >= 0" check: a refund is written under the wallet lock, while the settlement that used those
                // credits may be written a moment later, so in ledger order a refund can precede its charge.
                block!.Used -= amount;
                balanceAfter = checked(balanceBefore + amount);
                break;
            case LedgerEntryKind.Overdraft:
                if (amount >= 0)
                {
                    return "Overdraft entry does not have a negative amount.";
                }

                wallet.Owed -= amount;
                balanceAfter = checked(balanceBefore + amount);
                break;
            case LedgerEntryKind.OverdraftSettle:
                if (amount >= 0)
                {
                    return "OverdraftSettle entry does not have a negative amount.";
                }

                block!.Used -= amount;
                wallet.Owed += amount;
                if (wallet.Owed < 0)
                {
                    return "OverdraftSettle pays more than the wallet owed.";
                }

                break;
            case LedgerEntryKind.OverdraftWriteOff:
                if (amount <= 0 || amount > wallet.Owed)
                {
                    return $"OverdraftWriteOff entry writes off {amount} units of a debt of {wallet.Owed}.";
                }

                wallet.Owed -= amount;
                balanceAfter = checked(balanceBefore + amount);
                break;
            case LedgerEntryKind.Usage:
                if (amount != 0 || entry.Usage is not { } usage)
                {
                    return "Usage entry does not have a zero amount and the usage it counts.";
                }

                Count(entry.CustomerId, usage);
                break;
            case LedgerEntryKind.Budgeted:
                if (amount != 0 || entry.Budgeted is null || entry.BlockId is not null)
                {
                    return "Budgeted entry does not have a zero amount, no block, and what it counted.";
                }

                break;
            case LedgerEntryKind.Settled:
                if (amount != 0 || entry.Settlement is null || entry.BlockId is not null)
                {
                    return "Settled entry does not have a zero amount, no block, and the settlement it records.";
                }

                break;
            case LedgerEntryKind.Overage:
            case LedgerEntryKind.Reserve:
            case LedgerEntryKind.Release:
                if (amount <= 0)
                {
                    return $"{entry.Kind} entry does not have a positive amount.";
                }

                break;
            default:
                return $"Unknown entry kind {(int)entry.Kind}.";
        }

        wallet.Balance = balanceAfter;
        if (block is not null && block.Remaining < 0)
        {
            return $"Block {block.Terms.Id} would fall below zero.";
        }

        return null;
    }

    internal LedgerSnapshot ToSnapshot(long sequence, LedgerHash lastHash)
    {
        var wallets = new List<WalletSnapshot>(_wallets.Count);
        foreach (ProjectedWallet w in _wallets.Values)
        {
            var blocks = new List<BlockSnapshot>(w.Blocks.Count);
            foreach (ProjectedBlock b in w.Blocks.Values)
            {
                blocks.Add(new BlockSnapshot { Terms = b.Terms, UsedUnits = b.Used, RemovedUnits = b.Removed, ClosedAs = b.ClosedAs });
            }

            wallets.Add(new WalletSnapshot { CustomerId = w.CustomerId, CreditType = w.CreditType, OwedUnits = w.Owed, Blocks = blocks });
        }

        return new LedgerSnapshot { Sequence = sequence, LastHash = lastHash, Wallets = wallets, Usage = Usage.ToList() };
    }

    /// <summary>Adds usage to its window's total; usage in a window older than the latest one of its meter and kind is history only.</summary>
    private void Count(string customerId, MeteredUsage usage)
    {
        var key = (customerId, usage.Meter, usage.Window);
        if (!_usage.TryGetValue(key, out MeteredUsage latest) || usage.WindowStart > latest.WindowStart)
        {
            _usage[key] = usage;
        }
        else if (usage.SameWindow(latest))
        {
            _usage[key] = new MeteredUsage(latest.Meter, checked(latest.Quantity + usage.Quantity), latest.Window, latest.WindowStart, latest.WindowEnd);
        }
    }

    private ProjectedWallet GetOrAdd(string customerId, string creditType)
    {
        var key = (customerId, creditType);
        if (!_wallets.TryGetValue(key, out var wallet))
        {
            wallet = new ProjectedWallet(customerId, creditType);
            _wallets.Add(key, wallet);
        }

        return wallet;
    }

    internal sealed class ProjectedWallet(string customerId, string creditType)
    {
        internal string CustomerId { get; } = customerId;

        internal string CreditType { get; } = creditType;

        internal Dictionary<Guid, ProjectedBlock> Blocks { get; } = [];

        internal long Owed { get; set; }

        internal long Balance { get; set; }

        internal long ComputeBalance()
        {
            long sum = -Owed;
            foreach (ProjectedBlock b in Blocks.Values)
            {
                sum = checked(sum + b.Remaining);
            }

            return sum;
        }
    }

    internal sealed class ProjectedBlock(CreditBlock terms)
    {
        internal CreditBlock Terms { get; } = terms;

        internal long Used { get; set; }

        internal long Removed { get; set; }

        internal LedgerEntryKind? ClosedAs { get; set; }

        internal long Remaining => Terms.Amount.Units - Used - Removed;
    }
}
