namespace UsageGuard;

/// <summary>A customer's credit blocks of one credit type, and the hold/consume logic across them in burn order.</summary>
/// <remarks>
/// <para>The common path is lock-free: when the first block in burn order that can pay covers the whole amount,
/// one CAS on that block admits the request. Everything else — a request spanning blocks, crossing an expiry or an
/// effective time, overruns, grants, voids, corrections — takes <see cref="Gate"/>, a short per-wallet lock.</para>
/// <para>Under the lock, a request spanning blocks takes what it can from each and gives it all back if the total
/// falls short. Only one such request runs at a time per wallet, so two of them can never starve each other with
/// partial holds; lock-free requests take all or nothing from one block, so they never hold partially.</para>
/// </remarks>
internal sealed class Wallet
{
    private readonly EntitlementGuard _guard;
    private readonly List<BlockAccount> _all = [];
    private readonly HashSet<Guid> _activated = [];
    private BlockAccount[] _spendable = [];
    private long _nextEventTicks = long.MaxValue;
    private long _owed;

    // The offline allowance (many instances, the store unreachable): what holds keep of it, and what settled into debt in the outage
    // _offlineOutage. Under Gate.
    private long _offlineHeld;
    private long _offlineTaken;
    private long _offlineOutage;

    internal Wallet(EntitlementGuard guard, string customerId, CreditType type)
    {
        _guard = guard;
        CustomerId = customerId;
        Type = type;
        Scope = "wallet:" + type.Code;
        Recharge = guard.AttachRecharge(this);
        Alerts = guard.AttachAlerts(this);
    }

    internal Lock Gate { get; } = new();

    internal string CustomerId { get; }

    internal CreditType Type { get; }

    /// <summary>Gets the scope a denial names.</summary>
    internal string Scope { get; }

    internal long Owed => Volatile.Read(ref _owed);

    /// <summary>Gets the wallet's auto-recharge, or null when it has none.</summary>
    internal WalletRecharge? Recharge { get; }

    /// <summary>Gets the wallet's low-balance alerts, or null when it has none.</summary>
    internal WalletAlerts? Alerts { get; }

    /// <summary>
    /// Gets what new reservations could hold (the spendable blocks' available credits) less debt, lock-free: a moment's
    /// view, current as of the last sweep for expiries and effective times. What auto-recharge compares with its threshold.
    /// </summary>
    internal long SpendableUnits()
    {
        long total = -Volatile.Read(ref _owed);
        foreach (BlockAccount block in Volatile.Read(ref _spendable))
        {
            long available = block.Available;
            if (available > 0)
            {
                total += available;
            }
        }

        return total;
    }

    /// <summary>
    /// Gets the balance wallet alerts compare with their thresholds, lock-free: what the blocks in force have not used
    /// (holds included) less debt; <paramref name="inForce"/> is what was granted in them. A block is in force when it is
    /// effective, open (neither expired nor voided) and not used up; a moment's view, current as of the last sweep.
    /// </summary>
    internal long AlertBalance(out long inForce)
    {
        long balance = -Volatile.Read(ref _owed);
        long granted = 0;
        foreach (BlockAccount block in Volatile.Read(ref _spendable))
        {
            AddInForce(block, ref balance, ref granted);
        }

        inForce = granted;
        return balance;
    }

    /// <summary>
    /// Gets <see cref="AlertBalance"/> as the ledger left it, before the first sweep: from every open block effective at
    /// <paramref name="now"/>, expiries not yet applied (a sweep applies them, and its check raises what they cross).
    /// At start-up, before the wallet is shared.
    /// </summary>
    internal long RestoredAlertBalance(DateTimeOffset now, out long inForce)
    {
        long balance = -_owed;
        long granted = 0;
        foreach (BlockAccount block in _all)
        {
            if (block.Terms.EffectiveAt <= now)
            {
                AddInForce(block, ref balance, ref granted);
            }
        }

        inForce = granted;
        return balance;
    }

    internal bool TryHoldFast(long amount, string? feature, long nowTicks, ReservationState state)
    {
        if (nowTicks >= Volatile.Read(ref _nextEventTicks))
        {
            return false;
        }

        BlockAccount[] blocks = Volatile.Read(ref _spendable);
        for (int i = 0; i < blocks.Length; i++)
        {
            BlockAccount block = blocks[i];
            long available = block.Available;
            if (available <= 0 || !block.Terms.CanPayFor(feature))
            {
                continue;
            }

            if (available >= amount && block.TryHold(amount))
            {
                state.AddHold(block, amount);
                return true;
            }

            return false;
        }

        return false;
    }

    /// <summary>Holds across blocks in burn order, all or nothing. Caller holds <see cref="Gate"/>.</summary>
    internal bool HoldAcross(long amount, string? feature, ReservationState state) => HoldAcross(amount, feature, state, offline: null);

    /// <summary>
    /// Holds across blocks in burn order, and what they lack against the offline allowance (many instances, the store unreachable: the
    /// allowance left to this wallet in this outage), all or nothing. Caller holds <see cref="Gate"/>.
    /// </summary>
    internal bool HoldAcrossOffline(long amount, string? feature, ReservationState state, in OfflineAllowance offline) => HoldAcross(amount, feature, state, offline);

    private bool HoldAcross(long amount, string? feature, ReservationState state, OfflineAllowance? offline)
    {
        long remaining = amount;
        foreach (BlockAccount block in _spendable)
        {
            if (!block.Terms.CanPayFor(feature))
            {
                continue;
            }

            long taken = block.HoldUpTo(remaining);
            if (taken > 0)
            {
                state.AddHold(block, taken);
                remaining -= taken;
                if (remaining == 0)
                {
                    return true;
                }
            }
        }

        if (offline is { } allowance && TryHoldOffline(remaining, allowance))
        {
            state.AddOfflineHold(remaining);
            return true;
        }

        for (int i = 0; i < state.HoldCount; i++)
        {
            ref readonly ReservationState.Hold hold = ref state.HoldAt(i);

            // No block closes while the gate is held, so everything taken goes back.
            hold.Block.Settle(hold.Units, 0);
        }

        state.ClearHolds();
        return false;
    }

    /// <summary>Uses credits with no hold, in burn order, as far as they go. Caller holds <see cref="Gate"/> and has swept.</summary>
    internal long ConsumeUpTo(long amount, string? feature, List<ReservationState.Hold> used)
    {
        long remaining = amount;
        foreach (BlockAccount block in _spendable)
        {
            if (remaining == 0)
            {
                break;
            }

            if (!block.Terms.CanPayFor(feature))
            {
                continue;
            }

            long taken = block.ConsumeUpTo(remaining);
            if (taken > 0)
            {
                remaining -= taken;
                used.Add(new ReservationState.Hold(block, taken));
            }
        }

        return amount - remaining;
    }

    /// <summary>Takes <paramref name="units"/> of the offline allowance, when this outage's allowance has room for them. Caller holds <see cref="Gate"/>.</summary>
    private bool TryHoldOffline(long units, in OfflineAllowance allowance)
    {
        if (_offlineOutage != allowance.Outage)
        {
            // A new outage: the allowance is whole again (holds of an earlier one still count until they settle).
            _offlineOutage = allowance.Outage;
            _offlineTaken = 0;
        }

        if (units > allowance.Units - _offlineTaken - _offlineHeld)
        {
            return false;
        }

        _offlineHeld += units;
        return true;
    }

    /// <summary>
    /// Settles an offline hold of <paramref name="held"/> units that used <paramref name="used"/> of them: what it used becomes debt, the
    /// rest goes back to the allowance. Returns the debt taken. Caller holds <see cref="Gate"/>.
    /// </summary>
    internal long SettleOffline(long held, long used)
    {
        long debt = Math.Clamp(used, 0, held);
        _offlineHeld -= held;
        _offlineTaken += debt;
        Volatile.Write(ref _owed, _owed + debt);
        return debt;
    }

    /// <summary>Adds debt another instance took (its <see cref="LedgerEntryKind.Overdraft"/> entry, followed). Caller holds <see cref="Gate"/>.</summary>
    internal void AddRemoteDebt(long units) => Volatile.Write(ref _owed, _owed + units);

    /// <summary>Takes on debt. Caller holds <see cref="Gate"/>.</summary>
    internal long Overdraw(long amount)
    {
        long room = Type.OverdraftLimitUnits - _owed;
        long taken = Math.Clamp(amount, 0, Math.Max(0, room));
        Volatile.Write(ref _owed, _owed + taken);
        return taken;
    }

    /// <summary>Writes off the whole debt; returns what was owed. Caller holds <see cref="Gate"/>.</summary>
    internal long WriteOffDebt()
    {
        long owed = _owed;
        Volatile.Write(ref _owed, 0);
        return owed;
    }

    /// <summary>
    /// Adds a newly granted block without publishing it, and pays debt from it first when it is effective now.
    /// Caller holds <see cref="Gate"/>, queues the grant's entries, then calls <see cref="Publish"/>, so the grant
    /// entry always precedes any use of the block in the ledger.
    /// </summary>
    /// <returns>What the block paid to debt.</returns>
    internal long Add(BlockAccount block, DateTimeOffset now)
    {
        int index = _all.BinarySearch(block, BlockOrder.For(Type.BurnOrder));
        _all.Insert(index < 0 ? ~index : index, block);
        if (block.Terms.EffectiveAt > now || block.Terms.ExpiresAt <= now || !_activated.Add(block.Terms.Id) || _owed == 0 || _guard.IsShared)
        {
            return 0;
        }

        long paid = block.ConsumeUpTo(_owed);
        Volatile.Write(ref _owed, _owed - paid);
        return paid;
    }

    /// <summary>Throws before any change when adding <paramref name="units"/> would overflow the wallet's 64-bit balance (invariant I7). Caller holds <see cref="Gate"/>.</summary>
    internal void EnsureRoomFor(long units)
    {
        try
        {
            long total = units;
            foreach (BlockAccount block in _all)
            {
                total = checked(total + block.Remaining);
            }
        }
        catch (OverflowException ex)
        {
            throw new OverflowException($"Granting {FixedPoint.ToDecimal(units, Type.Scale)} {Type.Code} to customer '{CustomerId}' would overflow the wallet's 64-bit balance at scale {Type.Scale}. Nothing was granted.", ex);
        }
    }

    /// <summary>Rebuilds the lock-free path's view after a change. Caller holds <see cref="Gate"/>.</summary>
    internal void Publish(DateTimeOffset now)
    {
        Volatile.Write(ref _nextEventTicks, long.MinValue);
        Sweep(now);
    }

    /// <summary>Restores blocks and debt from the ledger at start-up, before the wallet is shared.</summary>
    internal void Restore(IEnumerable<BlockAccount> blocks, long owed)
    {
        _all.AddRange(blocks);
        _all.Sort(BlockOrder.For(Type.BurnOrder));
        _owed = owed;
        _nextEventTicks = long.MinValue;
    }

    internal BlockAccount? Find(Guid blockId)
    {
        lock (Gate)
        {
            return FindLocked(blockId);
        }
    }

    /// <summary>Finds a block. Caller holds <see cref="Gate"/>.</summary>
    internal BlockAccount? FindLocked(Guid blockId)
    {
        foreach (BlockAccount block in _all)
        {
            if (block.Terms.Id == blockId)
            {
                return block;
            }
        }

        return null;
    }

    /// <summary>Gets the blocks the lock-free path spends from, in burn order: a moment's view, current as of the last sweep.</summary>
    internal BlockAccount[] Spendable => Volatile.Read(ref _spendable);

    /// <summary>Gets every block in burn order. Caller holds <see cref="Gate"/>.</summary>
    internal List<BlockAccount> Blocks => _all;

    /// <summary>
    /// Brings the wallet up to <paramref name="now"/>: expires blocks past their expiry (only what is neither used
    /// nor held), activates blocks whose effective time has come (paying debt first), and rebuilds the lock-free
    /// path's view. Caller holds <see cref="Gate"/>. Lazy: correctness never waits for a timer.
    /// </summary>
    internal void Sweep(DateTimeOffset now)
    {
        long nowTicks = now.UtcTicks;
        if (nowTicks < _nextEventTicks)
        {
            return;
        }

        long nextEvent = long.MaxValue;
        var spendable = new List<BlockAccount>(_all.Count);
        foreach (BlockAccount block in _all)
        {
            CreditBlock terms = block.Terms;
            if (!block.IsClosed && terms.ExpiresAt is { } expiry && expiry.UtcTicks <= nowTicks)
            {
                long removed = block.CloseAs(LedgerEntryKind.Expire);
                if (removed > 0)
                {
                    _guard.RecordBlockEntry(LedgerEntryKind.Expire, this, block, -removed, expiry, null);
                }

                _guard.BlockClosed(this, block);
            }

            if (terms.EffectiveAt.UtcTicks > nowTicks)
            {
                nextEvent = Math.Min(nextEvent, terms.EffectiveAt.UtcTicks);
                continue;
            }

            if (!block.IsClosed && _activated.Add(terms.Id))
            {
                PayDebt(block, now);
            }

            if (!block.IsClosed && terms.ExpiresAt is { } later)
            {
                nextEvent = Math.Min(nextEvent, later.UtcTicks);
            }

            bool exhausted = block.Remaining <= 0 && block.Held == 0;
            if ((!block.IsClosed || block.Held > 0) && !exhausted)
            {
                spendable.Add(block);
            }
        }

        Volatile.Write(ref _spendable, spendable.ToArray());
        Volatile.Write(ref _nextEventTicks, nextEvent);

        // Every change that can raise the balance (a grant, a refund, a block becoming effective) ends here, under the lock.
        Alerts?.CheckChanged();
    }

    /// <summary>Gets how long until a scheduled block that could pay becomes effective, or <see langword="null"/>. Caller holds <see cref="Gate"/>.</summary>
    internal TimeSpan? NextActivation(string? feature, long nowTicks)
    {
        long next = long.MaxValue;
        foreach (BlockAccount block in _all)
        {
            long effective = block.Terms.EffectiveAt.UtcTicks;
            if (effective > nowTicks && !block.IsClosed && block.Terms.CanPayFor(feature))
            {
                next = Math.Min(next, effective);
            }
        }

        return next == long.MaxValue ? null : TimeSpan.FromTicks(next - nowTicks);
    }

    private static void AddInForce(BlockAccount block, ref long balance, ref long granted)
    {
        long remaining = block.Remaining;
        if (block.IsClosed || remaining <= 0)
        {
            return;
        }

        // The remainders fit (EnsureRoomFor); the amounts granted need not, once blocks are partly used: saturate.
        balance += remaining;
        long capacity = block.Capacity;
        granted = capacity > long.MaxValue - granted ? long.MaxValue : granted + capacity;
    }

    private void PayDebt(BlockAccount block, DateTimeOffset now)
    {
        if (_owed == 0 || _guard.IsShared)
        {
            return;
        }

        long paid = block.ConsumeUpTo(_owed);
        if (paid > 0)
        {
            Volatile.Write(ref _owed, _owed - paid);
            _guard.RecordBlockEntry(LedgerEntryKind.OverdraftSettle, this, block, -paid, now, null);
        }
    }

    private sealed class BlockOrder(BurnOrder order) : IComparer<BlockAccount>
    {
        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<BurnOrder, BlockOrder> s_cache = [];

        internal static BlockOrder For(BurnOrder order) => s_cache.GetValue(order, o => new BlockOrder(o));

        public int Compare(BlockAccount? x, BlockAccount? y) => order.Compare(x?.Terms, y?.Terms);
    }
}
