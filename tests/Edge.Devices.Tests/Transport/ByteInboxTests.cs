using Kezekshi.Edge.Devices.Transport;

namespace Kezekshi.Edge.Devices.Tests.Transport;

[Category("Unit")]
public class ByteInboxTests
{
    [Test]
    public async Task Bytes_come_out_in_the_order_they_went_in_across_wrap_around()
    {
        var inbox = new ByteInbox(capacity: 8);
        var output = new List<byte>();
        var buffer = new byte[5];
        for (int round = 0; round < 50; round++)
        {
            inbox.Write([(byte)(3 * round), (byte)(3 * round + 1), (byte)(3 * round + 2)]);
            int n = await inbox.ReadAsync(buffer, TimeSpan.FromSeconds(1), TimeProvider.System, CancellationToken.None);
            output.AddRange(buffer[..n]);
        }
        Assert.That(output, Is.EqualTo(Enumerable.Range(0, 150).Select(i => (byte)i)));
    }

    [Test]
    public async Task A_device_streaming_while_nobody_reads_cannot_grow_memory_without_bound()
    {
        var inbox = new ByteInbox();
        var chunk = new byte[64 * 1024];
        for (int i = 0; i < 40; i++)
        {
            Array.Fill(chunk, (byte)i);
            inbox.Write(chunk);
        }
        Assert.That(inbox.Count, Is.EqualTo(ByteInbox.MaxUnread));
        Assert.That(inbox.Dropped, Is.EqualTo(40L * chunk.Length - ByteInbox.MaxUnread));
        var first = new byte[1];
        await inbox.ReadAsync(first, TimeSpan.FromSeconds(1), TimeProvider.System, CancellationToken.None);
        Assert.That(first[0], Is.EqualTo((byte)(40 - ByteInbox.MaxUnread / chunk.Length)), "the newest bytes are kept, the oldest dropped");
    }

    [Test]
    public async Task A_read_with_nothing_to_read_returns_zero_only_after_its_timeout()
    {
        var inbox = new ByteInbox();
        var started = TimeProvider.System.GetTimestamp();
        int n = await inbox.ReadAsync(new byte[4], TimeSpan.FromMilliseconds(30), TimeProvider.System, CancellationToken.None);
        Assert.That(n, Is.Zero);
        Assert.That(TimeProvider.System.GetElapsedTime(started), Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(30)));
    }
}
