namespace UsageGuard;

/// <summary>What the guard does while the ledger store cannot take writes (disk full, read-only, locked, unreachable).</summary>
/// <remarks>
/// Either way nothing already admitted is dropped: settlements and releases of admitted reservations are applied and
/// their entries wait in the ledger queue until the store takes them (a full queue makes callers wait).
/// </remarks>
public enum StoreFailurePolicy
{
    /// <summary>
    /// Refuse new work until an append succeeds again: reservations and consumes are denied with
    /// <see cref="ReservationStatus.StoreUnavailable"/>; grants, voids and adjustments throw <see cref="LedgerUnavailableException"/>.
    /// </summary>
    FailClosed = 0,

    /// <summary>
    /// Keep deciding from memory: admitted work is recorded when the store returns. A crash meanwhile loses what was not
    /// committed, so this trades durability for availability.
    /// </summary>
    FailOpen = 1,
}
