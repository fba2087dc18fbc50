using System.Globalization;

namespace UsageGuard;

internal sealed partial class EntitlementGuard
{
    private const int MaxReasonLength = 1024;

    public ValueTask<GrantResult> GrantAsync(CreditGrant grant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grant);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        ValidateId(grant.CustomerId, nameof(grant.CustomerId));
        ValidateOptionalId(grant.CreditType, nameof(grant.CreditType));
        ValidateOptionalId(grant.FeatureScope, nameof(grant.FeatureScope));
        ValidateOptionalId(grant.IdempotencyKey, nameof(grant.IdempotencyKey));
        int typeIndex = TypeIndex(grant.CreditType);
        CreditType type = _types[typeIndex];
        long units = PositiveUnits(grant.Amount, type.Scale, nameof(grant.Amount));
        if (grant.CostBasis < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(grant.CostBasis), grant.CostBasis, "The cost basis may not be negative.");
        }

        if (!Enum.IsDefined(grant.Category))
        {
            throw new ArgumentOutOfRangeException(nameof(grant.Category), grant.Category, "Unknown credit category.");
        }

        ThrowIfRefusing();
        DateTimeOffset now = _time.GetUtcNow();
        DateTimeOffset effective = grant.EffectiveAt ?? now;
        if (grant.ExpiresAt is { } expiry && expiry <= effective)
        {
            throw new ArgumentException($"The expiry {expiry:O} is not after the effective time {effective:O}.", nameof(grant.ExpiresAt));
        }

        Dictionary<string, string>? metadata = null;
        if (grant.Metadata is { Count: > 0 })
        {
            metadata = new Dictionary<string, string>(grant.Metadata.Count, StringComparer.Ordinal);
            foreach (KeyValuePair<string, string> pair in grant.Metadata)
            {
                ValidateId(pair.Key, nameof(grant.Metadata));
                metadata[pair.Key] = pair.Value ?? throw new ArgumentException($"Metadata value for '{pair.Key}' is null.", nameof(grant.Metadata));
            }
        }

        Durability durability = grant.Durability ?? _options.GrantDurability;
        if (!Enum.IsDefined(durability))
        {
            throw new ArgumentOutOfRangeException(nameof(grant.Durability), durability, "Unknown durability.");
        }
        var terms = new CreditBlock(Guid.CreateVersion7(now), grant.CustomerId, type.Code, CreditAmount.FromUnits(units, type.Scale), effective, grant.ExpiresAt, grant.Priority, grant.Category, grant.CostBasis, grant.FeatureScope, metadata, now);
        if (grant.IdempotencyKey is null)
        {
            return Durable(GrantCore(terms, typeIndex, null, null), durability, cancellationToken);
        }

        string fingerprint = IdempotencyTable.Fingerprint("grant", [
            grant.CustomerId,
            type.Code,
            units.ToString(CultureInfo.InvariantCulture),
            grant.EffectiveAt?.UtcTicks.ToString(CultureInfo.InvariantCulture),
            grant.ExpiresAt?.UtcTicks.ToString(CultureInfo.InvariantCulture),
            grant.Priority.ToString(CultureInfo.InvariantCulture),
            ((int)grant.Category).ToString(CultureInfo.InvariantCulture),
            grant.CostBasis?.ToString(CultureInfo.InvariantCulture),
            grant.FeatureScope,
            metadata is null ? null : string.Join('\u001e', metadata.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value)),
        ]);
        return Keyed(grant.CustomerId, grant.IdempotencyKey, fingerprint, now, durability,
            (slot, record) => GrantCore(terms, typeIndex, grant.IdempotencyKey, record),
            r => new IdempotencyOutcome { Operation = "grant", Scale = type.Scale, BlockId = r.Block.Id, Overdrawn = r.PaidToDebt.Units },
            o => o is GrantResult live ? new GrantResult(live.Block, live.PaidToDebt, replayed: true) : ReplayGrant(grant.CustomerId, (IdempotencyOutcome)o),
            cancellationToken);
    }

    public ValueTask<AdjustmentResult> VoidAsync(string customerId, Guid blockId, string reason, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        ValidateId(customerId, nameof(customerId));
        ValidateReason(reason, nameof(reason));
        ValidateOptionalId(idempotencyKey, nameof(idempotencyKey));
        Wallet wallet = Customer(customerId).FindWalletOf(blockId)
            ?? throw new UnknownCreditBlockException(blockId, $"Customer '{customerId}' has no credit block {blockId}.");
        ThrowIfRefusing();
        DateTimeOffset now = _time.GetUtcNow();
        if (idempotencyKey is null)
        {
            return Durable(VoidCore(wallet, blockId, reason, null, null, now), _options.GrantDurability, cancellationToken);
        }

        string fingerprint = IdempotencyTable.Fingerprint("void", [customerId, blockId.ToString(), reason]);
        return Keyed(customerId, idempotencyKey, fingerprint, now, _options.GrantDurability,
            (slot, record) => VoidCore(wallet, blockId, reason, idempotencyKey, record, now),
            Outcome("void", wallet.Type.Scale),
            o => ReplayAdjustment(o, wallet.Type.Scale),
            cancellationToken);
    }

    public ValueTask<AdjustmentResult> AdjustAsync(CreditAdjustment adjustment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(adjustment);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        ValidateId(adjustment.CustomerId, nameof(adjustment.CustomerId));
        ValidateOptionalId(adjustment.CreditType, nameof(adjustment.CreditType));
        ValidateOptionalId(adjustment.IdempotencyKey, nameof(adjustment.IdempotencyKey));
        ValidateReason(adjustment.Reason, nameof(adjustment.Reason));
        int typeIndex = TypeIndex(adjustment.CreditType);
        CreditType type = _types[typeIndex];
        if (adjustment.Amount == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(adjustment.Amount), adjustment.Amount, "An adjustment may not be zero.");
        }

        long units = FixedPoint.ToUnits(adjustment.Amount, type.Scale, nameof(adjustment.Amount));
        Wallet wallet = Customer(adjustment.CustomerId).Wallet(typeIndex);
        ThrowIfRefusing();
        DateTimeOffset now = _time.GetUtcNow();
        if (adjustment.IdempotencyKey is null)
        {
            return Durable(AdjustCore(wallet, units, adjustment.Reason, null, null, now), _options.GrantDurability, cancellationToken);
        }

        string fingerprint = IdempotencyTable.Fingerprint("adjust", [adjustment.CustomerId, type.Code, units.ToString(CultureInfo.InvariantCulture), adjustment.Reason]);
        return Keyed(adjustment.CustomerId, adjustment.IdempotencyKey, fingerprint, now, _options.GrantDurability,
            (slot, record) => AdjustCore(wallet, units, adjustment.Reason, adjustment.IdempotencyKey, record, now),
            Outcome("adjust", type.Scale),
            o => ReplayAdjustment(o, type.Scale),
            cancellationToken);
    }

    /// <param name="terms">The block to grant.</param>
    /// <param name="typeIndex">The block's credit type.</param>
    /// <param name="idempotencyKey">The key of the operation, if any.</param>
    /// <param name="record">Builds the idempotency record from the result, if any.</param>
    /// <param name="catalogVersion">The catalog that owed the grant (allowances), if any.</param>
    /// <param name="writeOff">Why the wallet's debt is written off before the grant (an allowance reset that does not preserve overage), or null to let the grant pay it.</param>
    private GrantResult GrantCore(CreditBlock terms, int typeIndex, string? idempotencyKey, Func<GrantResult, IdempotencyRecord>? record, string? catalogVersion = null, string? writeOff = null)
    {
        CustomerAccount customer = AddCustomer(terms.CustomerId);
        Wallet wallet = customer.Wallet(typeIndex);
        var account = new BlockAccount(terms);
        lock (wallet.Gate)
        {
            wallet.EnsureRoomFor(terms.Amount.Units);
            var entries = default(EntryGroup);
            // With many instances, debt (taken offline) is neither written off nor paid by grants: two instances could settle the same debt.
            if (writeOff is not null && wallet.Owed > 0 && !IsShared)
            {
                // In the grant's group: a restart never sees the write-off without the grant whose block id makes the reset happen once.
                entries.Add(Entry(LedgerEntryKind.OverdraftWriteOff, wallet, null, wallet.WriteOffDebt(), terms.CreatedAt, null, idempotencyKey, writeOff) with { CatalogVersion = catalogVersion });
            }

            TrackShared(wallet, account);
            long paid = wallet.Add(account, terms.CreatedAt);
            entries.Add(Entry(LedgerEntryKind.Grant, wallet, account, terms.Amount.Units, terms.CreatedAt, null, idempotencyKey) with { Block = terms, CatalogVersion = catalogVersion });
            if (paid > 0)
            {
                entries.Add(Entry(LedgerEntryKind.OverdraftSettle, wallet, account, -paid, terms.CreatedAt, null, idempotencyKey) with { CatalogVersion = catalogVersion });
            }

            var result = new GrantResult(terms, CreditAmount.FromUnits(paid, terms.Amount.Scale), replayed: false);
            _writer.Write(entries, record?.Invoke(result));

            // Published only after its grant entry is queued: no use of the block can precede the grant in the ledger.
            wallet.Publish(terms.CreatedAt);
            return result;
        }
    }

    private AdjustmentResult VoidCore(Wallet wallet, Guid blockId, string reason, string? idempotencyKey, Func<AdjustmentResult, IdempotencyRecord>? record, DateTimeOffset now)
    {
        lock (wallet.Gate)
        {
            wallet.Sweep(now);
            BlockAccount block = wallet.FindLocked(blockId)!;
            if (block.IsClosed)
            {
                throw new InvalidOperationException($"Block {blockId} is already {(block.ClosedAs == LedgerEntryKind.Void ? "voided" : "expired")}; there is nothing left to void.");
            }

            long removed = block.CloseAs(LedgerEntryKind.Void);
            var entries = default(EntryGroup);

            // Written even when nothing is removed: the entry is what closes the block in the ledger.
            entries.Add(Entry(LedgerEntryKind.Void, wallet, block, -removed, now, null, idempotencyKey, reason));
            var result = new AdjustmentResult(CreditAmount.FromUnits(-removed, wallet.Type.Scale), [new BlockChange(blockId, CreditAmount.FromUnits(-removed, wallet.Type.Scale))], replayed: false);
            _writer.Write(entries, record?.Invoke(result));
            BlockClosed(wallet, block);
            wallet.Publish(now);
            NoteSpent(wallet);
            return result;
        }
    }

    private AdjustmentResult AdjustCore(Wallet wallet, long units, string reason, string? idempotencyKey, Func<AdjustmentResult, IdempotencyRecord>? record, DateTimeOffset now)
    {
        var changes = new List<ReservationState.Hold>();
        _reservations.ReclaimExpired(now.UtcTicks);
        lock (wallet.Gate)
        {
            wallet.Sweep(now);
            List<BlockAccount> blocks = wallet.Blocks;
            if (units > 0)
            {
                // A refund unwinds use in reverse burn order: the block that burns last is restored first.
                long remaining = units;
                for (int i = blocks.Count - 1; i >= 0 && remaining > 0; i--)
                {
                    BlockAccount block = blocks[i];
                    if (block.IsClosed || block.Used == 0)
                    {
                        continue;
                    }

                    long restore = Math.Min(block.Used, remaining);
                    changes.Add(new ReservationState.Hold(block, restore));
                    remaining -= restore;
                }

                if (remaining > 0)
                {
                    throw new ArgumentException($"The refund of {FixedPoint.ToDecimal(units, wallet.Type.Scale)} exceeds what open blocks have used ({FixedPoint.ToDecimal(units - remaining, wallet.Type.Scale)}); grant credits instead.", "adjustment");
                }

            }
            else
            {
                long need = -units;
                long taken = wallet.ConsumeUpTo(need, null, changes);
                if (taken < need)
                {
                    // All or nothing: give back what a concurrent reservation left us, then refuse.
                    foreach (ReservationState.Hold change in changes)
                    {
                        change.Block.TryRestore(change.Units);
                    }

                    throw new InsufficientCreditsException(wallet.CustomerId, $"Customer '{wallet.CustomerId}' has {FixedPoint.ToDecimal(taken, wallet.Type.Scale)} {wallet.Type.Code} available, less than the debit of {FixedPoint.ToDecimal(need, wallet.Type.Scale)}.");
                }
            }

            var entries = default(EntryGroup);
            var blockChanges = new BlockChange[changes.Count];
            long sign = units > 0 ? 1 : -1;
            for (int i = 0; i < changes.Count; i++)
            {
                ReservationState.Hold change = changes[i];
                entries.Add(Entry(LedgerEntryKind.Adjust, wallet, change.Block, sign * change.Units, now, null, idempotencyKey, reason));
                blockChanges[i] = new BlockChange(change.Block.Terms.Id, CreditAmount.FromUnits(sign * change.Units, wallet.Type.Scale));
            }

            var result = new AdjustmentResult(CreditAmount.FromUnits(units, wallet.Type.Scale), blockChanges, replayed: false);
            _writer.Write(entries, record?.Invoke(result));
            if (units > 0)
            {
                // Restored only after the refund's entries are queued: a settlement that spends the restored credits
                // without the lock must follow the refund in the ledger, or the block would dip below zero there.
                foreach (ReservationState.Hold change in changes)
                {
                    change.Block.TryRestore(change.Units);
                }
            }

            wallet.Publish(now);
            if (units < 0)
            {
                NoteSpent(wallet);
            }

            return result;
        }
    }

    /// <summary>
    /// Runs a keyed mutation exactly once: claims the key, runs the operation (which queues its entries together with the
    /// record built by the factory it is given), waits for durability, then publishes the outcome to duplicates.
    /// A replay returns the first outcome; an operation that throws releases the key.
    /// </summary>
    private ValueTask<T> Keyed<T>(string customerId, string key, string fingerprint, DateTimeOffset now, Durability durability, Func<IdempotencyTable.Slot, Func<T, IdempotencyRecord>, T> run, Func<T, IdempotencyOutcome> encode, Func<object, T> replay, CancellationToken cancellationToken)
    {
        IdempotencyTable.Slot? existing = _idempotency.TryClaim(customerId, key, fingerprint, now, out IdempotencyTable.Slot slot);
        if (existing is not null)
        {
            return ReplayAsync(existing, replay);
        }

        if (_sharedStore is not null)
        {
            return KeyedSharedAsync(customerId, key, fingerprint, now, durability, slot, record => new ValueTask<T>(run(slot, record)), encode, replay, cancellationToken);
        }

        T result;
        try
        {
            result = run(slot, r => Record(customerId, key, fingerprint, now, encode(r)));
        }
        catch (Exception ex)
        {
            _idempotency.Abandon(customerId, key, slot, ex);
            throw;
        }

        return CompleteAsync(result, slot, durability, cancellationToken);
    }

    /// <summary>A keyed mutation with many instances, whose operation may wait (for lease top-ups) before its outcome is final.</summary>
    private ValueTask<T> KeyedShared<T>(string customerId, string key, string fingerprint, DateTimeOffset now, Durability durability, Func<Func<T, IdempotencyRecord>, ValueTask<T>> run, Func<T, IdempotencyOutcome> encode, Func<object, T> replay, CancellationToken cancellationToken)
    {
        IdempotencyTable.Slot? existing = _idempotency.TryClaim(customerId, key, fingerprint, now, out IdempotencyTable.Slot slot);
        return existing is not null
            ? ReplayAsync(existing, replay)
            : KeyedSharedAsync(customerId, key, fingerprint, now, durability, slot, run, encode, replay, cancellationToken);
    }

    /// <summary>
    /// With many instances, a key this instance claimed locally is claimed in the shared store too: a key another instance used replays
    /// its outcome; otherwise the operation runs here, and records its final outcome (with its entries) under the key.
    /// </summary>
    private async ValueTask<T> KeyedSharedAsync<T>(string customerId, string key, string fingerprint, DateTimeOffset now, Durability durability, IdempotencyTable.Slot slot, Func<Func<T, IdempotencyRecord>, ValueTask<T>> run, Func<T, IdempotencyOutcome> encode, Func<object, T> replay, CancellationToken cancellationToken)
    {
        IdempotencyOutcome? stored;
        try
        {
            stored = await ClaimSharedKeyAsync(customerId, key, fingerprint, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _idempotency.Abandon(customerId, key, slot, ex);
            throw;
        }

        if (stored is not null)
        {
            slot.Complete(stored);
            return replay(stored);
        }

        T result;
        try
        {
            result = await run(r => Record(customerId, key, fingerprint, now, encode(r))).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _idempotency.Abandon(customerId, key, slot, ex);
            _ = ReleaseSharedKeyAsync(customerId, key);
            throw;
        }

        return await CompleteAsync(result, slot, durability, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<T> CompleteAsync<T>(T result, IdempotencyTable.Slot slot, Durability durability, CancellationToken cancellationToken)
    {
        if (durability != Durability.Durable)
        {
            slot.Complete(result!);
            return result;
        }

        // The outcome is published to duplicates when the commit lands, whether or not this caller stops waiting.
        Task committed = _writer.WhenCommitted(_writer.QueuedByThisThread, CancellationToken.None);
        _ = PublishWhenCommitted(committed, slot, result!);
        await committed.WaitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private static async Task PublishWhenCommitted(Task committed, IdempotencyTable.Slot slot, object result)
    {
        try
        {
            await committed.ConfigureAwait(false);
            slot.Complete(result);
        }
        catch (Exception ex)
        {
            slot.Fail(ex);
        }
    }

    private static async ValueTask<T> ReplayAsync<T>(IdempotencyTable.Slot existing, Func<object, T> replay) =>
        replay(await existing.Outcome.ConfigureAwait(false));

    private ValueTask<T> Durable<T>(T result, Durability durability, CancellationToken cancellationToken)
    {
        if (durability != Durability.Durable)
        {
            return new ValueTask<T>(result);
        }

        long through = _writer.QueuedByThisThread;
        return _writer.IsCommitted(through) ? new ValueTask<T>(result) : AwaitCommitted(result, through, cancellationToken);
    }

    // The wait of LedgerWriter.WhenCommitted, inlined: one state machine per durable call instead of two.
    private async ValueTask<T> AwaitCommitted<T>(T result, long through, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task next = _writer.NextCommit;
            if (_writer.IsCommitted(through))
            {
                return result;
            }

            await next.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private GrantResult ReplayGrant(string customerId, IdempotencyOutcome stored)
    {
        // Keys are per customer, so the block is the customer's: no need to look through every other customer.
        if (_customers.TryGetValue(customerId, out CustomerAccount? customer) && customer.FindWalletOf(stored.BlockId!.Value) is { } wallet)
        {
            return new GrantResult(wallet.Find(stored.BlockId.Value)!.Terms, CreditAmount.FromUnits(stored.Overdrawn, stored.Scale), replayed: true);
        }

        throw new UsageGuardException($"The idempotency record names block {stored.BlockId}, which the ledger does not hold; the store is damaged.");
    }

    private static Func<AdjustmentResult, IdempotencyOutcome> Outcome(string operation, int scale) => r => new IdempotencyOutcome
    {
        Operation = operation,
        Scale = scale,
        Charged = r.Total.Units,
        ChangedBlocks = r.Changes.Select(c => c.BlockId).ToArray(),
        ChangedUnits = r.Changes.Select(c => c.Amount.Units).ToArray(),
    };

    private static AdjustmentResult ReplayAdjustment(object outcome, int scale)
    {
        if (outcome is AdjustmentResult live)
        {
            return new AdjustmentResult(live.Total, live.Changes, replayed: true);
        }

        var stored = (IdempotencyOutcome)outcome;
        var changes = new BlockChange[stored.ChangedBlocks?.Length ?? 0];
        for (int i = 0; i < changes.Length; i++)
        {
            changes[i] = new BlockChange(stored.ChangedBlocks![i], CreditAmount.FromUnits(stored.ChangedUnits![i], scale));
        }

        return new AdjustmentResult(CreditAmount.FromUnits(stored.Charged, scale), changes, replayed: true);
    }

    private static void ValidateReason(string? reason, string paramName)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new ArgumentException("A reason is required; it is recorded on the ledger entry.", paramName);
        }

        if (reason.Length > MaxReasonLength)
        {
            throw new ArgumentException($"The reason is {reason.Length} characters long; the limit is {MaxReasonLength}.", paramName);
        }
    }
}
