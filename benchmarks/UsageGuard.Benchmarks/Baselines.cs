using System.Runtime.InteropServices;

namespace UsageGuard.Benchmarks;

/// <summary>A balance on its own cache lines, so that the contention measured is on the balance and nothing else.</summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
internal struct PaddedBalance
{
    [FieldOffset(64)]
    public long Value;
}

/// <summary>The lock-free debit/credit every comparison row is built on: a CAS loop that never takes the balance below zero, and an atomic add back.</summary>
internal static class CasBalance
{
    internal static bool TryDebit(ref long balance, long amount)
    {
        long current = Volatile.Read(ref balance);
        while (current >= amount)
        {
            long seen = Interlocked.CompareExchange(ref balance, current - amount, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    internal static void Credit(ref long balance, long amount) => Interlocked.Add(ref balance, amount);
}

/// <summary>The obvious alternative to CAS: a wallet whose debit and credit each take a lock.</summary>
internal sealed class LockedWallet(long balance)
{
    private readonly Lock _gate = new();
    private long _balance = balance;

    internal long Balance
    {
        get
        {
            lock (_gate)
            {
                return _balance;
            }
        }
    }

    internal bool TryDebit(long amount)
    {
        lock (_gate)
        {
            if (_balance < amount)
            {
                return false;
            }

            _balance -= amount;
            return true;
        }
    }

    internal void Credit(long amount)
    {
        lock (_gate)
        {
            _balance += amount;
        }
    }
}
