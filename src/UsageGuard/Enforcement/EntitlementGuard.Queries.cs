namespace UsageGuard;

internal sealed partial class EntitlementGuard
{
    public WalletBalance GetBalance(string customerId, string? creditType = null)
    {
        ValidateId(customerId, nameof(customerId));
        ValidateOptionalId(creditType, nameof(creditType));
        int typeIndex = TypeIndex(creditType);
        Wallet wallet = Customer(customerId).Wallet(typeIndex);
        DateTimeOffset now = _time.GetUtcNow();
        _reservations.ReclaimExpired(now.UtcTicks);
        int scale = wallet.Type.Scale;
        lock (wallet.Gate)
        {
            wallet.Sweep(now);
            long balance = -wallet.Owed;
            long held = 0;
            long available = 0;
            var blocks = new CreditBlockBalance[wallet.Blocks.Count];
            for (int i = 0; i < blocks.Length; i++)
            {
                BlockAccount block = wallet.Blocks[i];
                CreditBlockState state = block.StateAt(now);
                long blockHeld = block.Held;
                long removed = block.Removed;
                balance = checked(balance + block.Remaining);
                held += blockHeld;
                if (state is CreditBlockState.Active)
                {
                    available += block.Available;
                }

                blocks[i] = new CreditBlockBalance(
                    block.Terms,
                    state,
                    CreditAmount.FromUnits(block.Remaining, scale),
                    CreditAmount.FromUnits(blockHeld, scale),
                    CreditAmount.FromUnits(block.Used, scale),
                    CreditAmount.FromUnits(block.ClosedAs == LedgerEntryKind.Expire ? removed : 0, scale),
                    CreditAmount.FromUnits(block.ClosedAs == LedgerEntryKind.Void ? removed : 0, scale));
            }

            return new WalletBalance(customerId, wallet.Type.Code, CreditAmount.FromUnits(balance, scale), CreditAmount.FromUnits(held, scale), CreditAmount.FromUnits(available, scale), CreditAmount.FromUnits(wallet.Owed, scale), blocks);
        }
    }

    public async ValueTask<CreditAmount> GetBalanceAsOfAsync(string customerId, DateTimeOffset asOf, string? creditType = null, CancellationToken cancellationToken = default)
    {
        ValidateId(customerId, nameof(customerId));
        ValidateOptionalId(creditType, nameof(creditType));
        int typeIndex = TypeIndex(creditType);
        Wallet wallet = Customer(customerId).Wallet(typeIndex);
        lock (wallet.Gate)
        {
            // Expiries are noticed lazily; notice them now so that the ledger has every one up to this instant.
            wallet.Sweep(_time.GetUtcNow());
        }

        await FlushAsync(cancellationToken).ConfigureAwait(false);
        long balance = 0;
        long after = 0;
        while (true)
        {
            // The time bound lets a store use its time index; the check below stays the rule.
            IReadOnlyList<LedgerEntry> page = await _store.QueryAsync(new LedgerQuery { CustomerId = customerId, CreditType = wallet.Type.Code, AfterSequence = after, To = asOf == DateTimeOffset.MaxValue ? null : asOf.AddTicks(1), Limit = 10_000 }, cancellationToken).ConfigureAwait(false);
            foreach (LedgerEntry entry in page)
            {
                if (entry.Timestamp <= asOf)
                {
                    balance = checked(balance + LedgerProjection.BalanceEffect(entry));
                }

                after = entry.Sequence;
            }

            if (page.Count < 10_000)
            {
                break;
            }
        }

        return CreditAmount.FromUnits(balance, wallet.Type.Scale);
    }

    public async ValueTask<IReadOnlyList<LedgerEntry>> GetHistoryAsync(LedgerQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ValidateId(query.CustomerId, nameof(query.CustomerId));
        if (query.Limit <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Limit, "LedgerQuery.Limit must be positive.");
        }

        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return await _store.QueryAsync(query, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<LedgerVerificationResult> VerifyAsync(CancellationToken cancellationToken = default)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return await LedgerVerifier.VerifyAsync(_store.ReadAsync(0, cancellationToken), null, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await _writer.WhenCommitted(_writer.QueuedByAnyThread, cancellationToken).ConfigureAwait(false);
    }
}
