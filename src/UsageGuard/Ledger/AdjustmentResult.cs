namespace UsageGuard;

/// <summary>What an adjustment or a void changed, block by block.</summary>
public sealed class AdjustmentResult
{
    internal AdjustmentResult(CreditAmount total, IReadOnlyList<BlockChange> changes, bool replayed)
    {
        Total = total;
        Changes = changes;
        Replayed = replayed;
    }

    /// <summary>Gets the total signed change to the balance.</summary>
    public CreditAmount Total { get; }

    /// <summary>Gets the change to each block touched, in the order applied.</summary>
    public IReadOnlyList<BlockChange> Changes { get; }

    /// <summary>Gets a value indicating whether this is the remembered outcome of an earlier call with the same idempotency key.</summary>
    public bool Replayed { get; }
}
