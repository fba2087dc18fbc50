namespace UsageGuard;

/// <summary>
/// One recharged wallet's state: the hot path's trigger, and what the worker remembers between recharges.
/// </summary>
/// <remarks>
/// <para><see cref="Check"/> runs on the request path after anything that lowers the wallet's available credits. It
/// reads one int and, while the wallet is idle, sums its spendable blocks; only below the threshold does it move the
/// wallet from idle to queued with one compare-and-swap and queue it. Threads crossing the threshold together race
/// on that swap: one queues the wallet, the others see it queued and return.</para>
/// <para>A wallet is idle, queued, running (one recharge run at a time), parked (waiting for a cooldown, a back-off or the
/// next month, with a timer to wake it) or stopped. Only idle wallets are queued, so while a recharge is in flight its
/// amount counts toward the gap: no second recharge starts for it. The fields below <see cref="State"/> belong to the
/// run in progress: no two runs of a wallet overlap.</para>
/// </remarks>
internal sealed class WalletRecharge
{
    internal const int Idle = 0;
    internal const int Queued = 1;
    internal const int Running = 2;
    internal const int Parked = 3;
    internal const int Stopped = 4;

    private readonly RechargeWorker _worker;
    private int _state;
    private ITimer? _timer;

    internal WalletRecharge(RechargePlan plan, Wallet wallet, RechargeWorker worker)
    {
        Plan = plan;
        Wallet = wallet;
        _worker = worker;
    }

    internal RechargePlan Plan { get; }

    internal Wallet Wallet { get; }

    internal int State => Volatile.Read(ref _state);

    /// <summary>Gets or sets a value indicating whether the fields below were read from the wallet's blocks (on the first run).</summary>
    internal bool HistoryLoaded { get; set; }

    /// <summary>Gets or sets how many recharges the wallet holds (blocks with the recharge marker): the next recharge's ordinal, less one.</summary>
    internal long Recharges { get; set; }

    /// <summary>Gets or sets the UTC month <see cref="MonthTotalUnits"/> counts, as year × 12 + month − 1.</summary>
    internal int Month { get; set; }

    /// <summary>Gets or sets what was recharged in <see cref="Month"/>.</summary>
    internal long MonthTotalUnits { get; set; }

    /// <summary>Gets or sets when the last recharge was granted, or null.</summary>
    internal DateTimeOffset? LastRecharge { get; set; }

    /// <summary>Gets or sets the failures in a row since the last success.</summary>
    internal int Failures { get; set; }

    /// <summary>Gets or sets when the next try may start after a failure.</summary>
    internal DateTimeOffset RetryAt { get; set; } = DateTimeOffset.MinValue;

    /// <summary>Gets or sets the recharge begun and not granted, or null.</summary>
    internal PendingRecharge? Pending { get; set; }

    /// <summary>Gets or sets the month for which reaching the cap was logged, so it is logged once a month.</summary>
    internal int CapLoggedMonth { get; set; } = -1;

    /// <summary>Queues the wallet for a recharge when it is idle and below its threshold. Never blocks, never throws, allocates nothing unless it queues.</summary>
    internal void Check()
    {
        if (Volatile.Read(ref _state) != Idle || Wallet.SpendableUnits() >= Plan.ThresholdUnits)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _state, Queued, Idle) == Idle)
        {
            _worker.Signal(this);
        }
    }

    /// <summary>Moves a queued wallet to running; false when it was stopped meanwhile.</summary>
    internal bool TryBeginRun() => Interlocked.CompareExchange(ref _state, Running, Queued) == Queued;

    /// <summary>Ends a run with nothing to wait for: the wallet is idle again, and checked at once for what was spent during the run.</summary>
    internal void EndIdle()
    {
        Volatile.Write(ref _state, Idle);
        Check();
    }

    /// <summary>Ends a run that waits (cooldown, back-off, cap): the wallet stays out of the queue until the timer wakes it.</summary>
    internal void Park(TimeSpan dueIn, TimeProvider time)
    {
        Volatile.Write(ref _state, Parked);
        _timer ??= time.CreateTimer(static s => ((WalletRecharge)s!).Wake(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _timer.Change(dueIn > TimeSpan.Zero ? dueIn : TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
    }

    /// <summary>Stops the wallet for good (the guard is stopping); a stopped wallet is never queued again.</summary>
    internal void Stop()
    {
        Volatile.Write(ref _state, Stopped);
        _timer?.Dispose();
    }

    private void Wake()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Parked) == Parked)
        {
            Check();
        }
    }
}
