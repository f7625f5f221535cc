using Kezekshi.Edge.Biometrics;
using Kezekshi.Edge.Biometrics.Imaging;

namespace Kezekshi.Edge.Agent.Web.Biometrics;

/// <summary>The camera did not deliver a frame in time; the message is for the person at the screen.</summary>
public sealed class CameraTimeoutException : Exception
{
    public CameraTimeoutException() { }
    public CameraTimeoutException(string message) : base(message) { }
    public CameraTimeoutException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Takes one frame from a configured camera through ffmpeg, within the camera's time box.</summary>
/// <remarks>
/// One ffmpeg process per capture rather than a process kept running: a till takes a face a few hundred times a
/// day, and an idle camera stream would cost a core the gate PC needs. The first frame of a V4L2 device or an
/// RTSP stream arrives well inside the default 1.5 s; a camera that does not answer must not keep the queue waiting.
/// </remarks>
public static class CameraCapture
{
    public static async Task<RawImage> TakeFrameAsync(CameraOptions camera, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(camera);
        var limit = TimeSpan.FromMilliseconds(Math.Max(100, camera.TimeoutMilliseconds));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        // A still photo as the "camera" (demo, tests): ffmpeg's frame-rate filter drops a single frame, so decode it as an image.
        var first = IsStill(camera.Url)
            ? Task.Run(() => new FfmpegImageDecoder().DecodeFile(camera.Url), timeout.Token)
            : FirstFrameAsync(new FfmpegCaptureSource(new CaptureOptions(camera.Url, camera.Width, camera.Height)), timeout.Token);
        try
        {
            // WaitAsync as well as the token: a read on a pipe that ignores cancellation must still not hold the cashier.
            return await first.WaitAsync(limit + TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when ((e is OperationCanceledException or TimeoutException) && !cancellationToken.IsCancellationRequested)
        {
            await timeout.CancelAsync().ConfigureAwait(false);
            throw new CameraTimeoutException($"The camera ({Describe(camera.Url)}) did not send a picture within {limit.TotalSeconds:0.0} s. Use the card; school IT: check the camera is plugged in and on, and its address in Web:Till:Camera:Url.", e);
        }
    }

    private static async Task<RawImage> FirstFrameAsync(FfmpegCaptureSource source, CancellationToken cancellationToken)
    {
        await foreach (var frame in source.ReadFramesAsync(cancellationToken).ConfigureAwait(false))
            return frame;
        throw new ImageDecodeException($"The camera ({Describe(source.Options.Url)}) sent no picture. School IT: check the device path or URL and that the camera is on.");
    }

    private static readonly string[] s_stillExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm"];

    private static bool IsStill(string url) =>
        !url.Contains("://", StringComparison.Ordinal) && s_stillExtensions.Contains(Path.GetExtension(url).ToLowerInvariant());

    /// <summary>An RTSP URL may carry a password: show scheme and host only.</summary>
    internal static string Describe(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && !uri.IsFile && !string.IsNullOrEmpty(uri.UserInfo) ? $"{uri.Scheme}://{uri.Host}" : url;
}
