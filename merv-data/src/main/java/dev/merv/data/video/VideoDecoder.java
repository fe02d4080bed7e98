package dev.merv.data.video;

import static org.bytedeco.ffmpeg.global.avcodec.AVDISCARD_DEFAULT;
import static org.bytedeco.ffmpeg.global.avcodec.AVDISCARD_NONREF;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_AV1;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_H264;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_HEVC;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_MPEG1VIDEO;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_MPEG2VIDEO;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_MPEG4;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_VP8;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_VP9;
import static org.bytedeco.ffmpeg.global.avcodec.AV_PKT_FLAG_DISCARD;
import static org.bytedeco.ffmpeg.global.avcodec.AV_PKT_FLAG_KEY;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_alloc;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_unref;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_alloc_context3;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_find_decoder;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_flush_buffers;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_open2;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_parameters_to_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_receive_frame;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_send_packet;
import static org.bytedeco.ffmpeg.global.avformat.AVSEEK_FLAG_BACKWARD;
import static org.bytedeco.ffmpeg.global.avformat.av_find_best_stream;
import static org.bytedeco.ffmpeg.global.avformat.av_read_frame;
import static org.bytedeco.ffmpeg.global.avformat.av_seek_frame;
import static org.bytedeco.ffmpeg.global.avformat.avformat_close_input;
import static org.bytedeco.ffmpeg.global.avformat.avformat_find_stream_info;
import static org.bytedeco.ffmpeg.global.avformat.avformat_open_input;
import static org.bytedeco.ffmpeg.global.avutil.AVCOL_RANGE_JPEG;
import static org.bytedeco.ffmpeg.global.avutil.AVCOL_SPC_UNSPECIFIED;
import static org.bytedeco.ffmpeg.global.avutil.AVCOL_SPC_YCGCO;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EOF;
import static org.bytedeco.ffmpeg.global.avutil.AVMEDIA_TYPE_VIDEO;
import static org.bytedeco.ffmpeg.global.avutil.AV_NOPTS_VALUE;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUVJ411P;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUVJ420P;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUVJ422P;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUVJ440P;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUVJ444P;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_alloc;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_unref;
import static org.bytedeco.ffmpeg.global.avutil.av_q2d;
import static org.bytedeco.ffmpeg.global.avutil.av_strerror;
import static org.bytedeco.ffmpeg.global.swscale.SWS_AREA;
import static org.bytedeco.ffmpeg.global.swscale.SWS_BILINEAR;
import static org.bytedeco.ffmpeg.global.swscale.SWS_CS_DEFAULT;
import static org.bytedeco.ffmpeg.global.swscale.sws_freeContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_getCoefficients;
import static org.bytedeco.ffmpeg.global.swscale.sws_getContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_scale;
import static org.bytedeco.ffmpeg.global.swscale.sws_setColorspaceDetails;

import dev.merv.core.model.Frame;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipReason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVCodecParameters;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.avutil.AVRational;
import org.bytedeco.ffmpeg.swscale.SwsContext;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Decodes sampled RGB frames of a video file with FFmpeg (libavformat/libavcodec/libswscale
 * through the bytedeco presets).
 *
 * <p>A sampled decode plans before it decodes: one demuxing pass reads every packet's timestamps and
 * key flag ({@link PacketIndex}, no decoding), which fixes each frame's index (the rank of its
 * presentation timestamp, the presentation-order index a sequential decode counts) and where the key
 * frames are. Decoding then only moves forward ({@link DecodePlan}): up to each sampled frame, jumping
 * to the key frame before the next sampled frame when that skips packets nothing needs, so no packet
 * is decoded twice; unsampled pictures that no other picture references are dropped by the decoder
 * before they are decoded, where the codec allows that exactly ({@link NonReferenceRule}); only
 * sampled frames are converted to RGB, and decoding stops after the last one. Frames are identical to
 * a sequential decode's; any inconsistency (missing or duplicate timestamps, a demuxer that returns
 * packets in another order, a sampled frame that does not come out) falls back to the sequential
 * decode. Memory per video is the decoder's own reference frames plus {@code K} RGB frames at the
 * stored resolution (or at most {@link Options#maxFrameSide} on the long side when that cap is set).
 *
 * <p>Colour conversion uses swscale with {@code SWS_BILINEAR} flags, the same call PyAV's
 * {@code to_ndarray(format="rgb24")} makes, with the frame's own YCbCr matrix and range (full-range
 * video stays full range), as the reference's decoder converts. A display-matrix rotation is applied
 * as the reference's decoder applies it ({@link DisplayRotation}). Thread-safe: each call opens its own
 * FFmpeg contexts.
 */
public final class VideoDecoder {

    static {
        FFmpegLog.init();
    }

    /** AVERROR(EAGAIN) on Linux. */
    private static final int AVERROR_EAGAIN = -11;
    /** {@code Session.feedPacket} results besides the send result; positive, so never an AVERROR or 0. */
    private static final int FEED_FLUSHING = 1;
    private static final int FEED_OTHER_STREAM = 2;

    /**
     * @param decoderThreads threads inside one decoder (1 keeps the loader's sample-level
     *     parallelism efficient; 0 lets FFmpeg choose)
     * @param timeoutNanos per-video budget; the decode fails with {@link SkipReason#TIMEOUT} when
     *     exceeded (checked once per demuxed packet, the indexing pass included). Default 60 s of CPU time
     *     of the decoding thread, so a loaded machine skips no video a quiet one keeps
     * @param clock how the budget is measured: {@link DecodeClock#THREAD_CPU} (default; the decoding
     *     thread's CPU time, not wall-clock time), {@link DecodeClock#ticking} (packets read: identical on
     *     every machine, and the choice with several decoder threads, whose work runs on FFmpeg's threads)
     * @param maxFrameSide 0 keeps the stored resolution (parity); otherwise frames whose long side
     *     is larger are downscaled (area filter) while converting, which bounds memory for very large
     *     videos but changes what the encoders' resizes see
     * @param seekKeyFrames jump forward to the key frame before the next sampled frame when that skips
     *     packets no sampled frame needs
     * @param dropNonReference let the decoder drop unsampled pictures nothing references, where exact
     *     for the codec
     */
    public record Options(int decoderThreads, long timeoutNanos, DecodeClock clock, int maxFrameSide,
            boolean seekKeyFrames, boolean dropNonReference) {
        public static Options defaults() {
            return new Options(1, 60_000_000_000L, DecodeClock.THREAD_CPU, 0, true, true);
        }

        public Options withTimeout(long nanos, DecodeClock clock) {
            return new Options(decoderThreads, nanos, clock, maxFrameSide, seekKeyFrames, dropNonReference);
        }

        /** Which planned-decode savings are on; both off decodes every frame up to the last sampled one. */
        public Options withPlan(boolean seekKeyFrames, boolean dropNonReference) {
            return new Options(decoderThreads, timeoutNanos, clock, maxFrameSide, seekKeyFrames, dropNonReference);
        }

        /** Decodes every frame forward up to the last sampled one, without indexing the file first. */
        public Options sequential() {
            return withPlan(false, false);
        }

        public Options withMaxFrameSide(int side) {
            return new Options(decoderThreads, timeoutNanos, clock, side, seekKeyFrames, dropNonReference);
        }

        public Options withDecoderThreads(int threads) {
            return new Options(threads, timeoutNanos, clock, maxFrameSide, seekKeyFrames, dropNonReference);
        }

        boolean planned() {
            return seekKeyFrames || dropNonReference;
        }
    }

    private final Options options;

    public VideoDecoder(Options options) {
        this.options = options;
    }

    public VideoDecoder() {
        this(Options.defaults());
    }

    public Options options() {
        return options;
    }

    /**
     * Decodes the {@code k} frames the reference samples from {@code file}
     * ({@link FrameSampling#videoIndices}).
     */
    public SampledVideo decodeSampled(Path file, int k) throws SampleException {
        DecodeClock.Timer timer = options.clock().start();
        try (Session s = open(file, timer)) {
            PacketIndex packets = options.planned() && s.plannable() ? s.indexPackets() : null;
            int numFrames = s.frameCount();
            // the reference decodes GIFs with PIL and samples linspace(0, N-1, K) without the fps rule
            boolean gif = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".gif");
            int[] idx = FrameSampling.videoIndices(numFrames, gif ? 0 : s.avgFps, k);
            if (packets != null) {
                // a container frame count that disagrees with the frames leaves frame identity in doubt
                Frame[] planned = packets.size() == numFrames ? s.decodePlanned(packets, idx) : null;
                if (planned != null) {
                    return new SampledVideo(List.of(planned), idx, numFrames, s.avgFps, s.decoded);
                }
                s.restart();
            }
            Frame[] frames = new Frame[k];
            int[] next = {0};
            s.decode(idx[k - 1], (index, frame) -> {
                Frame rgb = null;
                while (next[0] < k && idx[next[0]] == index) {
                    if (rgb == null) {
                        rgb = s.toRgb(frame);
                    }
                    frames[next[0]++] = rgb;
                }
            }, index -> next[0] < k && idx[next[0]] == index);
            if (next[0] < k) {
                throw new SampleException(SkipReason.CORRUPT, file + ": stream ended after " + s.decoded
                        + " decoded frames, but frame " + idx[next[0]] + " of " + numFrames + " declared was sampled");
            }
            return new SampledVideo(List.of(frames), idx, numFrames, s.avgFps, s.decoded);
        }
    }

    /** Decodes the first frame (used for still images FFmpeg can read but ImageIO cannot). */
    public Frame decodeFirst(Path file) throws SampleException {
        try (Session s = open(file, options.clock().start())) {
            Frame[] out = new Frame[1];
            s.decode(0, (index, frame) -> {
                if (index == 0) {
                    out[0] = s.toRgb(frame);
                }
            }, index -> index == 0);
            if (out[0] == null) {
                throw new SampleException(SkipReason.EMPTY, file + ": no decodable frame");
            }
            return out[0];
        }
    }

    /**
     * Decodes every frame in order and converts each to RGB (the reference every planned decode must
     * equal). Returns the number of frames.
     */
    public int decodeAll(Path file, Consumer<Frame> sink) throws SampleException {
        try (Session s = open(file, options.clock().start())) {
            s.decode(Integer.MAX_VALUE, (index, frame) -> sink.accept(s.toRgb(frame)), index -> true);
            return s.decoded;
        }
    }

    /**
     * Frame count of {@code file} without decoding frames, as {@link #decodeSampled} counts it: with planning
     * on, the packets are counted (a container's count can include an edit list's hidden lead-in); with
     * {@link Options#sequential()}, the container's count when it has one.
     */
    public int frameCount(Path file) throws SampleException {
        try (Session s = open(file, options.clock().start())) {
            if (options.planned()) {
                s.countPackets();
            }
            return s.frameCount();
        }
    }

    private Session open(Path file, DecodeClock.Timer timer) throws SampleException {
        if (!Files.exists(file)) {
            throw new SampleException(SkipReason.MISSING, file + ": no such file");
        }
        Session s = new Session(file, timer);
        try {
            s.open();
            return s;
        } catch (SampleException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    @FunctionalInterface
    private interface FrameSink {
        void accept(int index, AVFrame frame) throws SampleException;
    }

    @FunctionalInterface
    private interface Wanted {
        boolean test(int index);
    }

    /** One open file: demuxer, decoder, converter. */
    private final class Session implements AutoCloseable {
        final Path file;
        final DecodeClock.Timer timer;
        AVFormatContext fmt;
        AVCodecContext ctx;
        AVPacket pkt;
        AVFrame frame;
        SwsContext sws;
        BytePointer rgbBuf;
        int swsW;
        int swsH;
        int swsFmt = -1;
        int swsSpace = -1;
        int swsRange = -1;
        int outW;
        int outH;
        int stream = -1;
        int codecId;
        /** Frame count from the container header, 0 when it has none. */
        long declaredFrames;
        /** Packets of the stream counted by a demuxing pass, -1 before one; and those of them that are shown. */
        long countedPackets = -1;
        long shownPackets = -1;
        double avgFps;
        int rotation;
        int decoded;

        Session(Path file, DecodeClock.Timer timer) {
            this.file = file;
            this.timer = timer;
        }

        void open() throws SampleException {
            openInput();
            stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, (PointerPointer<?>) null, 0);
            if (stream < 0) {
                // The container parsed but offers no video frames (no video track, or an empty one that
                // FFmpeg will not select): nothing to sample rather than a damaged file.
                throw new SampleException(SkipReason.EMPTY, file + ": no video frames (" + fmt.nb_streams()
                        + " streams; " + err(stream) + ")");
            }
            AVStream st = fmt.streams(stream);
            avgFps = rate(st.avg_frame_rate());
            if (!(avgFps > 0)) {
                avgFps = rate(st.r_frame_rate());
            }
            declaredFrames = Math.max(0, st.nb_frames());
            rotation = DisplayRotation.clockwiseDegrees(st);
            codecId = st.codecpar().codec_id();
            AVCodec codec = avcodec_find_decoder(codecId);
            if (codec == null) {
                throw new SampleException(SkipReason.CORRUPT, file + ": no decoder for codec id " + codecId);
            }
            ctx = avcodec_alloc_context3(codec);
            if (avcodec_parameters_to_context(ctx, st.codecpar()) < 0) {
                throw new SampleException(SkipReason.CORRUPT, file + ": bad codec parameters");
            }
            ctx.thread_count(options.decoderThreads());
            int r = avcodec_open2(ctx, codec, (AVDictionary) null);
            if (r < 0) {
                throw new SampleException(SkipReason.CORRUPT, file + ": cannot open decoder (" + err(r) + ")");
            }
            pkt = av_packet_alloc();
            frame = av_frame_alloc();
        }

        private void openInput() throws SampleException {
            fmt = new AVFormatContext(null);
            int r = avformat_open_input(fmt, file.toString(), null, null);
            if (r < 0) {
                fmt = null;
                throw new SampleException(SkipReason.CORRUPT, file + ": cannot open (" + err(r) + ")");
            }
            r = avformat_find_stream_info(fmt, (PointerPointer<?>) null);
            if (r < 0) {
                throw new SampleException(SkipReason.CORRUPT, file + ": no stream info (" + err(r) + ")");
            }
        }

        /**
         * The stream's frame count: the container's when it declares one, else its packets counted by the
         * indexing pass or, when there was none, by a counting pass (then the file is reopened).
         */
        int frameCount() throws SampleException {
            long n = declaredFrames;
            if (n <= 0 || (countedPackets == n && shownPackets < n)) {
                // no count in the header, or one that includes packets decoded but never shown (an edit list's
                // lead-in): the frames a decode gives
                if (countedPackets < 0) {
                    countPackets();
                }
                n = shownPackets;
            }
            if (n <= 0) {
                throw new SampleException(SkipReason.EMPTY, file + ": video stream has no frames");
            }
            if (n > Integer.MAX_VALUE) {
                throw new SampleException(SkipReason.CORRUPT, file + ": implausible frame count " + n);
            }
            return (int) n;
        }

        /** Counts the stream's packets (and the shown ones), then reopens the file. */
        void countPackets() throws SampleException {
            long count = 0;
            long shown = 0;
            while (readPacket("counting packets")) {
                if (pkt.stream_index() == stream) {
                    count++;
                    shown += (pkt.flags() & AV_PKT_FLAG_DISCARD) == 0 ? 1 : 0;
                }
                av_packet_unref(pkt);
            }
            reopen();
            countedPackets = count;
            shownPackets = shown;
        }

        /**
         * Codecs whose key-frame flags and timestamps planned decoding is tested on (MPEG-1 shares MPEG-2's
         * decoder); anything else (GIF, whose frames build on each other, ...) is decoded sequentially.
         */
        boolean plannable() {
            return codecId == AV_CODEC_ID_H264 || codecId == AV_CODEC_ID_HEVC || codecId == AV_CODEC_ID_VP9
                    || codecId == AV_CODEC_ID_AV1 || codecId == AV_CODEC_ID_MPEG4 || codecId == AV_CODEC_ID_VP8
                    || codecId == AV_CODEC_ID_MPEG2VIDEO || codecId == AV_CODEC_ID_MPEG1VIDEO;
        }

        /**
         * The indexing pass: demuxes the whole file once (nothing is decoded), recording every packet of the
         * stream, then seeks back to the start. Returns null when timestamps cannot identify frames; the
         * packet count is kept for {@link #frameCount()} either way.
         */
        PacketIndex indexPackets() throws SampleException {
            NonReferenceRule rule = NonReferenceRule.of(codecId);
            int lengthSize = 0;
            if (rule == NonReferenceRule.HEVC_TOP_SUBLAYER) {
                AVCodecParameters par = fmt.streams(stream).codecpar();
                lengthSize = par.extradata_size() > 0
                        ? NonReferenceRule.hevcLengthSize(par.extradata().capacity(par.extradata_size()).asByteBuffer())
                        : 0;
            }
            PacketIndex.Builder b = new PacketIndex.Builder();
            while (readPacket("indexing packets")) {
                try {
                    if (pkt.stream_index() != stream) {
                        continue;
                    }
                    int layer = 0;
                    if (rule == NonReferenceRule.HEVC_TOP_SUBLAYER) {
                        int tid = pkt.size() > 0
                                ? NonReferenceRule.hevcTemporalId(pkt.data().capacity(pkt.size()).asByteBuffer(), lengthSize)
                                : -1;
                        // a packet without a picture keeps every picture of the stream from being dropped
                        layer = tid >= 0 ? tid : 7;
                    }
                    b.add(pkt.pts(), pkt.dts(), (pkt.flags() & AV_PKT_FLAG_KEY) != 0, rule != NonReferenceRule.NONE, layer,
                            (pkt.flags() & AV_PKT_FLAG_DISCARD) == 0);
                } finally {
                    av_packet_unref(pkt);
                }
            }
            countedPackets = b.packets();
            shownPackets = b.shown();
            PacketIndex index = b.build();
            if (index == null || av_seek_frame(fmt, stream, index.seekTimestamp(0), AVSEEK_FLAG_BACKWARD) < 0) {
                reopen();
            }
            return index;
        }

        /** Reopens the demuxer at the start of the file (the decoder, if open, is flushed). */
        private void reopen() throws SampleException {
            avformat_close_input(fmt);
            fmt = null;
            openInput();
            if (ctx != null) {
                avcodec_flush_buffers(ctx);
            }
        }

        /** Back to the first frame, decoding everything, after planned decoding gave up. */
        void restart() throws SampleException {
            reopen();
            ctx.skip_frame(AVDISCARD_DEFAULT);
        }

        /**
         * The sampled frames ({@code idx}, display indices, sorted) decoded by a {@link DecodePlan}, or null
         * (the caller decodes sequentially) when the file does not behave as its index says: a packet comes
         * out of the demuxer other than where the index puts it, a frame has a timestamp the index lacks, a
         * seek fails, or a sampled frame does not come out before a later one.
         */
        Frame[] decodePlanned(PacketIndex index, int[] idx) throws SampleException {
            DecodePlan plan = new DecodePlan(index, idx, options.seekKeyFrames(), options.dropNonReference());
            int k = idx.length;
            Frame[] out = new Frame[k];
            int next = 0;
            // decode position of the next packet to send; after a seek (and at the start) the demuxer may
            // deliver earlier packets first, which are passed over unsent
            int pos = 0;
            boolean landing = true;
            boolean flushing = false;
            int plannedFor = -1;
            int dropping = -1;
            while (next < k) {
                if (!flushing) {
                    if (plannedFor != idx[next]) {
                        plannedFor = idx[next];
                        int target = plan.seekTarget(plannedFor, pos);
                        if (target >= 0) {
                            if (av_seek_frame(fmt, stream, index.seekTimestamp(target), AVSEEK_FLAG_BACKWARD) < 0) {
                                return null;
                            }
                            avcodec_flush_buffers(ctx);
                            pos = target;
                            landing = true;
                        }
                    }
                    if (!readPacket("before frame " + idx[next])) {
                        avcodec_send_packet(ctx, null);
                        flushing = true;
                    } else {
                        try {
                            if (pkt.stream_index() != stream) {
                                continue;
                            }
                            int p = index.positionOf(pkt.pts());
                            if (p != pos) {
                                if (landing && p < pos) {
                                    continue;
                                }
                                return null;
                            }
                            landing = false;
                            int discard = plan.drop(p) ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
                            if (discard != dropping) {
                                ctx.skip_frame(discard);
                                dropping = discard;
                            }
                            // a damaged packet is dropped; a sampled frame it held is then missed below
                            avcodec_send_packet(ctx, pkt);
                            pos++;
                        } finally {
                            av_packet_unref(pkt);
                        }
                    }
                }
                int r = 0;
                while (next < k && (r = avcodec_receive_frame(ctx, frame)) >= 0) {
                    try {
                        decoded++;
                        long ts = frame.pts() != AV_NOPTS_VALUE ? frame.pts() : frame.best_effort_timestamp();
                        int d = index.displayOf(ts);
                        if (d < 0 && index.positionOf(ts) >= 0) {
                            continue; // a picture the container hides, output anyway
                        }
                        if (d < 0 || d > idx[next]) {
                            return null;
                        }
                        if (d == idx[next]) {
                            Frame rgb = toRgb(frame);
                            while (next < k && idx[next] == d) {
                                out[next++] = rgb;
                            }
                        }
                    } finally {
                        av_frame_unref(frame);
                    }
                }
                if (flushing && next < k && r < 0) {
                    // drained: a sampled frame never came out
                    return null;
                }
            }
            return out;
        }

        /**
         * Decodes forward, calling {@code sink} with each output frame's index, until frame
         * {@code lastIndex} has been delivered or the stream ends. {@code wanted} lets frames
         * nobody needs skip the sink entirely.
         */
        void decode(int lastIndex, FrameSink sink, Wanted wanted) throws SampleException {
            int index = 0;
            boolean flushing = false;
            while (index <= lastIndex) {
                if (!flushing) {
                    int fed = feedPacket("after " + index + " frames");
                    if (fed == FEED_FLUSHING) {
                        flushing = true;
                    } else if (fed == FEED_OTHER_STREAM
                            // A damaged packet is dropped; a file missing frames fails later on the count.
                            || (fed < 0 && fed != AVERROR_EAGAIN && fed != AVERROR_EOF)) {
                        continue;
                    }
                }
                boolean got = false;
                while (index <= lastIndex) {
                    int r = avcodec_receive_frame(ctx, frame);
                    if (r < 0) {
                        break;
                    }
                    got = true;
                    decoded++;
                    int i = index++;
                    try {
                        if (wanted.test(i)) {
                            sink.accept(i, frame);
                        }
                    } finally {
                        av_frame_unref(frame);
                    }
                }
                if (flushing && !got) {
                    return;
                }
            }
        }

        /**
         * Reads the next packet and sends it to the decoder: {@link #FEED_FLUSHING} when the stream has
         * ended (the flush packet is then sent), {@link #FEED_OTHER_STREAM} for a packet of another
         * stream (dropped), else {@code avcodec_send_packet}'s result (0 or a negative AVERROR).
         */
        private int feedPacket(String where) throws SampleException {
            if (!readPacket(where)) {
                avcodec_send_packet(ctx, null);
                return FEED_FLUSHING;
            }
            try {
                if (pkt.stream_index() != stream) {
                    return FEED_OTHER_STREAM;
                }
                return avcodec_send_packet(ctx, pkt);
            } finally {
                av_packet_unref(pkt);
            }
        }

        /**
         * Demuxes the next packet into {@code pkt}; false at the end of the file (or a read error, which
         * ends the stream the same way). Each call is one reading of the decode clock.
         */
        private boolean readPacket(String where) throws SampleException {
            if (timer.elapsedNanos() > options.timeoutNanos()) {
                throw new SampleException(SkipReason.TIMEOUT, file + ": decode exceeded "
                        + options.timeoutNanos() / 1_000_000 + " ms " + where);
            }
            return av_read_frame(fmt, pkt) >= 0;
        }

        Frame toRgb(AVFrame f) throws SampleException {
            int w = f.width();
            int h = f.height();
            if (w <= 0 || h <= 0) {
                throw new SampleException(SkipReason.CORRUPT, file + ": frame with size " + w + "x" + h);
            }
            int space = f.colorspace();
            int range = f.color_range();
            if (sws == null || w != swsW || h != swsH || f.format() != swsFmt || space != swsSpace || range != swsRange) {
                if (sws != null) {
                    sws_freeContext(sws);
                }
                int dw = w;
                int dh = h;
                int flags = SWS_BILINEAR;
                int cap = options.maxFrameSide();
                if (cap > 0 && Math.max(w, h) > cap) {
                    double s = cap / (double) Math.max(w, h);
                    dw = Math.max(2, (int) Math.round(w * s));
                    dh = Math.max(2, (int) Math.round(h * s));
                    flags = SWS_AREA;
                }
                sws = sws_getContext(w, h, f.format(), dw, dh, AV_PIX_FMT_RGB24, flags, null, null, (DoublePointer) null);
                if (sws == null) {
                    throw new SampleException(SkipReason.CORRUPT, file + ": unsupported pixel format " + f.format());
                }
                setColorspace(sws, f.format(), space, range);
                swsW = w;
                swsH = h;
                swsFmt = f.format();
                swsSpace = space;
                swsRange = range;
                outW = dw;
                outH = dh;
                if (rgbBuf != null) {
                    rgbBuf.close();
                }
                rgbBuf = new BytePointer((long) stride() * dh + 64);
            }
            int stride = stride();
            try (PointerPointer<BytePointer> dst = new PointerPointer<BytePointer>(4).put(0, rgbBuf);
                    IntPointer dstStride = new IntPointer(stride, 0, 0, 0)) {
                sws_scale(sws, f.data(), f.linesize(), 0, h, dst, dstStride);
            }
            byte[] rgb = new byte[outW * outH * 3];
            int row = outW * 3;
            if (row == stride) {
                rgbBuf.position(0).get(rgb, 0, rgb.length);
            } else {
                for (int y = 0; y < outH; y++) {
                    rgbBuf.position((long) y * stride).get(rgb, y * row, row);
                }
            }
            rgbBuf.position(0);
            return DisplayRotation.rotate(new Frame(outW, outH, rgb), rotation);
        }

        /** Row stride of the RGB buffer, 32-byte aligned for swscale's SIMD paths. */
        private int stride() {
            return (outW * 3 + 31) & ~31;
        }

        @Override
        public void close() {
            sws = FfmpegRelease.free(sws);
            rgbBuf = FfmpegRelease.free(rgbBuf);
            frame = FfmpegRelease.free(frame);
            pkt = FfmpegRelease.free(pkt);
            ctx = FfmpegRelease.free(ctx);
            if (fmt != null) {
                avformat_close_input(fmt);
                fmt = null;
            }
        }
    }

    /**
     * The YCbCr matrix and range of the source as the reference's decoder reads them: the frame's
     * colour space when it names one swscale knows (else BT.601), full range when the frame says so
     * (or its pixel format is a full-range "J" format), output full-range RGB.
     */
    private static void setColorspace(SwsContext sws, int pixFmt, int space, int range) {
        int table = space >= 1 && space <= 10 && space != AVCOL_SPC_YCGCO && space != AVCOL_SPC_UNSPECIFIED
                ? space : SWS_CS_DEFAULT;
        boolean full = range == AVCOL_RANGE_JPEG || pixFmt == AV_PIX_FMT_YUVJ420P || pixFmt == AV_PIX_FMT_YUVJ422P
                || pixFmt == AV_PIX_FMT_YUVJ444P || pixFmt == AV_PIX_FMT_YUVJ440P || pixFmt == AV_PIX_FMT_YUVJ411P;
        IntPointer coeffs = sws_getCoefficients(table);
        sws_setColorspaceDetails(sws, coeffs, full ? 1 : 0, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    }

    private static double rate(AVRational r) {
        return r != null && r.num() > 0 && r.den() > 0 ? av_q2d(r) : 0;
    }

    static String err(int code) {
        byte[] buf = new byte[256];
        av_strerror(code, buf, buf.length);
        int n = 0;
        while (n < buf.length && buf[n] != 0) {
            n++;
        }
        return new String(buf, 0, n, java.nio.charset.StandardCharsets.UTF_8) + ", code " + code;
    }

}
