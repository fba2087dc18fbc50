using System.Globalization;

namespace UsageGuard;

internal sealed partial class EntitlementGuard
{
    public ValueTask<ReservationResult> ReserveAsync(ReservationRequest request, CancellationToken cancellationToken = default) =>
        UsageGuardDiagnostics.Observing
            ? Observed(ReserveOperation, request, static (g, r, ct) => g.ReserveUncounted(r, ct), static r => r.Status, cancellationToken)
            : ReserveUncounted(request, cancellationToken);

    public ValueTask<ConsumeResult> ConsumeAsync(ReservationRequest request, CancellationToken cancellationToken = default) =>
        UsageGuardDiagnostics.Observing
            ? Observed(ConsumeOperation, request, static (g, r, ct) => g.ConsumeUncounted(r, ct), static r => r.Status, cancellationToken)
            : ConsumeUncounted(request, cancellationToken);

    private ValueTask<ReservationResult> ReserveUncounted(ReservationRequest request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        DateTimeOffset now = _time.GetUtcNow();
        Prepared prepared = Prepare(request, now);
        if (RefusingRequests)
        {
            return new ValueTask<ReservationResult>(new ReservationResult(ReservationStatus.StoreUnavailable, default, StoreDenialReason(), StoreScope, StoreRetryAfter, replayed: false));
        }

        if (request.IdempotencyKey is null)
        {
            if (_escrow is null)
            {
                return new ValueTask<ReservationResult>(ReserveCore(request, prepared, now));
            }

            ClearShortfall();
            ReservationResult result = ReserveCore(request, prepared, now);
            LeaseShortfall? shortfall = TakeShortfall();
            if (shortfall is not null || result.Status == ReservationStatus.InsufficientCredits)
            {
                return ReserveLeasedAsync(request, prepared, result, shortfall, cancellationToken);
            }

            return new ValueTask<ReservationResult>(result);
        }

        if (_escrow is not null)
        {
            return ReserveKeyedLeasedAsync(request, prepared, cancellationToken);
        }

        return ReserveKeyed(request, prepared, now, cancellationToken);
    }

    /// <summary>
    /// A keyed reservation with many instances: the key is claimed in the shared store first; then the leases are topped up as often
    /// as an unkeyed reservation's would be, and only the final result is recorded under the key (a lease that was short is no outcome).
    /// </summary>
    private async ValueTask<ReservationResult> ReserveKeyedLeasedAsync(ReservationRequest request, Prepared prepared, CancellationToken cancellationToken)
    {
        try
        {
            return await KeyedShared(request.CustomerId, request.IdempotencyKey!, Fingerprint("reserve", request, prepared), _time.GetUtcNow(), Durability.WriteBehind,
                async record =>
                {
                    ClearShortfall();
                    ReservationResult result = ReserveCore(request, prepared, _time.GetUtcNow());
                    LeaseShortfall? shortfall = TakeShortfall();
                    if (shortfall is not null || result.Status == ReservationStatus.InsufficientCredits)
                    {
                        result = await WithTopUpsAsync(result, shortfall, r => r.Status, () => ReserveCore(request, prepared, _time.GetUtcNow()), prepared, request.Feature, cancellationToken).ConfigureAwait(false)
                            ?? throw StoreUnreachable();
                    }

                    _writer.Write(default(EntryGroup), record(result));
                    return result;
                },
                ReserveOutcome(prepared),
                ReplayReservation,
                cancellationToken).ConfigureAwait(false);
        }
        catch (LedgerUnavailableException ex)
        {
            // The key could not be claimed, or the leases topped up: nothing ran under it, and a retry under the same key is safe.
            LogKeyClaimFailed(_logger, ex);
            return new ReservationResult(ReservationStatus.StoreUnavailable, default, StoreDenialReason(), StoreScope, StoreRetryAfter, replayed: false);
        }
    }

    // Separate from ReserveAsync so that the lambdas' closure is allocated only on the keyed path.
    private ValueTask<ReservationResult> ReserveKeyed(ReservationRequest request, Prepared prepared, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // A reservation writes no entry of its own (holds are not recorded by default), so only its record is queued.
        return Keyed(request.CustomerId, request.IdempotencyKey!, Fingerprint("reserve", request, prepared), now, Durability.WriteBehind,
            (slot, record) =>
            {
                ReservationResult result = ReserveCore(request, prepared, now);
                _writer.Write(default(EntryGroup), record(result));
                return result;
            },
            ReserveOutcome(prepared),
            ReplayReservation,
            cancellationToken);
    }

    private ValueTask<ConsumeResult> ConsumeUncounted(ReservationRequest request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        DateTimeOffset now = _time.GetUtcNow();
        Prepared prepared = Prepare(request, now);
        if (RefusingRequests)
        {
            return new ValueTask<ConsumeResult>(new ConsumeResult(ReservationStatus.StoreUnavailable, default, StoreDenialReason(), StoreScope, StoreRetryAfter, replayed: false));
        }

        if (request.IdempotencyKey is null)
        {
            if (_escrow is not null)
            {
                ClearShortfall();
            }

            ConsumeResult result = ConsumeCore(request, prepared, now, null);
            LeaseShortfall? shortfall = _escrow is null ? null : TakeShortfall();
            if (_escrow is not null && (shortfall is not null || result.Status == ReservationStatus.InsufficientCredits))
            {
                return ConsumeLeasedAsync(request, prepared, result, shortfall, cancellationToken);
            }

            return result.IsAdmitted ? Durable(result, prepared.Durability, cancellationToken) : new ValueTask<ConsumeResult>(result);
        }

        if (_escrow is not null)
        {
            return ConsumeKeyedLeasedAsync(request, prepared, cancellationToken);
        }

        return ConsumeKeyed(request, prepared, now, cancellationToken);
    }

    /// <summary>The same for a keyed consumption: an admitted attempt records the key with its entries, a final refusal on its own.</summary>
    private async ValueTask<ConsumeResult> ConsumeKeyedLeasedAsync(ReservationRequest request, Prepared prepared, CancellationToken cancellationToken)
    {
        try
        {
            return await KeyedShared(request.CustomerId, request.IdempotencyKey!, Fingerprint("consume", request, prepared), _time.GetUtcNow(), prepared.Durability,
                async record =>
                {
                    Func<ConsumeResult, IdempotencyRecord?> admitted = r => r.IsAdmitted ? record(r) : null;
                    ClearShortfall();
                    ConsumeResult result = ConsumeCore(request, prepared, _time.GetUtcNow(), admitted);
                    LeaseShortfall? shortfall = TakeShortfall();
                    if (shortfall is not null || result.Status == ReservationStatus.InsufficientCredits)
                    {
                        result = await WithTopUpsAsync(result, shortfall, r => r.Status, () => ConsumeCore(request, prepared, _time.GetUtcNow(), admitted), prepared, request.Feature, cancellationToken).ConfigureAwait(false)
                            ?? throw StoreUnreachable();
                    }

                    if (!result.IsAdmitted)
                    {
                        _writer.Write(default(EntryGroup), record(result));
                    }

                    return result;
                },
                ConsumeOutcome(prepared),
                ReplayConsume,
                cancellationToken).ConfigureAwait(false);
        }
        catch (LedgerUnavailableException ex)
        {
            LogKeyClaimFailed(_logger, ex);
            return new ConsumeResult(ReservationStatus.StoreUnavailable, default, StoreDenialReason(), StoreScope, StoreRetryAfter, replayed: false);
        }
    }

    // Separate from ConsumeAsync so that the lambdas' closure is allocated only on the keyed path.
    private ValueTask<ConsumeResult> ConsumeKeyed(ReservationRequest request, Prepared prepared, DateTimeOffset now, CancellationToken cancellationToken)
    {
        return Keyed(request.CustomerId, request.IdempotencyKey!, Fingerprint("consume", request, prepared), now, prepared.Durability,
            (slot, record) => ConsumeCore(request, prepared, now, record),
            ConsumeOutcome(prepared),
            ReplayConsume,
            cancellationToken);
    }

    private static Func<ReservationResult, IdempotencyOutcome> ReserveOutcome(Prepared prepared) => r => new IdempotencyOutcome
    {
        Operation = "reserve",
        Status = (int)r.Status,
        Scale = prepared.Wallet.Type.Scale,
        ReservationId = r.Reservation.Id,
        DeadlineTicks = r.IsAdmitted ? r.Reservation.ExpiresAt.UtcTicks : 0,
        Held = r.IsAdmitted ? r.Reservation.Held.Units : 0,
        Reason = r.Reason,
        Scope = r.Scope,
        RetryAfterTicks = r.RetryAfter?.Ticks,
    };

    private static Func<ConsumeResult, IdempotencyOutcome> ConsumeOutcome(Prepared prepared) => r => new IdempotencyOutcome
    {
        Operation = "consume",
        Status = (int)r.Status,
        Scale = prepared.Wallet.Type.Scale,
        ReservationId = r.Settlement.ReservationId,
        Held = r.Settlement.Held.Units,
        Actual = r.Settlement.Actual.Units,
        Charged = r.Settlement.Charged.Units,
        Released = r.Settlement.Released.Units,
        Overdrawn = r.Settlement.Overdrawn.Units,
        Overage = r.Settlement.Overage.Units,
        Waived = r.Settlement.Waived.Units,
        Reason = r.Reason,
        Scope = r.Scope,
        RetryAfterTicks = r.RetryAfter?.Ticks,
    };

    private Prepared Prepare(in ReservationRequest request, DateTimeOffset now)
    {
        ValidateId(request.CustomerId, nameof(request.CustomerId));
        ValidateOptionalId(request.CreditType, nameof(request.CreditType));
        ValidateOptionalId(request.Subject, nameof(request.Subject));
        ValidateOptionalId(request.Feature, nameof(request.Feature));
        ValidateOptionalId(request.Model, nameof(request.Model));
        ValidateOptionalId(request.SessionId, nameof(request.SessionId));
        ValidateOptionalId(request.RequestId, nameof(request.RequestId));
        ValidateOptionalId(request.IdempotencyKey, nameof(request.IdempotencyKey));
        CatalogSnapshot? catalog = _catalog?.Current;
        ResolvedRate rate = default;
        bool unknownModel = false;
        string? creditType = request.CreditType;
        if (request.Tokens is { } tokens)
        {
            if (request.Amount != 0)
            {
                throw new ArgumentException("A request is priced either by Amount or by Tokens, not both.", nameof(request.Tokens));
            }

            if (catalog is null)
            {
                throw new InvalidOperationException("Pricing tokens needs a catalog with model rates: call UseCatalog(...) on the UsageGuard builder.");
            }

            if (request.Model is null)
            {
                throw new ArgumentException("Tokens are priced with the rate of a model: set Model.", nameof(request.Model));
            }

            if (catalog.RatesFor(request.CustomerId).TryResolve(request.Model, out rate))
            {
                if (creditType is not null && creditType != rate.CreditType)
                {
                    throw new ArgumentException($"The rate of '{request.Model}' is in '{rate.CreditType}', not in the requested credit type '{creditType}'.", nameof(request.CreditType));
                }

                creditType = rate.CreditType;
            }
            else
            {
                unknownModel = true;
            }
        }
        else if (catalog is not null && request.Model is not null && catalog.UnknownModels == UnknownPolicy.Deny && !catalog.RatesFor(request.CustomerId).TryResolve(request.Model, out _))
        {
            unknownModel = true;
        }

        int typeIndex = TypeIndex(creditType);
        int scale = _types[typeIndex].Scale;
        CatalogFeature? feature = null;
        if (catalog is not null && request.Feature is not null)
        {
            catalog.Features.TryGetValue(request.Feature, out feature);
        }

        long quantity = request.Quantity ?? (request.Tokens is { } t ? Math.Max(1, t.TotalTokens) : 1);
        if (quantity <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(request.Quantity), request.Quantity, "The quantity must be positive.");
        }

        long units;
        MeterWindow? tierWindow = null;
        if (request.Tokens is { } priced)
        {
            long prior = 0;
            if (!unknownModel && rate.Rate!.Price.IsTiered)
            {
                // The hold is priced on the tier the period's count is at now; the settlement places the actual tokens exactly.
                tierWindow = TierWindow(catalog!, request.CustomerId, rate.Rate, now.UtcTicks);
                prior = tierWindow.Consumed;
            }

            units = unknownModel ? 0 : Pricing.Price(rate, priced, prior, scale).Units;
        }
        else if (request.Amount == 0 && feature is { PricePerUnitUnits: long perUnit })
        {
            if (feature.CreditType != _types[typeIndex].Code)
            {
                throw new ArgumentException($"The feature '{feature.Id}' is priced in '{feature.CreditType}', not in '{_types[typeIndex].Code}'.", nameof(request.CreditType));
            }

            units = checked(quantity * perUnit);
        }
        else if (request.Amount == 0 && catalog is not null && request.Feature is not null)
        {
            // A metered limit or a gate with nothing to pay: the reservation holds no credits.
            units = 0;
        }
        else
        {
            units = PositiveUnits(request.Amount, scale, nameof(request.Amount));
        }

        long ttl = _defaultTtlTicks;
        if (request.Ttl is { } requested)
        {
            if (requested <= TimeSpan.Zero || requested.Ticks > _maxTtlTicks)
            {
                throw new ArgumentOutOfRangeException(nameof(request.Ttl), requested, $"The TTL must be positive and at most {_options.MaxReservationTtl} (UsageGuardOptions.MaxReservationTtl).");
            }

            ttl = requested.Ticks;
        }

        SettlementPolicy policy = request.OverrunPolicy ?? _options.DefaultOverrunPolicy;
        if ((uint)policy > (uint)SettlementPolicy.Overdraft)
        {
            throw new ArgumentOutOfRangeException(nameof(request.OverrunPolicy), policy, "Unknown settlement policy.");
        }

        Durability durability = request.Durability ?? _options.SettlementDurability;
        if ((uint)durability > (uint)Durability.WriteBehind)
        {
            throw new ArgumentOutOfRangeException(nameof(request.Durability), durability, "Unknown durability.");
        }

        if (catalog is not null)
        {
            EnsureAllowances(catalog, request.CustomerId, now.UtcTicks);
        }

        if (request.Tags is { } tags)
        {
            for (int i = 0; i < tags.Count; i++)
            {
                ValidateId(tags[i], nameof(request.Tags));
            }
        }

        CustomerAccount account = CustomerFor(request.CustomerId, catalog);
        Wallet wallet = account.Wallet(typeIndex);
        return new Prepared(wallet, units, ttl, policy, durability, catalog, rate, tierWindow, quantity, unknownModel, request.Quantity is null && request.Tokens is not null, account.Governance, typeIndex);
    }

    /// <param name="request">The request.</param>
    /// <param name="prepared">The validated request.</param>
    /// <param name="now">The instant of the reservation.</param>
    /// <param name="publish">
    /// Whether the reservation becomes active, visible to TTL reclaim. A consumption settles its reservation at once
    /// and passes <see langword="false"/>: a reservation nobody else can see cannot be reclaimed (and recycled)
    /// between its admission and its settlement, however the clock moves.
    /// </param>
    private ReservationResult ReserveCore(in ReservationRequest request, in Prepared prepared, DateTimeOffset now, bool publish = true)
    {
        long nowTicks = now.UtcTicks;
        ReservationState state = _reservations.Rent();
        long id = Interlocked.Increment(ref _lastReservationId);
        long deadline = nowTicks + prepared.TtlTicks;
        state.Prepare(id, prepared.Wallet, request, prepared.Policy, prepared.Durability, nowTicks, deadline);
        long units = prepared.Units;
        if (prepared.Catalog is { } catalog)
        {
            state.PrepareCatalog(catalog, prepared.Rate, prepared.TierWindow, prepared.QuantityFromTokens);
            if (prepared.UnknownModel)
            {
                _reservations.Return(state);
                return new ReservationResult(ReservationStatus.UnknownModel, default, UnknownModelReason, "model", null, replayed: false);
            }

            if (request.Feature is not null)
            {
                ReservationStatus admitted = AdmitFeature(request, prepared, nowTicks, state, out long overage, out decimal? overageRate, out string? reason, out string? scope);
                if (admitted != ReservationStatus.Admitted)
                {
                    _reservations.Return(state);
                    return new ReservationResult(admitted, default, reason, scope, null, replayed: false);
                }

                if (overage > 0 && overageRate is decimal perUnit)
                {
                    state.OverageCredits = Pricing.OveragePrice(overage, perUnit, prepared.Wallet.Type.Scale).Units;
                    units = checked(units + state.OverageCredits);
                }
            }
        }

        if (prepared.Governance is { } governance)
        {
            ReservationStatus limited = AdmitLimits(request, governance, prepared.TypeIndex, units, nowTicks, state, out string? reason, out string? scope, out TimeSpan? wait, out BudgetDenial? denial);
            if (limited != ReservationStatus.Admitted)
            {
                state.Meter?.Release(state.MeterHeld);
                _reservations.Return(state);
                return new ReservationResult(limited, default, reason, scope, wait, replayed: false, denial);
            }
        }

        TimeSpan? retryAfter = null;
        if (units == 0
            || prepared.Wallet.TryHoldFast(units, request.Feature, nowTicks, state)
            || HoldSlow(prepared.Wallet, units, request.Feature, now, state, out retryAfter))
        {
            if (publish)
            {
                state.Activate();
                _reservations.NoteDeadline(deadline);
            }

            if (_options.RecordHolds)
            {
                for (int i = 0; i < state.HoldCount; i++)
                {
                    ref readonly ReservationState.Hold hold = ref state.HoldAt(i);
                    RecordBlockEntry(LedgerEntryKind.Reserve, prepared.Wallet, hold.Block, hold.Units, now, state);
                }
            }

            var handle = new Reservation(state, id, CreditAmount.FromUnits(units, prepared.Wallet.Type.Scale), new DateTimeOffset(deadline, TimeSpan.Zero));
            NoteSpent(prepared.Wallet);
            return new ReservationResult(ReservationStatus.Admitted, handle, null, null, null, replayed: false);
        }

        // All or nothing (invariant I4): the feature's window and the budgets give back what they held for a request the wallet cannot pay.
        state.Meter?.Release(state.MeterHeld);
        RollBackLimits(state);
        _reservations.Return(state);
        NoteSpent(prepared.Wallet);
        return new ReservationResult(ReservationStatus.InsufficientCredits, default, InsufficientReason, prepared.Wallet.Scope, retryAfter, replayed: false);
    }

    private bool HoldSlow(Wallet wallet, long units, string? feature, DateTimeOffset now, ReservationState state, out TimeSpan? retryAfter)
    {
        retryAfter = null;
        lock (wallet.Gate)
        {
            wallet.Sweep(now);
            if (HoldAcross(wallet, units, feature, state))
            {
                return true;
            }
        }

        // Short of credits: holds abandoned past their TTL may be what is missing (invariant I5, lazily).
        bool reclaimed = _reservations.ReclaimExpired(now.UtcTicks) > 0;
        lock (wallet.Gate)
        {
            if (reclaimed && HoldAcross(wallet, units, feature, state))
            {
                return true;
            }

            retryAfter = wallet.NextActivation(feature, now.UtcTicks);
        }

        return false;
    }

    /// <summary>Holds across the wallet's blocks, and against the offline allowance in an offline attempt (<see cref="t_offline"/>). Caller holds the wallet's gate.</summary>
    private static bool HoldAcross(Wallet wallet, long units, string? feature, ReservationState state) =>
        t_offline is { } offline ? wallet.HoldAcrossOffline(units, feature, state, offline) : wallet.HoldAcross(units, feature, state);

    /// <summary>Reserves and settles at once; the settlement's entries and the idempotency record go to the writer as one command.</summary>
    private ConsumeResult ConsumeCore(in ReservationRequest request, in Prepared prepared, DateTimeOffset now, Func<ConsumeResult, IdempotencyRecord?>? record)
    {
        ReservationResult reserved = ReserveCore(request, prepared, now, publish: false);
        ConsumeResult result;
        var entries = default(EntryGroup);
        if (!reserved.IsAdmitted)
        {
            result = new ConsumeResult(reserved.Status, default, reserved.Reason, reserved.Scope, reserved.RetryAfter, replayed: false, reserved.Budget);
        }
        else
        {
            ReservationState state = reserved.Reservation.State!;
            TokenSettlement? priced = request.Tokens is { } used ? new TokenSettlement(used) : null;
            SettlementResult settled = state.TierWindow is not null && request.Tokens is { } tokens
                ? SettleCore(state, PriceTokens(state, tokens, prepared.Wallet.Type.Scale), now, out entries, null, tokens.TotalTokens, tokensKnown: true, priced)
                : SettleCore(state, state.HeldUnits, now, out entries, priced: priced);
            result = new ConsumeResult(ReservationStatus.Admitted, settled, null, null, null, replayed: false);
        }

        _writer.Write(entries, record?.Invoke(result));
        return result;
    }

    private ReservationResult ReplayReservation(object outcome)
    {
        if (outcome is ReservationResult live)
        {
            return new ReservationResult(live.Status, live.Reservation, live.Reason, live.Scope, live.RetryAfter, replayed: true, live.Budget);
        }

        var stored = (IdempotencyOutcome)outcome;
        Reservation handle = stored.Status == (int)ReservationStatus.Admitted
            ? new Reservation(_gone, stored.ReservationId, CreditAmount.FromUnits(stored.Held, stored.Scale), new DateTimeOffset(stored.DeadlineTicks, TimeSpan.Zero))
            : default;
        return new ReservationResult((ReservationStatus)stored.Status, handle, stored.Reason, stored.Scope, RetryAfter(stored), replayed: true);
    }

    private static ConsumeResult ReplayConsume(object outcome)
    {
        if (outcome is ConsumeResult live)
        {
            return new ConsumeResult(live.Status, Replayed(live.Settlement), live.Reason, live.Scope, live.RetryAfter, replayed: true, live.Budget);
        }

        var stored = (IdempotencyOutcome)outcome;
        int scale = stored.Scale;
        var settlement = new SettlementResult(
            stored.ReservationId,
            CreditAmount.FromUnits(stored.Held, scale),
            CreditAmount.FromUnits(stored.Actual, scale),
            CreditAmount.FromUnits(stored.Charged, scale),
            CreditAmount.FromUnits(stored.Released, scale),
            CreditAmount.FromUnits(stored.Overdrawn, scale),
            CreditAmount.FromUnits(stored.Overage, scale),
            CreditAmount.FromUnits(stored.Waived, scale),
            replayed: true);
        return new ConsumeResult((ReservationStatus)stored.Status, settlement, stored.Reason, stored.Scope, RetryAfter(stored), replayed: true);
    }

    private static SettlementResult Replayed(SettlementResult s) =>
        new(s.ReservationId, s.Held, s.Actual, s.Charged, s.Released, s.Overdrawn, s.Overage, s.Waived, replayed: true);

    private static TimeSpan? RetryAfter(IdempotencyOutcome stored) =>
        stored.RetryAfterTicks is { } ticks ? TimeSpan.FromTicks(ticks) : null;

    /// <remarks>Tags join the fingerprint only when the request has some, so the fingerprints of untagged requests (and the keys already stored) stay as they were.</remarks>
    private static string Fingerprint(string operation, in ReservationRequest request, in Prepared prepared)
    {
        string customer = request.CustomerId;
        string type = prepared.Wallet.Type.Code;
        string units = prepared.Units.ToString(CultureInfo.InvariantCulture);
        string ttl = prepared.TtlTicks.ToString(CultureInfo.InvariantCulture);
        string policy = ((int)prepared.Policy).ToString(CultureInfo.InvariantCulture);
        return request.Tags is { Count: > 0 } tags
            ? IdempotencyTable.Fingerprint(operation, [customer, type, units, request.Subject, request.Feature, request.Model, request.SessionId, ttl, policy, "tags", string.Join('\u001e', tags)])
            : IdempotencyTable.Fingerprint(operation, [customer, type, units, request.Subject, request.Feature, request.Model, request.SessionId, ttl, policy]);
    }

    private static IdempotencyRecord Record(string customerId, string key, string fingerprint, DateTimeOffset now, IdempotencyOutcome outcome) =>
        new() { CustomerId = customerId, Key = key, Fingerprint = fingerprint, CreatedAt = now, Outcome = outcome.Encode() };

    private readonly record struct Prepared(
        Wallet Wallet,
        long Units,
        long TtlTicks,
        SettlementPolicy Policy,
        Durability Durability,
        CatalogSnapshot? Catalog = null,
        ResolvedRate Rate = default,
        MeterWindow? TierWindow = null,
        long Quantity = 1,
        bool UnknownModel = false,
        bool QuantityFromTokens = false,
        CustomerGovernance? Governance = null,
        int TypeIndex = 0);
}
