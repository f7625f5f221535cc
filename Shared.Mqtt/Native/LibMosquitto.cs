using System.Reflection;
using System.Runtime.InteropServices;

namespace Kezekshi.Mqtt.Native;

/// <summary><c>struct mosquitto_message</c> (mosquitto.h): offsets 0, 8, 16, 24, 28, 32 on x64; valid only during <c>on_message</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MosquittoMessage
{
    public int mid;
    public nint topic;
    public nint payload;
    public int payloadlen;
    public int qos;
    public byte retain;
}

/// <summary>
/// The part of libmosquitto 2.0 (mosquitto.h, mqtt_protocol.h) the client needs, nothing more.
/// </summary>
/// <remarks>
/// Exports are cdecl. C <c>bool</c> is one byte, so every bool crosses as <c>U1</c>. Callbacks are
/// passed as unmanaged function pointers to <c>[UnmanagedCallersOnly]</c> methods (no delegates to keep
/// alive). The library is resolved by <see cref="NativeLibrary.SetDllImportResolver"/>: on Linux the
/// SONAME <c>libmosquitto.so.1</c> (the unversioned name exists only with the -dev package), on
/// Windows <c>mosquitto.dll</c>. See docs/libmosquitto-binding.md.
/// </remarks>
internal static unsafe partial class LibMosquitto
{
    private const string Lib = "mosquitto";

    // enum mosq_err_t
    public const int MOSQ_ERR_CONN_PENDING = -1;
    public const int MOSQ_ERR_SUCCESS = 0;
    public const int MOSQ_ERR_NOMEM = 1;
    public const int MOSQ_ERR_PROTOCOL = 2;
    public const int MOSQ_ERR_INVAL = 3;
    public const int MOSQ_ERR_NO_CONN = 4;
    public const int MOSQ_ERR_CONN_REFUSED = 5;
    public const int MOSQ_ERR_NOT_FOUND = 6;
    public const int MOSQ_ERR_CONN_LOST = 7;
    public const int MOSQ_ERR_TLS = 8;
    public const int MOSQ_ERR_PAYLOAD_SIZE = 9;
    public const int MOSQ_ERR_NOT_SUPPORTED = 10;
    public const int MOSQ_ERR_AUTH = 11;
    public const int MOSQ_ERR_ACL_DENIED = 12;
    public const int MOSQ_ERR_UNKNOWN = 13;
    public const int MOSQ_ERR_ERRNO = 14;
    public const int MOSQ_ERR_EAI = 15;
    public const int MOSQ_ERR_KEEPALIVE = 19;
    public const int MOSQ_ERR_LOOKUP = 20;
    public const int MOSQ_ERR_TLS_HANDSHAKE = 23;
    public const int MOSQ_ERR_OVERSIZE_PACKET = 25;
    public const int MOSQ_ERR_TIMEOUT = 27;

    // enum mosq_opt_t
    public const int MOSQ_OPT_PROTOCOL_VERSION = 1;
    public const int MOSQ_OPT_RECEIVE_MAXIMUM = 4;
    public const int MOSQ_OPT_SEND_MAXIMUM = 5;
    public const int MOSQ_OPT_TCP_NODELAY = 11;
    public const int MQTT_PROTOCOL_V311 = 4;
    public const int MQTT_PROTOCOL_V5 = 5;

    public const int MQTT_PROP_SESSION_EXPIRY_INTERVAL = 17;
    public const int SSL_VERIFY_PEER = 1;

    static LibMosquitto()
    {
        NativeLibrary.SetDllImportResolver(typeof(LibMosquitto).Assembly, Resolve);
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != Lib)
        {
            return 0;
        }
        string[] candidates = OperatingSystem.IsWindows()
            ? ["mosquitto.dll", Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ProgramFiles), "mosquitto", "mosquitto.dll")]
            : OperatingSystem.IsMacOS() ? ["libmosquitto.1.dylib", "libmosquitto.dylib"] : ["libmosquitto.so.1", "libmosquitto.so"];
        foreach (var name in candidates)
        {
            if (NativeLibrary.TryLoad(name, assembly, searchPath, out var handle))
            {
                return handle;
            }
        }
        throw new DllNotFoundException(
            $"libmosquitto 2.x not found (tried {string.Join(", ", candidates)}). " +
            (OperatingSystem.IsWindows()
                ? "Install mosquitto from mosquitto.org and put its directory (with the OpenSSL DLLs) on PATH."
                : "Install it: apt-get install libmosquitto1"));
    }

    [LibraryImport(Lib, EntryPoint = "mosquitto_lib_init")]
    public static partial int lib_init();

    [LibraryImport(Lib, EntryPoint = "mosquitto_lib_cleanup")]
    public static partial int lib_cleanup();

    [LibraryImport(Lib, EntryPoint = "mosquitto_lib_version")]
    public static partial int lib_version(out int major, out int minor, out int revision);

    [LibraryImport(Lib, EntryPoint = "mosquitto_new", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint mosquitto_new(string? id, [MarshalAs(UnmanagedType.U1)] bool cleanSession, nint obj);

    [LibraryImport(Lib, EntryPoint = "mosquitto_destroy")]
    public static partial void destroy(nint mosq);

    [LibraryImport(Lib, EntryPoint = "mosquitto_strerror")]
    public static partial byte* strerror_native(int mosqErrno);

    [LibraryImport(Lib, EntryPoint = "mosquitto_reason_string")]
    public static partial byte* reason_string_native(int reasonCode);

    [LibraryImport(Lib, EntryPoint = "mosquitto_int_option")]
    public static partial int int_option(nint mosq, int option, int value);

    [LibraryImport(Lib, EntryPoint = "mosquitto_tls_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int tls_set(nint mosq, string? cafile, string? capath, string? certfile, string? keyfile, nint pwCallback);

    [LibraryImport(Lib, EntryPoint = "mosquitto_tls_opts_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int tls_opts_set(nint mosq, int certReqs, string? tlsVersion, string? ciphers);

    [LibraryImport(Lib, EntryPoint = "mosquitto_username_pw_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int username_pw_set(nint mosq, string? username, string? password);

    [LibraryImport(Lib, EntryPoint = "mosquitto_will_set_v5", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int will_set_v5(nint mosq, string topic, int payloadlen, byte* payload, int qos, [MarshalAs(UnmanagedType.U1)] bool retain, nint properties);

    [LibraryImport(Lib, EntryPoint = "mosquitto_reconnect_delay_set")]
    public static partial int reconnect_delay_set(nint mosq, uint reconnectDelay, uint reconnectDelayMax, [MarshalAs(UnmanagedType.U1)] bool exponentialBackoff);

    [LibraryImport(Lib, EntryPoint = "mosquitto_connect_bind_v5", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int connect_bind_v5(nint mosq, string host, int port, int keepalive, string? bindAddress, nint properties);

    [LibraryImport(Lib, EntryPoint = "mosquitto_connect_async", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int connect_async(nint mosq, string host, int port, int keepalive);

    [LibraryImport(Lib, EntryPoint = "mosquitto_reconnect", SetLastError = true)]
    public static partial int reconnect(nint mosq);

    [LibraryImport(Lib, EntryPoint = "mosquitto_loop_start")]
    public static partial int loop_start(nint mosq);

    [LibraryImport(Lib, EntryPoint = "mosquitto_loop_stop")]
    public static partial int loop_stop(nint mosq, [MarshalAs(UnmanagedType.U1)] bool force);

    [LibraryImport(Lib, EntryPoint = "mosquitto_disconnect_v5")]
    public static partial int disconnect_v5(nint mosq, int reasonCode, nint properties);

    [LibraryImport(Lib, EntryPoint = "mosquitto_publish_v5", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int publish_v5(nint mosq, out int mid, string topic, int payloadlen, byte* payload, int qos, [MarshalAs(UnmanagedType.U1)] bool retain, nint properties);

    [LibraryImport(Lib, EntryPoint = "mosquitto_subscribe_v5", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int subscribe_v5(nint mosq, out int mid, string sub, int qos, int options, nint properties);

    [LibraryImport(Lib, EntryPoint = "mosquitto_unsubscribe", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unsubscribe(nint mosq, out int mid, string sub);

    [LibraryImport(Lib, EntryPoint = "mosquitto_property_add_int32")]
    public static partial int property_add_int32(ref nint proplist, int identifier, uint value);

    [LibraryImport(Lib, EntryPoint = "mosquitto_property_free_all")]
    public static partial void property_free_all(ref nint properties);

    // Callback setters. Shapes from mosquitto.h: (mosq, obj, …).
    [LibraryImport(Lib, EntryPoint = "mosquitto_connect_v5_callback_set")]
    public static partial void connect_v5_callback_set(nint mosq, delegate* unmanaged[Cdecl]<nint, nint, int, int, nint, void> onConnect);

    [LibraryImport(Lib, EntryPoint = "mosquitto_disconnect_v5_callback_set")]
    public static partial void disconnect_v5_callback_set(nint mosq, delegate* unmanaged[Cdecl]<nint, nint, int, nint, void> onDisconnect);

    [LibraryImport(Lib, EntryPoint = "mosquitto_publish_v5_callback_set")]
    public static partial void publish_v5_callback_set(nint mosq, delegate* unmanaged[Cdecl]<nint, nint, int, int, nint, void> onPublish);

    [LibraryImport(Lib, EntryPoint = "mosquitto_message_v5_callback_set")]
    public static partial void message_v5_callback_set(nint mosq, delegate* unmanaged[Cdecl]<nint, nint, MosquittoMessage*, nint, void> onMessage);

    [LibraryImport(Lib, EntryPoint = "mosquitto_subscribe_v5_callback_set")]
    public static partial void subscribe_v5_callback_set(nint mosq, delegate* unmanaged[Cdecl]<nint, nint, int, int, int*, nint, void> onSubscribe);

    [LibraryImport(Lib, EntryPoint = "mosquitto_log_callback_set")]
    public static partial void log_callback_set(nint mosq, delegate* unmanaged[Cdecl]<nint, nint, int, byte*, void> onLog);

    /// <summary><c>mosquitto_strerror</c> as a managed string.</summary>
    public static string StrError(int code) => Marshal.PtrToStringUTF8((nint)strerror_native(code)) ?? $"error {code}";

    /// <summary><c>mosquitto_reason_string</c> (MQTT 5 reason codes) as a managed string.</summary>
    public static string ReasonString(int code) => Marshal.PtrToStringUTF8((nint)reason_string_native(code)) ?? $"reason {code}";

    private static readonly Lock s_initLock = new();
    private static int s_users;

    /// <summary><c>mosquitto_lib_init</c> for the first client; refuses a libmosquitto whose major version is not 2.</summary>
    public static void AddUser()
    {
        lock (s_initLock)
        {
            if (s_users == 0)
            {
                lib_version(out var major, out var minor, out var revision);
                if (major != 2)
                {
                    throw new MqttException(MOSQ_ERR_NOT_SUPPORTED,
                        $"libmosquitto {major}.{minor}.{revision} is loaded; this binding needs 2.x.", isTransient: false);
                }
                var rc = lib_init();
                if (rc != MOSQ_ERR_SUCCESS)
                {
                    throw MqttException.FromError(rc, "mosquitto_lib_init");
                }
            }
            s_users++;
        }
    }

    /// <summary><c>mosquitto_lib_cleanup</c> after the last client is destroyed.</summary>
    public static void RemoveUser()
    {
        lock (s_initLock)
        {
            s_users--;
            if (s_users == 0)
            {
                lib_cleanup();
            }
        }
    }
}
