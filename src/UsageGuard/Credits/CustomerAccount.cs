namespace UsageGuard;

/// <summary>One customer's wallets, one per configured credit type, created on first use.</summary>
internal sealed class CustomerAccount
{
    private readonly EntitlementGuard _guard;
    private readonly Wallet?[] _wallets;
    private readonly Lock _gate = new();
    private CustomerGovernance? _governance;

    internal CustomerAccount(EntitlementGuard guard, string id, int creditTypeCount)
    {
        _guard = guard;
        Id = id;
        _wallets = new Wallet?[creditTypeCount];
    }

    internal string Id { get; }

    /// <summary>Gets or sets the customer's budgets and sessions, or null when it has none (read on every reservation, set when they change).</summary>
    internal CustomerGovernance? Governance
    {
        get => Volatile.Read(ref _governance);
        set => Volatile.Write(ref _governance, value);
    }

    internal Wallet Wallet(int creditTypeIndex)
    {
        Wallet? wallet = Volatile.Read(ref _wallets[creditTypeIndex]);
        if (wallet is not null)
        {
            return wallet;
        }

        lock (_gate)
        {
            wallet = _wallets[creditTypeIndex];
            if (wallet is null)
            {
                wallet = new Wallet(_guard, Id, _guard.CreditTypeAt(creditTypeIndex));
                Volatile.Write(ref _wallets[creditTypeIndex], wallet);
            }

            return wallet;
        }
    }

    /// <summary>Gets the wallets created so far.</summary>
    internal IEnumerable<Wallet> Wallets
    {
        get
        {
            foreach (Wallet? wallet in _wallets)
            {
                if (wallet is { } w)
                {
                    yield return w;
                }
            }
        }
    }

    internal Wallet? FindWalletOf(Guid blockId)
    {
        foreach (Wallet? wallet in _wallets)
        {
            if (wallet is not null && wallet.Find(blockId) is not null)
            {
                return wallet;
            }
        }

        return null;
    }
}
