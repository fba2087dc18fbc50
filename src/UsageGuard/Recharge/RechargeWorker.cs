using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace UsageGuard;

/// <summary>
/// Recharges wallets off the request path. The hot path queues a wallet (<see cref="WalletRecharge.Check"/>); one
/// task drains the queue and starts a run per wallet, so a slow payment for one customer never holds back another's,
/// and a wallet never has two runs at once.
/// </summary>
/// <remarks>
/// A run decides (back-off, threshold, cooldown, monthly cap, amount), asks the handler for the payment, and on success
/// appends the grant through <see cref="ICreditLedger.GrantAsync"/> with the idempotency key
/// <c>recharge:{RechargeId}</c>, durably. It loops while the wallet stays below its threshold and a recharge may start;
/// when it must wait, the wallet is parked with a timer from the guard's <see cref="TimeProvider"/>.
/// </remarks>
internal sealed partial class RechargeWorker : IAsyncDisposable
{
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);

    private readonly Channel<WalletRecharge> _signals = Channel.CreateUnbounded<WalletRecharge>(new UnboundedChannelOptions { SingleReader = true });
    private readonly FrozenDictionary<(string Customer, string CreditType), RechargePlan> _plans;
    private readonly ConcurrentDictionary<Wallet, WalletRecharge> _wallets = new();
    private readonly EntitlementGuard _guard;
    private readonly IRechargeHandler _handler;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private int _busy;
    private TaskCompletionSource? _quiet;
    private Task? _loop;
    private Task? _disposing;
    private volatile bool _closing;

    internal RechargeWorker(IReadOnlyList<RechargePlan> plans, EntitlementGuard guard, IRechargeHandler handler, TimeProvider time, ILogger logger)
    {
        _plans = plans.ToFrozenDictionary(p => (p.CustomerId, p.Type.Code));
        _guard = guard;
        _handler = handler;
        _time = time;
        _logger = logger;
    }

    /// <summary>Gives a new wallet its recharge state when auto-recharge is configured for it; called once, when the wallet is created.</summary>
    internal WalletRecharge? Attach(Wallet wallet)
    {
        if (!_plans.TryGetValue((wallet.CustomerId, wallet.Type.Code), out RechargePlan? plan))
        {
            return null;
        }

        var recharge = new WalletRecharge(plan, wallet, this);
        _wallets[wallet] = recharge;
        return recharge;
    }

    /// <summary>Starts draining the queue, and checks every wallet the ledger restored: one left below its threshold is recharged now.</summary>
    internal void Start()
    {
        _loop = Task.Run(DrainAsync);
        foreach (WalletRecharge recharge in _wallets.Values)
        {
            recharge.Check();
        }
    }

    /// <summary>Queues a wallet its <see cref="WalletRecharge.Check"/> moved from idle to queued.</summary>
    internal void Signal(WalletRecharge recharge)
    {
        lock (_gate)
        {
            _busy++;
        }

        if (!_signals.Writer.TryWrite(recharge))
        {
            // The guard is stopping.
            recharge.Stop();
            Done();
        }
    }

    /// <summary>Completes when no wallet is queued or running a recharge (parked wallets wait for their timer). For tests and shutdown.</summary>
    internal Task WhenQuietAsync()
    {
        lock (_gate)
        {
            return _busy == 0 ? Task.CompletedTask : (_quiet ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    /// <summary>Finds a wallet's recharge state (tests and diagnostics).</summary>
    internal WalletRecharge? Find(Wallet wallet) => _wallets.TryGetValue(wallet, out WalletRecharge? recharge) ? recharge : null;

    /// <summary>
    /// Stops: no new recharge starts; a payment in progress gets a few seconds to finish (and its grant is appended),
    /// then its token is cancelled. A recharge cut short keeps its id: the next start asks for it again.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposing ??= StopAsync();
            return new ValueTask(_disposing);
        }
    }

    /// <summary>Builds the grant of a paid recharge: its idempotency key and metadata come from the recharge id, so appending it again replays.</summary>
    internal static CreditGrant GrantFor(RechargePlan plan, string rechargeId, long units, string paymentReference, DateTimeOffset now) => new()
    {
        CustomerId = plan.CustomerId,
        CreditType = plan.Type.Code,
        Amount = FixedPoint.ToDecimal(units, plan.Type.Scale),
        ExpiresAt = plan.ExpiresAfter is { } expiresAfter ? now + expiresAfter : null,
        Priority = plan.Priority,
        Category = plan.Category,
        CostBasis = plan.CostBasis,
        Metadata = new Dictionary<string, string>(2, StringComparer.Ordinal)
        {
            [RechargeMetadata.RechargeId] = rechargeId,
            [RechargeMetadata.PaymentReference] = paymentReference,
        },
        IdempotencyKey = RechargeMetadata.IdempotencyKeyPrefix + rechargeId,
        Durability = Durability.Durable,
    };

    /// <summary>Gets the id of a wallet's recharge number <paramref name="ordinal"/>: the same in every process, so a recharge retried after a restart keeps its payment's idempotency key.</summary>
    internal static string RechargeIdFor(string customerId, string creditType, long ordinal)
    {
        string material = string.Create(CultureInfo.InvariantCulture, $"{customerId.Length}:{customerId}|{creditType}|{ordinal}");
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(material));
        return Convert.ToHexStringLower(hash, 0, RechargePlan.RechargeIdLength / 2);
    }

    private static int MonthOf(DateTimeOffset instant)
    {
        DateTime utc = instant.UtcDateTime;
        return (utc.Year * 12) + utc.Month - 1;
    }

    private static DateTimeOffset StartOfMonth(int month) => new(month / 12, (month % 12) + 1, 1, 0, 0, 0, TimeSpan.Zero);

    private async Task StopAsync()
    {
        _closing = true;
        _signals.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        Task quiet = WhenQuietAsync();
        if (!quiet.IsCompleted)
        {
            using var graceOver = new CancellationTokenSource();
            if (await Task.WhenAny(quiet, Task.Delay(ShutdownGrace, _time, graceOver.Token)).ConfigureAwait(false) != quiet)
            {
                await _stopping.CancelAsync().ConfigureAwait(false);
            }

            await graceOver.CancelAsync().ConfigureAwait(false);
        }

        await quiet.ConfigureAwait(false);
        foreach (WalletRecharge recharge in _wallets.Values)
        {
            recharge.Stop();
        }

        _stopping.Dispose();
    }

    private async Task DrainAsync()
    {
        await foreach (WalletRecharge recharge in _signals.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (_closing || !recharge.TryBeginRun())
            {
                recharge.Stop();
                Done();
                continue;
            }

            _ = Task.Run(() => RunAsync(recharge));
        }
    }

    private void Done()
    {
        TaskCompletionSource? quiet = null;
        lock (_gate)
        {
            if (--_busy == 0)
            {
                quiet = _quiet;
                _quiet = null;
            }
        }

        quiet?.TrySetResult();
    }

    private async Task RunAsync(WalletRecharge recharge)
    {
        DateTimeOffset? wakeAt = null;
        try
        {
            if (!recharge.HistoryLoaded)
            {
                LoadHistory(recharge);
            }

            while (!_closing)
            {
                Next next = await StepAsync(recharge).ConfigureAwait(false);
                if (!next.Again)
                {
                    wakeAt = next.WakeAt;
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            // Not the handler's failures (those are expected): a fault of the engine. The wallet tries again after its back-off.
            wakeAt = _time.GetUtcNow() + recharge.Plan.RetryBackoff;
            LogRunFailed(_logger, ex, recharge.Plan.CustomerId, recharge.Plan.Type.Code);
        }
        finally
        {
            if (_closing)
            {
                recharge.Stop();
            }
            else if (wakeAt is { } at)
            {
                recharge.Park(at - _time.GetUtcNow(), _time);
            }
            else
            {
                recharge.EndIdle();
            }

            Done();
        }
    }

    /// <summary>Reads what the ledger says about the wallet's recharges: how many (the next id), this month's total (the cap) and the last one (the cooldown).</summary>
    private void LoadHistory(WalletRecharge recharge)
    {
        int month = MonthOf(_time.GetUtcNow());
        long count = 0;
        long monthTotal = 0;
        DateTimeOffset? last = null;
        Wallet wallet = recharge.Wallet;
        lock (wallet.Gate)
        {
            foreach (BlockAccount block in wallet.Blocks)
            {
                CreditBlock terms = block.Terms;
                if (!terms.Metadata.ContainsKey(RechargeMetadata.RechargeId))
                {
                    continue;
                }

                count++;
                if (MonthOf(terms.CreatedAt) == month)
                {
                    monthTotal += terms.Amount.Units;
                }

                if (last is null || terms.CreatedAt > last)
                {
                    last = terms.CreatedAt;
                }
            }
        }

        recharge.Recharges = count;
        recharge.Month = month;
        recharge.MonthTotalUnits = monthTotal;
        recharge.LastRecharge = last;
        recharge.HistoryLoaded = true;
    }

    private async ValueTask<Next> StepAsync(WalletRecharge recharge)
    {
        RechargePlan plan = recharge.Plan;
        DateTimeOffset now = _time.GetUtcNow();
        if (now < recharge.RetryAt)
        {
            return Next.Wait(recharge.RetryAt);
        }

        if (recharge.Pending is { Grant: not null } paid)
        {
            // Paid, not yet granted (the grant failed): grant it, never ask for the payment again.
            return await AppendGrantAsync(recharge, paid).ConfigureAwait(false);
        }

        long position = _guard.RechargePosition(recharge.Wallet, now);
        if (position >= plan.ThresholdUnits)
        {
            return Next.Finished;
        }

        if (recharge.LastRecharge is { } last && last + plan.Cooldown > now)
        {
            return Next.Wait(last + plan.Cooldown);
        }

        int month = MonthOf(now);
        if (month != recharge.Month)
        {
            recharge.Month = month;
            recharge.MonthTotalUnits = 0;
        }

        long left = plan.CapUnits is { } cap ? cap - recharge.MonthTotalUnits : long.MaxValue;
        if (left <= 0)
        {
            if (recharge.CapLoggedMonth != month)
            {
                recharge.CapLoggedMonth = month;
                DateTimeOffset nextMonth = StartOfMonth(month + 1);
                decimal capAmount = FixedPoint.ToDecimal(plan.CapUnits!.Value, plan.Type.Scale);
                LogCapReached(_logger, plan.CustomerId, plan.Type.Code, capAmount, nextMonth);
            }

            return Next.Wait(StartOfMonth(month + 1));
        }

        PendingRecharge? pending = recharge.Pending;
        if (pending is null)
        {
            // The gap: a fixed amount, or what tops the wallet up to its target (nothing else is in flight: one run per wallet).
            long units = plan.AmountUnits ?? checked(plan.TargetUnits!.Value - position);
            units = Math.Min(Math.Max(units, plan.MinimumUnits), left);
            string reason = string.Create(CultureInfo.InvariantCulture, $"Auto-recharge: the available balance {FixedPoint.ToDecimal(position, plan.Type.Scale)} {plan.Type.Code} is below the threshold {FixedPoint.ToDecimal(plan.ThresholdUnits, plan.Type.Scale)}.");
            pending = new PendingRecharge(RechargeIdFor(plan.CustomerId, plan.Type.Code, recharge.Recharges + 1), units, reason);
            recharge.Pending = pending;
        }

        pending.Attempts++;
        var request = new RechargeRequest
        {
            CustomerId = plan.CustomerId,
            CreditType = plan.Type.Code,
            Amount = FixedPoint.ToDecimal(pending.Units, plan.Type.Scale),
            CostBasis = plan.CostBasis,
            RechargeId = pending.RechargeId,
            Attempt = pending.Attempts,
            Reason = pending.Reason,
        };

        RechargeOutcome? outcome;
        Exception? error = null;
        try
        {
            outcome = await _handler.ChargeAsync(request, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            outcome = null;
            error = ex;
        }

        if (outcome is not { IsSuccess: true })
        {
            recharge.Failures++;
            TimeSpan backoff = plan.BackoffAfter(recharge.Failures);
            recharge.RetryAt = _time.GetUtcNow() + backoff;
            UsageGuardDiagnostics.Recharges.Add(1, new KeyValuePair<string, object?>("usageguard.outcome", "failed"));
            if (error is not null)
            {
                LogHandlerThrew(_logger, error, pending.RechargeId, plan.CustomerId, request.Amount, plan.Type.Code, pending.Attempts, backoff);
            }
            else
            {
                LogPaymentFailed(_logger, pending.RechargeId, plan.CustomerId, request.Amount, plan.Type.Code, pending.Attempts, outcome?.FailureReason ?? "the handler returned no outcome", backoff);
            }

            return Next.Wait(recharge.RetryAt);
        }

        pending.Paid(outcome.PaymentReference!, GrantFor(plan, pending.RechargeId, pending.Units, outcome.PaymentReference!, _time.GetUtcNow()));
        return await AppendGrantAsync(recharge, pending).ConfigureAwait(false);
    }

    private async ValueTask<Next> AppendGrantAsync(WalletRecharge recharge, PendingRecharge paid)
    {
        RechargePlan plan = recharge.Plan;
        GrantResult granted;
        try
        {
            // Not cancelled at shutdown: the payment is taken, so the grant must land (the writer outlives this worker).
            granted = await _guard.GrantAsync(paid.Grant!, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            recharge.Failures++;
            TimeSpan backoff = plan.BackoffAfter(recharge.Failures);
            recharge.RetryAt = _time.GetUtcNow() + backoff;
            LogGrantFailed(_logger, ex, paid.PaymentReference!, paid.RechargeId, plan.CustomerId, backoff);
            return Next.Wait(recharge.RetryAt);
        }

        CreditBlock block = granted.Block;
        recharge.Recharges++;
        int month = MonthOf(block.CreatedAt);
        if (month != recharge.Month)
        {
            recharge.Month = month;
            recharge.MonthTotalUnits = 0;
        }

        recharge.MonthTotalUnits += block.Amount.Units;
        recharge.LastRecharge = block.CreatedAt;
        recharge.Failures = 0;
        recharge.RetryAt = DateTimeOffset.MinValue;
        recharge.Pending = null;
        UsageGuardDiagnostics.Recharges.Add(1, new KeyValuePair<string, object?>("usageguard.outcome", "succeeded"));
        decimal amount = block.Amount.ToDecimal();
        LogRecharged(_logger, paid.RechargeId, plan.CustomerId, amount, plan.Type.Code, paid.PaymentReference!, block.Id);
        return Next.Proceed;
    }

    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "Auto-recharge {RechargeId}: {Amount} {CreditType} granted to customer {CustomerId} (payment {PaymentReference}, block {BlockId}).")]
    private static partial void LogRecharged(ILogger logger, string rechargeId, string customerId, decimal amount, string creditType, string paymentReference, Guid blockId);

    [LoggerMessage(EventId = 311, Level = LogLevel.Warning, Message = "Auto-recharge {RechargeId}: the payment of {Amount} {CreditType} for customer {CustomerId} failed (try {Attempt}): {Reason}. Nothing was granted; the next try, with the same id, is in {Backoff}.")]
    private static partial void LogPaymentFailed(ILogger logger, string rechargeId, string customerId, decimal amount, string creditType, int attempt, string reason, TimeSpan backoff);

    [LoggerMessage(EventId = 312, Level = LogLevel.Warning, Message = "Auto-recharge {RechargeId}: the recharge handler threw for {Amount} {CreditType} for customer {CustomerId} (try {Attempt}); counted as a failed payment. Nothing was granted; the next try, with the same id, is in {Backoff}.")]
    private static partial void LogHandlerThrew(ILogger logger, Exception exception, string rechargeId, string customerId, decimal amount, string creditType, int attempt, TimeSpan backoff);

    [LoggerMessage(EventId = 313, Level = LogLevel.Error, Message = "Auto-recharge {RechargeId}: payment {PaymentReference} was taken for customer {CustomerId}, but its grant could not be appended; the grant (not the payment) is retried in {Backoff} with the same idempotency key.")]
    private static partial void LogGrantFailed(ILogger logger, Exception exception, string paymentReference, string rechargeId, string customerId, TimeSpan backoff);

    [LoggerMessage(EventId = 314, Level = LogLevel.Information, Message = "Auto-recharge of customer {CustomerId} ({CreditType}) reached its monthly cap of {Cap}; no recharge until {NextMonth:O}.")]
    private static partial void LogCapReached(ILogger logger, string customerId, string creditType, decimal cap, DateTimeOffset nextMonth);

    [LoggerMessage(EventId = 315, Level = LogLevel.Error, Message = "The auto-recharge of customer {CustomerId} ({CreditType}) failed unexpectedly; it is tried again after its back-off.")]
    private static partial void LogRunFailed(ILogger logger, Exception exception, string customerId, string creditType);

    /// <summary>What a run does after a step: go on (after a success), stop (nothing to do), or wait until an instant.</summary>
    private readonly record struct Next(bool Again, DateTimeOffset? WakeAt)
    {
        internal static Next Proceed => new(true, null);

        internal static Next Finished => new(false, null);

        internal static Next Wait(DateTimeOffset until) => new(false, until);
    }
}
