using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace UsageGuard;

internal sealed partial class EntitlementGuard
{
    private RechargeWorker? _recharge;

    /// <summary>Gets the auto-recharge worker, or null when no wallet is recharged (tests and diagnostics).</summary>
    internal RechargeWorker? Recharge => _recharge;

    /// <summary>
    /// The hook on the request path, after anything that may lower a wallet's available credits: one property read and
    /// a null test when the wallet is not recharged; otherwise a non-blocking check that may queue it for a recharge.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NoteSpent(Wallet wallet) => wallet.Recharge?.Check();

    /// <summary>Gives a new wallet its recharge state, when auto-recharge is configured for it. Called by the wallet's constructor.</summary>
    internal WalletRecharge? AttachRecharge(Wallet wallet) => _recharge?.Attach(wallet);

    /// <summary>Gets what the wallet can spend now, less debt, after releasing expired holds and bringing its blocks up to date: what a recharge decides on.</summary>
    internal long RechargePosition(Wallet wallet, DateTimeOffset now)
    {
        _reservations.ReclaimExpired(now.UtcTicks);
        lock (wallet.Gate)
        {
            wallet.Sweep(now);
        }

        return wallet.SpendableUnits();
    }

    /// <summary>Compiles the recharge configuration (throwing on any problem) before the ledger is read, so restored wallets are attached as they are created.</summary>
    private void ConfigureRecharge(RechargeOptions? options, IRechargeHandler? handler, ILogger logger)
    {
        if (options is null || options.Wallets.Count == 0)
        {
            return;
        }

        var types = _types.ToDictionary(t => t.Code, StringComparer.Ordinal);
        IReadOnlyList<RechargePlan> plans = RechargePlan.Compile(options, types, _types[_defaultType].Code, _options.MaxIdLength, handler is not null);
        _recharge = new RechargeWorker(plans, this, handler!, _time, logger);
    }
}
