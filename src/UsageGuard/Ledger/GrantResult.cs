namespace UsageGuard;

/// <summary>What a grant created.</summary>
public sealed class GrantResult
{
    internal GrantResult(CreditBlock block, CreditAmount paidToDebt, bool replayed)
    {
        Block = block;
        PaidToDebt = paidToDebt;
        Replayed = replayed;
    }

    /// <summary>Gets the new block.</summary>
    public CreditBlock Block { get; }

    /// <summary>Gets how much of the grant went to settle the wallet's overdraft debt.</summary>
    public CreditAmount PaidToDebt { get; }

    /// <summary>Gets a value indicating whether this is the remembered outcome of an earlier call with the same idempotency key.</summary>
    public bool Replayed { get; }
}
