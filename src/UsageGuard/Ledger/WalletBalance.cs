namespace UsageGuard;

/// <summary>A wallet's balances at one instant, with each block.</summary>
/// <remarks>
/// <see cref="Balance"/> is the posted balance, the ledger's; <see cref="Available"/> is what a new reservation can
/// still hold. Both are read without stopping writers, so under load they are a moment's view, not a transaction.
/// </remarks>
public sealed class WalletBalance
{
    internal WalletBalance(string customerId, string creditType, CreditAmount balance, CreditAmount held, CreditAmount available, CreditAmount owed, IReadOnlyList<CreditBlockBalance> blocks)
    {
        CustomerId = customerId;
        CreditType = creditType;
        Balance = balance;
        Held = held;
        Available = available;
        Owed = owed;
        Blocks = blocks;
    }

    /// <summary>Gets the customer.</summary>
    public string CustomerId { get; }

    /// <summary>Gets the credit type code.</summary>
    public string CreditType { get; }

    /// <summary>Gets the posted balance: credits not used, expired or voided, less debt. Holds do not lower it.</summary>
    public CreditAmount Balance { get; }

    /// <summary>Gets what reservations hold now.</summary>
    public CreditAmount Held { get; }

    /// <summary>Gets what a new reservation could hold now (effective, unexpired, unheld credits).</summary>
    public CreditAmount Available { get; }

    /// <summary>Gets the overdraft debt the next grant pays first.</summary>
    public CreditAmount Owed { get; }

    /// <summary>Gets every block the wallet was ever granted, in burn order.</summary>
    public IReadOnlyList<CreditBlockBalance> Blocks { get; }
}

/// <summary>One block's balances at one instant.</summary>
public sealed class CreditBlockBalance
{
    internal CreditBlockBalance(CreditBlock block, CreditBlockState state, CreditAmount remaining, CreditAmount held, CreditAmount used, CreditAmount expired, CreditAmount voided)
    {
        Block = block;
        State = state;
        Remaining = remaining;
        Held = held;
        Used = used;
        Expired = expired;
        Voided = voided;
    }

    /// <summary>Gets the block's terms.</summary>
    public CreditBlock Block { get; }

    /// <summary>Gets the block's state.</summary>
    public CreditBlockState State { get; }

    /// <summary>Gets the posted remainder: amount less used, expired and voided (holds included).</summary>
    public CreditAmount Remaining { get; }

    /// <summary>Gets what reservations hold on this block.</summary>
    public CreditAmount Held { get; }

    /// <summary>Gets what was used (settled, paid to debt, adjusted).</summary>
    public CreditAmount Used { get; }

    /// <summary>Gets what expired.</summary>
    public CreditAmount Expired { get; }

    /// <summary>Gets what was voided.</summary>
    public CreditAmount Voided { get; }
}
