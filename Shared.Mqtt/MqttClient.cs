using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Kezekshi.Mqtt.Native;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kezekshi.Mqtt;

/// <summary>
/// An MQTT 5 / 3.1.1 client over libmosquitto 2.0: TLS with client certificates, persistent sessions,
/// QoS 1 publishes that complete on their PUBACK, and reconnection by the library's own loop thread.
/// </summary>
/// <remarks>
/// Threading (docs/libmosquitto-binding.md §4): <c>mosquitto_loop_start</c> runs one native thread that does
/// the network I/O, the reconnects and every callback. Callbacks only copy data and complete a
/// <see cref="TaskCompletionSource{TResult}"/> (continuations run asynchronously) or write to a channel; they never
/// block and never let an exception reach native code. Events are raised from one managed dispatch task, in order.
/// </remarks>
public sealed class MqttClient : IAsyncDisposable
{
    private readonly MqttClientOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, TaskCompletionSource<MqttPublishResult>> _pendingPublishes = [];
    private readonly Dictionary<int, MqttPublishResult> _earlyPublishAcks = [];
    private readonly Dictionary<int, TaskCompletionSource<int>> _pendingSubscribes = [];
    private readonly Dictionary<int, int> _earlySubAcks = [];
    private readonly Channel<MqttMessage> _messages = Channel.CreateUnbounded<MqttMessage>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = true });
    private readonly Channel<EventArgs> _events = Channel.CreateUnbounded<EventArgs>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly Task _eventPump;
    private GCHandle _self;
    private nint _mosq;
    private bool _loopStarted;
    private Task? _loopWatch;
    private long _disconnectedSince = long.MaxValue;
    private volatile bool _connected;
    private volatile bool _disposed;
    private TaskCompletionSource? _connectCompletion;
    private volatile string? _lastTlsError;

    /// <summary>Creates the native client (no network activity yet).</summary>
    /// <exception cref="MqttException">libmosquitto refused an option (e.g. an unreadable CA file).</exception>
    public MqttClient(MqttClientOptions options, ILogger<MqttClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        LibMosquitto.AddUser();
        _self = GCHandle.Alloc(this);
        try
        {
            _mosq = LibMosquitto.mosquitto_new(options.ClientId, options.SessionExpiry <= TimeSpan.Zero, GCHandle.ToIntPtr(_self));
            if (_mosq == 0)
            {
                throw new MqttException(LibMosquitto.MOSQ_ERR_NOMEM, "mosquitto_new failed (out of memory or invalid client ID).", isTransient: false);
            }
            Configure();
        }
        catch
        {
            if (_mosq != 0)
            {
                LibMosquitto.destroy(_mosq);
                _mosq = 0;
            }
            _self.Free();
            LibMosquitto.RemoveUser();
            throw;
        }
        _eventPump = Task.Run(PumpEventsAsync);
    }

    /// <summary>Raised (on a managed thread, in order) after each successful CONNACK, including the library's reconnects.</summary>
    public event EventHandler<MqttConnectedEventArgs>? Connected;

    /// <summary>Raised after the connection ends, whether we asked for it or not.</summary>
    public event EventHandler<MqttDisconnectedEventArgs>? Disconnected;

    /// <summary>True between a successful CONNACK and the next disconnect.</summary>
    public bool IsConnected => _connected;

    /// <summary>Messages of all subscriptions, in arrival order. Completed when the client is disposed.</summary>
    public ChannelReader<MqttMessage> Messages => _messages.Reader;

    /// <summary>Test hook: runs inside the native message callback after the message is queued.</summary>
    internal Action<MqttMessage>? MessageObserver { get; set; }

    private unsafe void Configure()
    {
        Check(LibMosquitto.int_option(_mosq, LibMosquitto.MOSQ_OPT_PROTOCOL_VERSION, (int)_options.ProtocolVersion), "mosquitto_int_option(PROTOCOL_VERSION)");
        // No Nagle: a lone passage or acknowledgement is one small packet that should leave now, not after a delayed ACK.
        Check(LibMosquitto.int_option(_mosq, LibMosquitto.MOSQ_OPT_TCP_NODELAY, 1), "mosquitto_int_option(TCP_NODELAY)");
        if (_options.ProtocolVersion == MqttProtocolVersion.V5)
        {
            Check(LibMosquitto.int_option(_mosq, LibMosquitto.MOSQ_OPT_SEND_MAXIMUM, _options.MaxInflight), "mosquitto_int_option(SEND_MAXIMUM)");
        }
        else
        {
            // For 3.1.1 the send maximum is the classic in-flight limit; same option in libmosquitto 2.0.
            Check(LibMosquitto.int_option(_mosq, LibMosquitto.MOSQ_OPT_SEND_MAXIMUM, _options.MaxInflight), "mosquitto_int_option(SEND_MAXIMUM)");
        }
        if (_options.UseTls)
        {
            Check(LibMosquitto.tls_set(_mosq, _options.CaFile, null, _options.CertFile, _options.KeyFile, 0),
                $"mosquitto_tls_set (CA {_options.CaFile}, certificate {_options.CertFile ?? "none"})");
            Check(LibMosquitto.tls_opts_set(_mosq, LibMosquitto.SSL_VERIFY_PEER, null, null), "mosquitto_tls_opts_set");
        }
        if (_options.Username is not null)
        {
            Check(LibMosquitto.username_pw_set(_mosq, _options.Username, _options.Password), "mosquitto_username_pw_set");
        }
        Check(LibMosquitto.reconnect_delay_set(_mosq, (uint)_options.ReconnectDelayMin.TotalSeconds, (uint)Math.Max(1, _options.ReconnectDelayMax.TotalSeconds), true),
            "mosquitto_reconnect_delay_set");
        LibMosquitto.connect_v5_callback_set(_mosq, &OnConnect);
        LibMosquitto.disconnect_v5_callback_set(_mosq, &OnDisconnect);
        LibMosquitto.publish_v5_callback_set(_mosq, &OnPublish);
        LibMosquitto.message_v5_callback_set(_mosq, &OnMessage);
        LibMosquitto.subscribe_v5_callback_set(_mosq, &OnSubscribe);
        LibMosquitto.log_callback_set(_mosq, &OnLog);
    }

    private static void Check(int rc, string operation)
    {
        if (rc != LibMosquitto.MOSQ_ERR_SUCCESS)
        {
            throw MqttException.FromError(rc, operation);
        }
    }

    /// <summary>
    /// Connects and starts the library's loop thread; completes on a successful CONNACK.
    /// </summary>
    /// <exception cref="MqttException">
    /// The broker refused us (CONNACK reason ≥ 128, or it dropped the TLS connection before CONNACK — a missing or
    /// foreign client certificate); or the broker is not reachable now (<see cref="MqttException.IsTransient"/>):
    /// then the loop thread keeps trying and <see cref="Connected"/> is raised when it succeeds.
    /// </exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        Task waitForConnack;
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_loopStarted)
            {
                throw new InvalidOperationException("ConnectAsync was already called; libmosquitto reconnects by itself.");
            }
            var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_lock)
            {
                _connectCompletion = completion;
            }
            // mosquitto_connect_bind_v5 blocks (TCP connect + TLS handshake): keep it off the caller's thread.
            _lastTlsError = null;
            var (rc, errno) = await Task.Run(ConnectNative, CancellationToken.None).ConfigureAwait(false);
            Check(LibMosquitto.loop_start(_mosq), "mosquitto_loop_start");
            _loopStarted = true;
            _loopWatch ??= Task.Run(WatchLoopThreadAsync);
            if (rc != LibMosquitto.MOSQ_ERR_SUCCESS)
            {
                lock (_lock)
                {
                    _connectCompletion = null;
                }
                var tlsRefused = _options.UseTls && (_lastTlsError is not null || rc == LibMosquitto.MOSQ_ERR_TLS
                    || (rc == LibMosquitto.MOSQ_ERR_ERRNO && !IsNetworkErrno(errno)));
                var error = tlsRefused
                    ? new MqttException(LibMosquitto.MOSQ_ERR_TLS,
                        $"The TLS handshake with {_options.Host}:{_options.Port} failed ({_lastTlsError ?? $"connection closed, errno {errno}"}): the broker refused the client certificate " +
                        "(missing, or not issued by its CA), or its own certificate does not verify against CaFile.", isTransient: false)
                    : MqttException.FromError(rc, $"Connecting to {_options.Host}:{_options.Port}", rc == LibMosquitto.MOSQ_ERR_ERRNO ? errno : null);
                if (error.IsTransient)
                {
                    MqttLog.Offline(_logger, _options.ClientId, _options.Host, _options.Port, error.Message);
                }
                else
                {
                    MqttLog.Refused(_logger, _options.ClientId, _options.Host, _options.Port, error.Message);
                }
                throw error;
            }
            waitForConnack = completion.Task;
        }
        finally
        {
            _lifecycle.Release();
        }
        await waitForConnack.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// errno values meaning the TCP connection itself failed (Linux and Windows WSA codes). Any other errno after
    /// TCP succeeded, with TLS on, is the broker closing the handshake: libmosquitto reports that only as MOSQ_ERR_ERRNO.
    /// </summary>
    private static bool IsNetworkErrno(int errno) => errno is 101 or 110 or 111 or 113 or 10051 or 10060 or 10061 or 10065;

    /// <summary>Index into Host:Port followed by <see cref="MqttClientOptions.Brokers"/>; moves on when a broker stays unreachable.</summary>
    private int _brokerIndex;

    private int BrokerCount => 1 + _options.Brokers.Count;

    /// <summary>The broker the client is connected or connecting to.</summary>
    public MqttBroker CurrentBroker => _brokerIndex == 0 ? new MqttBroker(_options.Host, _options.Port) : _options.Brokers[_brokerIndex - 1];

    /// <summary>Connects to the current broker, then to each next one while the network refuses (not on a TLS/auth refusal).</summary>
    private (int Rc, int Errno) ConnectNative()
    {
        var result = ConnectToCurrent();
        for (int tried = 1; tried < BrokerCount && result.Rc != LibMosquitto.MOSQ_ERR_SUCCESS
             && (result.Rc != LibMosquitto.MOSQ_ERR_ERRNO || IsNetworkErrno(result.Errno)) && result.Rc != LibMosquitto.MOSQ_ERR_TLS; tried++)
        {
            _brokerIndex = (_brokerIndex + 1) % BrokerCount;
            result = ConnectToCurrent();
        }
        return result;
    }

    private (int Rc, int Errno) ConnectToCurrent()
    {
        nint props = 0;
        try
        {
            if (_options.ProtocolVersion == MqttProtocolVersion.V5 && _options.SessionExpiry > TimeSpan.Zero)
            {
                var seconds = (uint)Math.Min(uint.MaxValue, _options.SessionExpiry.TotalSeconds);
                Check(LibMosquitto.property_add_int32(ref props, LibMosquitto.MQTT_PROP_SESSION_EXPIRY_INTERVAL, seconds), "mosquitto_property_add_int32");
            }
            var broker = CurrentBroker;
            var rc = LibMosquitto.connect_bind_v5(_mosq, broker.Host, broker.Port, (int)_options.KeepAlive.TotalSeconds, null, props);
            return (rc, Marshal.GetLastPInvokeError());
        }
        finally
        {
            if (props != 0)
            {
                LibMosquitto.property_free_all(ref props);
            }
        }
    }

    /// <summary>
    /// Publishes and completes when the broker has answered: for QoS 1 the PUBACK for this message ID, with its
    /// reason code (≥ 128 = refused, e.g. 135 not authorised); for QoS 0 once written.
    /// </summary>
    /// <remarks>
    /// While offline the message waits inside libmosquitto and the task completes after a reconnect when its PUBACK
    /// arrives; use <paramref name="cancellationToken"/> to stop waiting (the message may still be delivered).
    /// </remarks>
    /// <exception cref="MqttException">libmosquitto refused the message locally (too large for the broker, invalid topic).</exception>
    public unsafe Task<MqttPublishResult> PublishAsync(string topic, ReadOnlyMemory<byte> payload, int qos = 1, bool retain = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfNegative(qos);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(qos, 1);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var completion = new TaskCompletionSource<MqttPublishResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        int rc, mid;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            fixed (byte* data = payload.Span)
            {
                // libmosquitto copies the payload before returning.
                rc = LibMosquitto.publish_v5(_mosq, out mid, topic, payload.Length, data, qos, retain, 0);
            }
            // NO_CONN at QoS 1 still queued the message under `mid` (observed; binding notes §4).
            var queued = rc == LibMosquitto.MOSQ_ERR_SUCCESS || (rc == LibMosquitto.MOSQ_ERR_NO_CONN && qos > 0);
            if (queued)
            {
                if (_earlyPublishAcks.Remove(mid, out var early))
                {
                    completion.TrySetResult(early);
                }
                else
                {
                    _pendingPublishes[mid] = completion;
                }
            }
        }
        if (rc != LibMosquitto.MOSQ_ERR_SUCCESS && !(rc == LibMosquitto.MOSQ_ERR_NO_CONN && qos > 0))
        {
            return Task.FromException<MqttPublishResult>(MqttException.FromError(rc, $"Publishing {payload.Length} bytes to {topic}"));
        }
        return cancellationToken.CanBeCanceled ? completion.Task.WaitAsync(cancellationToken) : completion.Task;
    }

    /// <summary>Subscribes and completes on the SUBACK with the granted QoS.</summary>
    /// <remarks>A granted QoS is not authorisation: mosquitto grants subscriptions its ACL forbids and filters at delivery.</remarks>
    /// <exception cref="MqttException">Not connected (transient), or the SUBACK refused the filter (≥ 0x80).</exception>
    public async Task<int> SubscribeAsync(string filter, int qos = 1, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(filter);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var completion = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        int rc;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            rc = LibMosquitto.subscribe_v5(_mosq, out var mid, filter, qos, 0, 0);
            if (rc == LibMosquitto.MOSQ_ERR_SUCCESS)
            {
                if (_earlySubAcks.Remove(mid, out var granted))
                {
                    completion.TrySetResult(granted);
                }
                else
                {
                    _pendingSubscribes[mid] = completion;
                }
            }
        }
        Check(rc, $"Subscribing to {filter}");
        var grantedQos = await completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (grantedQos >= 0x80)
        {
            throw new MqttException(LibMosquitto.MOSQ_ERR_ACL_DENIED,
                $"The broker refused the subscription to {filter}: {LibMosquitto.ReasonString(grantedQos)} (reason code {grantedQos}).", isTransient: false, grantedQos);
        }
        return grantedQos;
    }

    /// <summary>Sends an UNSUBSCRIBE (fire and forget: nothing in our protocol waits for UNSUBACK).</summary>
    public void Unsubscribe(string filter)
    {
        ArgumentException.ThrowIfNullOrEmpty(filter);
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_lock)
        {
            Check(LibMosquitto.unsubscribe(_mosq, out _, filter), $"Unsubscribing from {filter}");
        }
    }

    /// <summary>Disconnects (if connected), stops the loop thread, destroys the native client. Safe while the broker is down.</summary>
    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }
            lock (_lock)
            {
                _disposed = true; // no new native calls from PublishAsync/SubscribeAsync after this
            }
            // loop_stop joins the native thread: never on the caller's (possibly a callback-driven) context.
            await Task.Run(() =>
            {
                LibMosquitto.disconnect_v5(_mosq, 0, 0); // NO_CONN when offline; it still tells the loop to stop
                if (_loopStarted)
                {
                    LibMosquitto.loop_stop(_mosq, false);
                }
                LibMosquitto.destroy(_mosq);
            }).ConfigureAwait(false);
            _mosq = 0;
            _self.Free();
            LibMosquitto.RemoveUser();
            _connected = false;
            var gone = new MqttException(LibMosquitto.MOSQ_ERR_NO_CONN, "The MQTT client was disposed before the broker answered; the outcome is unknown.", isTransient: true);
            lock (_lock)
            {
                foreach (var pending in _pendingPublishes.Values) pending.TrySetException(gone);
                foreach (var pending in _pendingSubscribes.Values) pending.TrySetException(gone);
                _pendingPublishes.Clear();
                _pendingSubscribes.Clear();
                _connectCompletion?.TrySetException(gone);
                _connectCompletion = null;
            }
            _messages.Writer.TryComplete();
            _events.Writer.TryComplete();
        }
        finally
        {
            _lifecycle.Release();
        }
        await _eventPump.ConfigureAwait(false);
    }

    /// <summary>
    /// libmosquitto's loop thread gives up for good when a lost connection surfaces as a TLS or protocol error
    /// (its loop_forever returns on MOSQ_ERR_TLS / MOSQ_ERR_PROTOCOL; seen when a TLS broker is killed), so the
    /// library's own reconnect never happens. When the client has been offline for longer than the reconnect
    /// back-off allows, stop that thread and start a fresh one with a reconnect.
    /// </summary>
    private async Task WatchLoopThreadAsync()
    {
        long grace = (long)(_options.ReconnectDelayMax.TotalMilliseconds + 3000);
        while (!_disposed)
        {
            await Task.Delay(1000).ConfigureAwait(false);
            long since = Interlocked.Read(ref _disconnectedSince);
            if (_connected || _disposed || since == long.MaxValue || Environment.TickCount64 - since < grace) continue;
            try
            {
                if (!await _lifecycle.WaitAsync(0).ConfigureAwait(false)) continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            try
            {
                if (_disposed || _connected) continue;
                var from = CurrentBroker;
                if (BrokerCount > 1) _brokerIndex = (_brokerIndex + 1) % BrokerCount;
                var to = CurrentBroker;
                MqttLog.Offline(_logger, _options.ClientId, from.Host, from.Port,
                    BrokerCount > 1 ? $"still offline; moving to the next broker {to.Host}:{to.Port}" : "still offline; restarting libmosquitto's network thread");
                await Task.Run(() =>
                {
                    LibMosquitto.loop_stop(_mosq, true);
                    if (BrokerCount > 1) _ = ConnectToCurrent(); // may fail while that broker is down too: the new loop thread retries it
                    else _ = LibMosquitto.reconnect(_mosq);
                    _ = LibMosquitto.loop_start(_mosq);
                }).ConfigureAwait(false);
                Interlocked.Exchange(ref _disconnectedSince, Environment.TickCount64);
            }
            finally
            {
                _lifecycle.Release();
            }
        }
    }

    private async Task PumpEventsAsync()
    {
        await foreach (var e in _events.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                switch (e)
                {
                    case MqttConnectedEventArgs c: Connected?.Invoke(this, c); break;
                    case MqttDisconnectedEventArgs d: Disconnected?.Invoke(this, d); break;
                }
            }
            catch (Exception ex)
            {
                MqttLog.HandlerFailed(_logger, ex, _options.ClientId, e is MqttConnectedEventArgs ? nameof(Connected) : nameof(Disconnected));
            }
        }
    }

    // ---- Native callbacks: loop thread, must not block or throw. ----

    private static MqttClient? From(nint obj) => obj == 0 ? null : GCHandle.FromIntPtr(obj).Target as MqttClient;

    private void CallbackFailed(Exception e, [CallerMemberName] string callback = "")
    {
        try
        {
            MqttLog.CallbackFailed(_logger, e, _options.ClientId, callback);
        }
        catch
        {
            // A throwing logger must not take the process down either.
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnConnect(nint mosq, nint obj, int rc, int flags, nint props)
    {
        MqttClient? client = null;
        try
        {
            client = From(obj);
            client?.HandleConnect(rc, (flags & 1) != 0);
        }
        catch (Exception e)
        {
            client?.CallbackFailed(e);
        }
    }

    private void HandleConnect(int rc, bool sessionPresent)
    {
        TaskCompletionSource? completion;
        lock (_lock)
        {
            completion = _connectCompletion;
            _connectCompletion = null;
        }
        if (rc == 0)
        {
            _connected = true;
            var broker = CurrentBroker; // after a failover this is another node than Host:Port
            MqttLog.Connected(_logger, _options.ClientId, broker.Host, broker.Port, sessionPresent);
            completion?.TrySetResult();
            _events.Writer.TryWrite(new MqttConnectedEventArgs(sessionPresent));
        }
        else
        {
            var error = MqttException.Refused(rc, _options.ProtocolVersion == MqttProtocolVersion.V311);
            MqttLog.Refused(_logger, _options.ClientId, CurrentBroker.Host, CurrentBroker.Port, error.Message);
            completion?.TrySetException(error);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnDisconnect(nint mosq, nint obj, int rc, nint props)
    {
        MqttClient? client = null;
        try
        {
            client = From(obj);
            client?.HandleDisconnect(rc);
        }
        catch (Exception e)
        {
            client?.CallbackFailed(e);
        }
    }

    private void HandleDisconnect(int rc)
    {
        var wasConnected = _connected;
        _connected = false;
        if (wasConnected) Interlocked.Exchange(ref _disconnectedSince, Environment.TickCount64);
        TaskCompletionSource? completion;
        lock (_lock)
        {
            completion = _connectCompletion;
            _connectCompletion = null;
        }
        var reason = rc == 0 ? "disconnected on request" : LibMosquitto.StrError(rc);
        if (completion is not null && rc != 0)
        {
            // The connection ended before any CONNACK: with mutual TLS this is the broker rejecting our certificate.
            var error = new MqttException(rc,
                $"The broker at {CurrentBroker.Host}:{CurrentBroker.Port} closed the connection before CONNACK ({reason}, libmosquitto error {rc}{(_lastTlsError is { } tls ? "; " + tls : "")}). " +
                (_options.UseTls ? "With TLS this means the broker refused the client certificate (missing, or not issued by its CA)." : "Check the broker log."),
                isTransient: false);
            MqttLog.Refused(_logger, _options.ClientId, CurrentBroker.Host, CurrentBroker.Port, error.Message);
            completion.TrySetException(error);
        }
        else if (rc != 0 && wasConnected)
        {
            MqttLog.ConnectionLost(_logger, _options.ClientId, CurrentBroker.Host, CurrentBroker.Port, reason, rc);
        }
        if (wasConnected)
        {
            _events.Writer.TryWrite(new MqttDisconnectedEventArgs(rc, reason));
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnPublish(nint mosq, nint obj, int mid, int reasonCode, nint props)
    {
        MqttClient? client = null;
        try
        {
            client = From(obj);
            client?.HandlePublish(mid, reasonCode);
        }
        catch (Exception e)
        {
            client?.CallbackFailed(e);
        }
    }

    private void HandlePublish(int mid, int reasonCode)
    {
        var result = new MqttPublishResult(mid, reasonCode, reasonCode == 0 ? "Success" : LibMosquitto.ReasonString(reasonCode));
        TaskCompletionSource<MqttPublishResult>? completion;
        lock (_lock)
        {
            if (!_pendingPublishes.Remove(mid, out completion))
            {
                // PUBACK processed before PublishAsync stored the completion (publish_v5 had not returned yet).
                _earlyPublishAcks[mid] = result;
                return;
            }
        }
        completion.TrySetResult(result);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnSubscribe(nint mosq, nint obj, int mid, int qosCount, int* grantedQos, nint props)
    {
        MqttClient? client = null;
        try
        {
            client = From(obj);
            client?.HandleSubscribe(mid, qosCount > 0 && grantedQos is not null ? grantedQos[0] : 0x80);
        }
        catch (Exception e)
        {
            client?.CallbackFailed(e);
        }
    }

    private void HandleSubscribe(int mid, int granted)
    {
        TaskCompletionSource<int>? completion;
        lock (_lock)
        {
            if (!_pendingSubscribes.Remove(mid, out completion))
            {
                _earlySubAcks[mid] = granted;
                return;
            }
        }
        completion.TrySetResult(granted);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnMessage(nint mosq, nint obj, MosquittoMessage* message, nint props)
    {
        MqttClient? client = null;
        try
        {
            client = From(obj);
            if (client is null || message is null)
            {
                return;
            }
            var topic = Marshal.PtrToStringUTF8(message->topic) ?? "";
            var payload = message->payloadlen > 0
                ? new ReadOnlySpan<byte>((void*)message->payload, message->payloadlen).ToArray()
                : [];
            var copy = new MqttMessage(topic, payload, message->qos, message->retain != 0);
            client._messages.Writer.TryWrite(copy);
            client.MessageObserver?.Invoke(copy);
        }
        catch (Exception e)
        {
            client?.CallbackFailed(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnLog(nint mosq, nint obj, int level, byte* text)
    {
        MqttClient? client = null;
        try
        {
            client = From(obj);
            if (client is null)
            {
                return;
            }
            const int MosqLogErr = 8;
            var debug = client._logger.IsEnabled(LogLevel.Debug);
            if (level == MosqLogErr || debug)
            {
                var line = Marshal.PtrToStringUTF8((nint)text) ?? "";
                if (level == MosqLogErr && line.StartsWith("OpenSSL Error", StringComparison.Ordinal))
                {
                    client._lastTlsError = line; // kept to explain a failed handshake (libmosquitto only returns MOSQ_ERR_ERRNO)
                }
                if (debug)
                {
                    MqttLog.Native(client._logger, client._options.ClientId, level, line);
                }
            }
        }
        catch (Exception e)
        {
            client?.CallbackFailed(e);
        }
    }
}
