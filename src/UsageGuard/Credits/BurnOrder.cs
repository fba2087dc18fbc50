namespace UsageGuard;

/// <summary>The order in which credit blocks are consumed, expired and unwound.</summary>
/// <remarks>
/// <para>One comparator serves consumption (earliest first), expiry, and correction unwinding (reverse order).
/// The default follows the design: priority (lower first) → expiry (sooner first, never-expiring last) →
/// category (<see cref="CreditCategory"/> rank: promotional before bundled before paid) → effective time →
/// creation time → id. The id makes the order total, so two blocks never tie.</para>
/// <para>Instances are immutable and thread-safe.</para>
/// </remarks>
public sealed class BurnOrder : IComparer<CreditBlock>
{
    private readonly IComparer<CreditBlock>? _custom;

    private BurnOrder(IComparer<CreditBlock>? custom) => _custom = custom;

    /// <summary>Gets the default burn order.</summary>
    public static BurnOrder Default { get; } = new(null);

    /// <summary>Creates a burn order from a comparer; ties it leaves are broken by the block id so the order stays total.</summary>
    /// <param name="comparer">The comparer: negative when the first block burns before the second.</param>
    /// <returns>The burn order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="comparer"/> is <see langword="null"/>.</exception>
    public static BurnOrder Create(IComparer<CreditBlock> comparer)
    {
        ArgumentNullException.ThrowIfNull(comparer);
        return new BurnOrder(comparer);
    }

    /// <summary>Compares two blocks: negative when <paramref name="x"/> burns first.</summary>
    /// <param name="x">The first block.</param>
    /// <param name="y">The second block.</param>
    /// <returns>A negative number, zero only for the same block, or a positive number.</returns>
    public int Compare(CreditBlock? x, CreditBlock? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null)
        {
            return -1;
        }

        if (y is null)
        {
            return 1;
        }

        int c = _custom is null ? CompareDefault(x, y) : _custom.Compare(x, y);
        return c != 0 ? c : x.Id.CompareTo(y.Id);
    }

    private static int CompareDefault(CreditBlock x, CreditBlock y)
    {
        int c = x.Priority.CompareTo(y.Priority);
        if (c != 0)
        {
            return c;
        }

        c = (x.ExpiresAt, y.ExpiresAt) switch
        {
            (null, null) => 0,
            (null, _) => 1,
            (_, null) => -1,
            ({ } a, { } b) => a.CompareTo(b),
        };
        if (c != 0)
        {
            return c;
        }

        c = ((int)x.Category).CompareTo((int)y.Category);
        if (c != 0)
        {
            return c;
        }

        c = x.EffectiveAt.CompareTo(y.EffectiveAt);
        return c != 0 ? c : x.CreatedAt.CompareTo(y.CreatedAt);
    }
}
