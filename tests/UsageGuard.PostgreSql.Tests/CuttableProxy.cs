using System.Net;
using System.Net.Sockets;

namespace UsageGuard.PostgreSql.Tests;

/// <summary>A TCP proxy in front of the PostgreSQL server that a test can cut (every connection dropped, new ones refused) and restore: an outage on demand.</summary>
internal sealed class CuttableProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly List<TcpClient> _open = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile bool _cut;

    internal CuttableProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _listener.Start();
        _accepting = Task.Run(AcceptAsync);
    }

    internal int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Drops every connection and refuses new ones until <see cref="Restore"/>.</summary>
    internal void Cut()
    {
        _cut = true;
        lock (_gate)
        {
            foreach (TcpClient client in _open)
            {
                client.Dispose();
            }

            _open.Clear();
        }
    }

    internal void Restore() => _cut = false;

    /// <summary>Gets whether the proxy is cut now.</summary>
    internal bool IsCut => _cut;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
            if (_cut)
            {
                inbound.Dispose();
                continue;
            }

            _ = Task.Run(() => PipeAsync(inbound));
        }
    }

    private async Task PipeAsync(TcpClient inbound)
    {
        var outbound = new TcpClient();
        try
        {
            await outbound.ConnectAsync(_targetHost, _targetPort);
            lock (_gate)
            {
                if (_cut)
                {
                    throw new SocketException((int)SocketError.ConnectionRefused);
                }

                _open.Add(inbound);
                _open.Add(outbound);
            }

            NetworkStream a = inbound.GetStream();
            NetworkStream b = outbound.GetStream();
            await Task.WhenAny(a.CopyToAsync(b), b.CopyToAsync(a));
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            inbound.Dispose();
            outbound.Dispose();
        }
    }
}
