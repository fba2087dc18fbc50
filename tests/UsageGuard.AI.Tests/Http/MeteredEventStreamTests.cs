using System.Text;
using FluentAssertions;
using NUnit.Framework;

namespace UsageGuard.AI.Tests.Http;

public sealed class MeteredEventStreamTests
{
    private const long InputEstimate = 7;

    private static (MeteredEventStream Stream, RecordingGuard Guard) Meter(string body, int bytesPerRead = int.MaxValue, Exception? failAtEnd = null, ProviderErrorPolicy policy = ProviderErrorPolicy.Release)
    {
        var guard = new RecordingGuard();
        var call = new GuardedHttpCall(guard, default, InputEstimate, CharacterTokenEstimator.Instance, policy);
        var inner = new TrickleStream(Encoding.UTF8.GetBytes(body), bytesPerRead, failAtEnd);
        return (new MeteredEventStream(inner, new ByteArrayContent([]), call), guard);
    }

    private static string Events(params string[] data) => string.Concat(data.Select(d => $"data: {d}\n\n"));

    [TestCase(1)]
    [TestCase(7)]
    [TestCase(int.MaxValue)]
    public async Task ReadAsync_PassesEveryByteThrough_AndSettlesOnceAtTheEnd_FromTheUsage(int bytesPerRead)
    {
        string body = Events(OpenAiFixtures.Stream(["Hello", " world"], includeUsage: true, model: "gpt-test-2026-01-01").ToArray());
        (MeteredEventStream stream, RecordingGuard guard) = Meter(body, bytesPerRead);

        string read;
        using (var reader = new StreamReader(stream))
        {
            read = await reader.ReadToEndAsync();
            guard.Settlements.Should().ContainSingle("settled at the end of the body, before the caller disposes");
        }

        read.Should().Be(body);
        guard.Settlements.Should().ContainSingle().Which.Should().Be(new TokenSettlement(new TokenUsage(800, 200, 400, 100)) { Model = "gpt-test-2026-01-01" });
        guard.Releases.Should().Be(0);
    }

    [Test]
    public void Read_Synchronous_CrLfLines_MultiLineDataAndComments_AreRead()
    {
        string body = ": keep-alive\r\nevent: message\r\nid: 1\r\ndata: {\"model\":\"m\",\r\ndata: \"choices\":[{\"delta\":{\"content\":\"abcdef\"}}]}\r\n\r\n"
            + "data:{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\r\n\r\ndata: [DONE]\r\n\r\n";
        (MeteredEventStream stream, RecordingGuard guard) = Meter(body, bytesPerRead: 3);

        using (var reader = new StreamReader(stream))
        {
            reader.ReadToEnd().Should().Be(body);
        }

        guard.Settlements.Should().ContainSingle().Which.Should().Be(new TokenSettlement(new TokenUsage(3, 0, 4, 0)) { Model = "m" });
    }

    [Test]
    public void Dispose_BeforeTheEnd_SettlesOnceFromTheEstimate_MarkedEstimated()
    {
        string body = Events(OpenAiFixtures.Stream(["Hello", " world"], includeUsage: false).ToArray());
        (MeteredEventStream stream, RecordingGuard guard) = Meter(body, bytesPerRead: 1);
        string firstTwoEvents = Events(OpenAiFixtures.Stream(["Hello"], includeUsage: false).Take(2).ToArray());
        var buffer = new byte[1];
        for (int i = 0; i < Encoding.UTF8.GetByteCount(firstTwoEvents); i++)
        {
            stream.ReadExactly(buffer);
        }

        stream.Dispose();
        stream.Dispose();

        // "Hello": 5 characters, 2 tokens; a cut stream with no usage.
        guard.Settlements.Should().ContainSingle().Which.Should().Be(new TokenSettlement(new TokenUsage(InputEstimate, 0, 2, 0)) { Model = "gpt-test", Estimated = true });
        Action read = () => stream.ReadExactly(buffer);
        read.Should().Throw<ObjectDisposedException>();
    }

    [Test]
    public async Task DisposeAsync_AfterDoneButBeforeTheEndOfTheBody_IsNotCut()
    {
        string body = Events(OpenAiFixtures.Stream(["Hello"], includeUsage: false).ToArray());
        (MeteredEventStream stream, RecordingGuard guard) = Meter(body, bytesPerRead: body.Length);

        (await stream.ReadAsync(new byte[body.Length])).Should().Be(body.Length);
        await stream.DisposeAsync();

        guard.Settlements.Should().ContainSingle().Which.Should().Be(new TokenSettlement(new TokenUsage(InputEstimate, 0, 2, 0)) { Model = "gpt-test", Estimated = true });
    }

    [Test]
    public async Task ReadAsync_ZeroByteRead_IsNotTheEnd()
    {
        (MeteredEventStream stream, RecordingGuard guard) = Meter(Events("[DONE]"));

        (await stream.ReadAsync(Memory<byte>.Empty)).Should().Be(0);

        guard.Settlements.Should().BeEmpty();
        await stream.DisposeAsync();
        guard.Settlements.Should().ContainSingle();
    }

    [Test]
    public async Task ReadAsync_FailingBeforeAnyOutput_Releases_AndFailingAfterOutput_ChargesWhatWasSeen()
    {
        var cause = new IOException("reset");
        (MeteredEventStream empty, RecordingGuard releasing) = Meter(Events(OpenAiFixtures.Stream([], includeUsage: false)[0]), failAtEnd: cause);
        (MeteredEventStream started, RecordingGuard charging) = Meter(Events(OpenAiFixtures.Stream(["Hello"], includeUsage: false).Take(2).ToArray()), failAtEnd: cause);

        Func<Task> readEmpty = () => new StreamReader(empty).ReadToEndAsync();
        Func<Task> readStarted = () => new StreamReader(started).ReadToEndAsync();

        (await readEmpty.Should().ThrowAsync<IOException>()).Which.Should().BeSameAs(cause);
        (await readStarted.Should().ThrowAsync<IOException>()).Which.Should().BeSameAs(cause);
        await empty.DisposeAsync();
        await started.DisposeAsync();
        (releasing.Releases, releasing.Settlements.Count).Should().Be((1, 0));
        charging.Settlements.Should().ContainSingle().Which.Should().Be(new TokenSettlement(new TokenUsage(InputEstimate, 0, 2, 0)) { Model = "gpt-test", Estimated = true });
    }

    [Test]
    public async Task ReadAsync_AnEventLargerThanTheLimit_IsPassedThroughButNotRead()
    {
        string huge = $$$"""{"choices":[{"delta":{"content":"{{{new string('x', MeteredEventStream.MaxEventBytes)}}}"}}]}""";
        string body = Events(huge, """{"choices":[{"delta":{"content":"abcd"}}]}""");
        (MeteredEventStream stream, RecordingGuard guard) = Meter(body, bytesPerRead: 4_096);

        using (var reader = new StreamReader(stream))
        {
            (await reader.ReadToEndAsync()).Length.Should().Be(body.Length);
        }

        guard.Settlements.Should().ContainSingle().Which.Usage.OutputTokens.Should().Be(1, "only the 4 characters of the event that fit were counted");
    }

    /// <summary>A body that arrives a few bytes per read, and may fail where it would have ended.</summary>
    private sealed class TrickleStream(byte[] data, int bytesPerRead, Exception? failAtEnd) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position == data.Length && failAtEnd is not null && !buffer.IsEmpty)
            {
                throw failAtEnd;
            }

            int n = Math.Min(Math.Min(buffer.Length, bytesPerRead), data.Length - _position);
            data.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
