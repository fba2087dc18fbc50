namespace UsageGuard;

internal sealed partial class EntitlementGuard
{
    public ValueTask<SettlementResult> SettleAsync(Reservation reservation, decimal actual, CancellationToken cancellationToken = default) =>
        UsageGuardDiagnostics.Source.HasListeners()
            ? TracedSettle(this, reservation, actual, static (g, r, a, ct) => g.SettleUntraced(r, a, ct), cancellationToken)
            : SettleUntraced(reservation, actual, cancellationToken);

    private ValueTask<SettlementResult> SettleUntraced(Reservation reservation, decimal actual, CancellationToken cancellationToken)
    {
        ReservationState state = reservation.State ?? throw new ArgumentException("This reservation handle is the default value; only handles returned by an admitted reservation can be settled.", nameof(reservation));
        if (actual < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(actual), actual, "The actual cost may not be negative; settle with zero to charge nothing.");
        }

        long units = FixedPoint.ToUnits(actual, reservation.Held.Scale, nameof(actual));
        DateTimeOffset now = _time.GetUtcNow();
        Begin(state, reservation.Id, now);
        Durability durability = state.Durability;
        SettlementResult result = SettleCore(state, units, now, out EntryGroup entries);
        _writer.Write(entries, null);
        return Durable(result, durability, cancellationToken);
    }

    public ValueTask<SettlementResult> SettleAsync(Reservation reservation, TokenUsage actual, CancellationToken cancellationToken = default) =>
        SettleAsync(reservation, new TokenSettlement(actual), cancellationToken);

    public ValueTask<SettlementResult> SettleAsync(Reservation reservation, TokenSettlement settlement, CancellationToken cancellationToken = default) =>
        UsageGuardDiagnostics.Source.HasListeners()
            ? TracedSettle(this, reservation, settlement, static (g, r, s, ct) => g.SettleUntraced(r, s, ct), cancellationToken)
            : SettleUntraced(reservation, settlement, cancellationToken);

    private ValueTask<SettlementResult> SettleUntraced(Reservation reservation, TokenSettlement settlement, CancellationToken cancellationToken)
    {
        ReservationState state = reservation.State ?? throw new ArgumentException("This reservation handle is the default value; only handles returned by an admitted reservation can be settled.", nameof(reservation));
        if (state.StatusOf(reservation.Id) == ReservationState.Active && state.Rate == default)
        {
            throw new ArgumentException("Only a reservation priced from Tokens can be settled with tokens; settle this one with an amount.", nameof(reservation));
        }

        if (settlement.Model is { Length: 0 })
        {
            throw new ArgumentException("The answering model's id is empty; leave Model null to price with the reservation's rate.", nameof(settlement));
        }

        TokenUsage actual = settlement.Usage;
        Pricing.ValidateCounts(actual);
        DateTimeOffset now = _time.GetUtcNow();
        Begin(state, reservation.Id, now);

        long units = PriceTokens(state, actual, reservation.Held.Scale, settlement.Model);
        state.SettleReason = settlement.Estimated ? TokenSettlement.EstimatedReason : null;
        Durability durability = state.Durability;
        long tokens = actual.TotalTokens;
        SettlementResult result = SettleCore(state, units, now, out EntryGroup entries, state.QuantityFromTokens ? tokens : null, tokens, tokensKnown: true, settlement);
        _writer.Write(entries, null);
        return Durable(result, durability, cancellationToken);
    }

    /// <summary>
    /// Prices settled tokens with the rate the reservation was priced with: one request, one catalog version, even across a reload.
    /// A tiered rate places them on its tiers by the order settlements count them in the period: each owns the range it added.
    /// </summary>
    private static long PriceTokens(ReservationState state, TokenUsage actual, int scale, string? answeredBy = null)
    {
        if (answeredBy is not null && answeredBy != state.Model && state.TierWindow is null && state.Catalog is { } catalog
            && catalog.RatesFor(state.Wallet.CustomerId).TryResolve(answeredBy, out ResolvedRate answering)
            && answering.Rate != state.Rate.Rate && answering.CreditType == state.Rate.CreditType && !answering.Rate!.Price.IsTiered)
        {
            // The model that answered has its own untiered rate in the same credit type: that is what the call cost.
            return checked(Pricing.Price(answering, actual, 0, scale).Units + state.OverageCredits);
        }

        long prior = state.TierWindow?.Count(actual.TotalTokens) ?? 0;
        return checked(Pricing.Price(state.Rate, actual, prior, scale).Units + state.OverageCredits);
    }

    private static LedgerEntry UsageEntry(ReservationState state, in MeteredUsage usage, DateTimeOffset now) =>
        Entry(LedgerEntryKind.Usage, state.Wallet, null, 0, now, state) with { Usage = usage };

    public ValueTask ReleaseAsync(Reservation reservation, CancellationToken cancellationToken = default)
    {
        ReservationState state = reservation.State ?? throw new ArgumentException("This reservation handle is the default value; only handles returned by an admitted reservation can be released.", nameof(reservation));
        DateTimeOffset now = _time.GetUtcNow();
        Begin(state, reservation.Id, now);
        ReleaseHolds(state, ReservationState.Released, now);
        return ValueTask.CompletedTask;
    }

    /// <summary>Gives back every hold of a reservation this thread has begun, then recycles it.</summary>
    internal void ReleaseHolds(ReservationState state, int status, DateTimeOffset timestamp)
    {
        state.Meter?.Release(state.MeterHeld);
        ReleaseLimits(state);
        Wallet wallet = state.Wallet;
        if (state.OfflineUnits > 0)
        {
            lock (wallet.Gate)
            {
                wallet.SettleOffline(state.OfflineUnits, 0);
            }
        }

        for (int i = 0; i < state.HoldCount; i++)
        {
            ref readonly ReservationState.Hold hold = ref state.HoldAt(i);
            long lost = hold.Block.Settle(hold.Units, 0);
            if (_options.RecordHolds)
            {
                RecordBlockEntry(LedgerEntryKind.Release, wallet, hold.Block, hold.Units, timestamp, state);
            }

            if (lost > 0)
            {
                // The block closed while held: what the hold gives back expires (or is voided) now.
                RecordBlockEntry(hold.Block.ClosedAs, wallet, hold.Block, -lost, timestamp, state);
            }
        }

        state.Finish(status);
        _reservations.Return(state);
    }

    /// <summary>Moves a reservation from active to completing, or explains why it cannot.</summary>
    private void Begin(ReservationState state, long id, DateTimeOffset now)
    {
        if (!state.TryBegin(id))
        {
            string why = state.StatusOf(id) switch
            {
                ReservationState.Settled => "it was already settled",
                ReservationState.Released => "it was already released",
                ReservationState.Expired => "it expired at its TTL and its hold was released",
                ReservationState.Completing => "it is being settled or released by another call",
                _ => "it was already settled, released, or expired",
            };
            throw new ReservationStateException(id, $"Reservation {id} cannot be settled or released: {why}. Reserve again if the work still has to be paid for.");
        }

        if (now.UtcTicks >= state.DeadlineTicks)
        {
            ReleaseHolds(state, ReservationState.Expired, new DateTimeOffset(state.DeadlineTicks, TimeSpan.Zero));
            throw new ReservationStateException(id, $"Reservation {id} expired at its TTL ({new DateTimeOffset(state.DeadlineTicks, TimeSpan.Zero):O}) and its hold was released. Reserve with a longer TTL for longer work.");
        }
    }

    /// <summary>Charges a begun reservation, releases the rest, applies the overrun policy, and recycles it.</summary>
    private SettlementResult SettleCore(ReservationState state, long actual, DateTimeOffset now, out EntryGroup entries, long? actualQuantity = null, long tokens = 0, bool tokensKnown = false, TokenSettlement? priced = null)
    {
        entries = default;
        if (state.Meter is { } meter)
        {
            // The usage entries go first: the ledger restores each window's count from them, whatever the credits do below.
            long used = actualQuantity ?? state.MeterHeld;
            meter.Settle(state.MeterHeld, used);
            if (used > 0)
            {
                entries.Add(UsageEntry(state, meter.Usage(state.MeterKey!, used), now));
            }
        }

        if (state.TierWindow is { } tier && tokens > 0)
        {
            entries.Add(UsageEntry(state, tier.Usage(state.Rate.Rate!.Meter, tokens), now));
        }

        Wallet wallet = state.Wallet;
        long remaining = actual;
        decimal? price = null;
        long charged = 0;
        long released = 0;
        for (int i = 0; i < state.HoldCount; i++)
        {
            ref readonly ReservationState.Hold hold = ref state.HoldAt(i);
            long use = Math.Min(hold.Units, remaining);
            remaining -= use;
            charged += use;
            released += hold.Units - use;
            long lost = hold.Block.Settle(hold.Units, use);
            if (use > 0)
            {
                entries.Add(Entry(LedgerEntryKind.Settle, wallet, hold.Block, -use, now, state));
                AddPrice(ref price, hold.Block, use, wallet.Type.Scale);
            }

            if (_options.RecordHolds && hold.Units > use)
            {
                entries.Add(Entry(LedgerEntryKind.Release, wallet, hold.Block, hold.Units - use, now, state));
            }

            if (lost > 0)
            {
                entries.Add(Entry(hold.Block.ClosedAs, wallet, hold.Block, -lost, now, state));
            }
        }

        long overdrawn = 0;
        if (state.OfflineUnits > 0)
        {
            // Admitted beyond the leases while the store could not be reached: what it used is debt, the rest goes back to the allowance.
            lock (wallet.Gate)
            {
                overdrawn = wallet.SettleOffline(state.OfflineUnits, remaining);
            }

            remaining -= overdrawn;
            released += state.OfflineUnits - overdrawn;
            if (overdrawn > 0)
            {
                entries.Add(Entry(LedgerEntryKind.Overdraft, wallet, null, -overdrawn, now, state));
            }
        }

        long overage = 0;
        long waived = 0;
        bool closed = false;
        if (remaining > 0)
        {
            if (state.Policy == SettlementPolicy.Reject)
            {
                overage = remaining;
            }
            else
            {
                // Holds abandoned past their TTL may be what the overrun needs (invariant I5, lazily).
                _reservations.ReclaimExpired(now.UtcTicks);
                var used = new List<ReservationState.Hold>();
                lock (wallet.Gate)
                {
                    wallet.Sweep(now);
                    long taken = wallet.ConsumeUpTo(remaining, state.Feature, used);
                    charged += taken;
                    remaining -= taken;
                    long debt = 0;
                    if (state.Policy == SettlementPolicy.Overdraft)
                    {
                        debt = wallet.Overdraw(remaining);
                        overdrawn += debt;
                        overage = remaining - debt;
                    }
                    else
                    {
                        waived = remaining;
                    }

                    foreach (ReservationState.Hold use in used)
                    {
                        entries.Add(Entry(LedgerEntryKind.Settle, wallet, use.Block, -use.Units, now, state));
                        AddPrice(ref price, use.Block, use.Units, wallet.Type.Scale);
                    }

                    if (debt > 0)
                    {
                        entries.Add(Entry(LedgerEntryKind.Overdraft, wallet, null, -debt, now, state));
                    }

                    if (overage > 0)
                    {
                        entries.Add(Entry(LedgerEntryKind.Overage, wallet, null, overage, now, state));
                    }

                    // Queued under the wallet lock: debt taken here must precede, in the ledger, any grant that pays it. The settlement
                    // is closed first, so that all its entries go as one command and stay consecutive in the ledger.
                    Close(state, ref entries, actual, charged, overdrawn, overage, waived, price, tokens, tokensKnown, priced, now);
                    _writer.Write(entries, null);
                    entries = default;
                    closed = true;
                }

                NoteSpent(wallet);
            }

            if (overage > 0 && state.Policy == SettlementPolicy.Reject)
            {
                entries.Add(Entry(LedgerEntryKind.Overage, wallet, null, overage, now, state));
            }
        }

        if (!closed)
        {
            Close(state, ref entries, actual, charged, overdrawn, overage, waived, price, tokens, tokensKnown, priced, now);
        }

        if (charged + overdrawn > 0)
        {
            UsageGuardDiagnostics.CreditsConsumed.Add(charged + overdrawn, new KeyValuePair<string, object?>(UsageGuardDiagnostics.CreditTypeTag, wallet.Type.Code));
        }

        int scale = wallet.Type.Scale;
        var result = new SettlementResult(
            state.Id,
            CreditAmount.FromUnits(state.HeldUnits, scale),
            CreditAmount.FromUnits(actual, scale),
            CreditAmount.FromUnits(charged, scale),
            CreditAmount.FromUnits(released, scale),
            CreditAmount.FromUnits(overdrawn, scale),
            CreditAmount.FromUnits(overage, scale),
            CreditAmount.FromUnits(waived, scale),
            replayed: false,
            state.Catalog?.Id);
        state.Finish(ReservationState.Settled);
        _reservations.Return(state);
        return result;
    }

    /// <summary>
    /// Ends a settlement's entries: what it counted toward budgets, and its <see cref="SettlementRecord"/> (its usage event), on its
    /// last entry, or on one entry of their own when it wrote none.
    /// </summary>
    private void Close(ReservationState state, ref EntryGroup entries, long actual, long charged, long overdrawn, long overage, long waived, decimal? price, long tokens, bool tokensKnown, TokenSettlement? priced, DateTimeOffset now)
    {
        // Recorded so that a restart (and a past-window query) counts what the budgets counted, in the windows that held the request.
        BudgetedUsage? budgeted = state.LimitHoldCount > 0 ? SettleLimits(state, actual - waived, tokens, tokensKnown, now.UtcTicks) : null;
        int scale = state.Wallet.Type.Scale;
        decimal? vendorCost = null;
        string? currency = null;
        if (priced is { } p)
        {
            // What the model that answered costs, when it has a rate of its own in the same credit type; otherwise the requested model's.
            ResolvedRate costed = state.Rate;
            if (p.Model is { } answeringModel && answeringModel != state.Model && state.Catalog is { } catalog
                && catalog.RatesFor(state.Wallet.CustomerId).TryResolve(answeringModel, out ResolvedRate answering) && answering.CreditType == state.Rate.CreditType)
            {
                costed = answering;
            }

            if (costed.CostCurrency is { } costCurrency)
            {
                vendorCost = Pricing.Cost(costed, p.Usage, VendorCostScale);
                currency = costCurrency;
            }
        }

        var record = new SettlementRecord
        {
            AdmittedAt = new DateTimeOffset(state.AdmittedTicks, TimeSpan.Zero),
            Charged = CreditAmount.FromUnits(charged, scale),
            Overdrawn = CreditAmount.FromUnits(overdrawn, scale),
            Overage = CreditAmount.FromUnits(overage, scale),
            Waived = CreditAmount.FromUnits(waived, scale),
            Tokens = priced?.Usage,
            Estimated = priced is { Estimated: true },
            AnsweredModel = priced?.Model is { } answered && answered != state.Model ? answered : null,
            SubjectPath = SubjectPathOf(state.Wallet.CustomerId, state.Subject),
            Price = price is { } sold ? decimal.Round(sold, SpendRollup.MoneyScale, MidpointRounding.AwayFromZero) : null,
            VendorCost = vendorCost,
            CostCurrency = currency,
        };
        if (!entries.CloseWith(budgeted, record))
        {
            LedgerEntryKind kind = budgeted is null ? LedgerEntryKind.Settled : LedgerEntryKind.Budgeted;
            entries.Add(Entry(kind, state.Wallet, null, 0, now, state) with { Budgeted = budgeted, Settlement = record });
        }
    }

    /// <summary>The decimal places of a settlement's vendor cost: a millionth of a millionth of a cent is below any vendor's price step.</summary>
    private const int VendorCostScale = SpendRollup.MoneyScale;

    /// <summary>Adds what credits taken from a block were sold at (its cost basis per credit) to a settlement's price.</summary>
    private static void AddPrice(ref decimal? price, BlockAccount block, long units, int scale)
    {
        if (block.Terms.CostBasis is { } basis)
        {
            price = (price ?? 0m) + (basis * FixedPoint.ToDecimal(units, scale));
        }
    }

    /// <summary>The subject's path in its customer's subject tree (<c>org/team/user</c>), or the subject as given when it is not a node.</summary>
    private string? SubjectPathOf(string customerId, string? subject) =>
        subject is not null && _governance.TryGetValue(customerId, out CustomerGovernance? governance) ? governance.Policy.PathOf(subject) : subject;
}
