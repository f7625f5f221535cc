using Kezekshi.Edge.Biometrics.Enrolment;
using NUnit.Framework;

namespace Kezekshi.Edge.Biometrics.Tests.Enrolment;

[TestFixture, Category("Unit")]
public sealed class NetpbmReaderTests
{
    [Test]
    public void A_grey_pgm_with_a_comment_is_read()
    {
        var image = NetpbmReader.Parse([.. "P5\n# made by test\n3 2\n255\n"u8.ToArray(), 1, 2, 3, 4, 5, 6], "a.pgm");
        Assert.That((image.Width, image.Height, image.Channels), Is.EqualTo((3, 2, 1)));
        Assert.That(image.Pixels, Is.EqualTo(new byte[] { 1, 2, 3, 4, 5, 6 }));
    }

    [Test]
    public void A_colour_ppm_is_read()
    {
        var image = NetpbmReader.Parse([.. "P6 1 1 255\n"u8.ToArray(), 10, 20, 30], "a.ppm");
        Assert.That(image.Channels, Is.EqualTo(3));
        Assert.That(image.Pixels, Is.EqualTo(new byte[] { 10, 20, 30 }));
    }

    [TestCase("", "empty or damaged")]
    [TestCase("GIF89a", "not a binary PGM/PPM")]
    [TestCase("P5\nx 2\n255\n", "width 'x' is not a valid number")]
    [TestCase("P5\n2 2\n65535\n", "only 8-bit")]
    [TestCase("P5\n100 100\n255\n", "truncated")]
    public void A_corrupt_image_gives_a_clear_error(string content, string expected)
    {
        Assert.That(() => NetpbmReader.Parse(System.Text.Encoding.ASCII.GetBytes(content), "bad.pgm"), Throws.TypeOf<InvalidDataException>().With.Message.Contains(expected));
    }
}
