package dev.merv.data.video;

import static org.bytedeco.ffmpeg.global.avcodec.AV_PKT_FLAG_KEY;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_flush_buffers;
import static org.bytedeco.ffmpeg.global.avformat.AVSEEK_FLAG_BACKWARD;
import static org.bytedeco.ffmpeg.global.avformat.av_seek_frame;
import static org.bytedeco.ffmpeg.global.avutil.AV_NOPTS_VALUE;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_alloc;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_free;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_unref;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_alloc_context3;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_find_decoder;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_open2;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_parameters_to_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_receive_frame;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_send_packet;
import static org.bytedeco.ffmpeg.global.avformat.av_find_best_stream;
import static org.bytedeco.ffmpeg.global.avformat.av_read_frame;
import static org.bytedeco.ffmpeg.global.avformat.avformat_close_input;
import static org.bytedeco.ffmpeg.global.avformat.avformat_find_stream_info;
import static org.bytedeco.ffmpeg.global.avformat.avformat_open_input;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EOF;
import static org.bytedeco.ffmpeg.global.avutil.AVMEDIA_TYPE_VIDEO;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_alloc;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_unref;
import static org.bytedeco.ffmpeg.global.avutil.av_q2d;
import static org.bytedeco.ffmpeg.global.avutil.av_strerror;
import static org.bytedeco.ffmpeg.global.swscale.SWS_AREA;
import static org.bytedeco.ffmpeg.global.swscale.SWS_BILINEAR;
import static org.bytedeco.ffmpeg.global.swscale.sws_freeContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_getContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_scale;

import dev.merv.core.model.Frame;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipReason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
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
 * <p>The file is opened once and decoded forward; only frames at a sampled index are converted to
 * RGB and decoding stops after the last one. There is no seek per frame (that would re-decode from
 * the previous key frame each time); for long videos ({@link Options#keyframeSkip}) whole GOPs
 * without a sampled frame are jumped over, one seek per skipped stretch, with frame indices taken
 * from a timestamp map so they equal a sequential decode's. Memory per video is the decoder's own
 * reference frames plus {@code K} RGB frames at the stored resolution (or at most
 * {@link Options#maxFrameSide} on the long side when that cap is set).
 *
 * <p>Colour conversion uses swscale with {@code SWS_BILINEAR} flags, the same call PyAV's
 * {@code to_ndarray(format="rgb24")} makes, so frames agree with the reference fixture's frames
 * up to decoder differences. Thread-safe: each call opens its own FFmpeg contexts.
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
     *     exceeded (checked between packets)
     * @param clock how elapsed time is measured
     * @param maxFrameSide 0 keeps the stored resolution (parity); otherwise frames whose long side
     *     is larger are downscaled (area filter) while converting, which bounds memory for very large
     *     videos but changes what the encoders' resizes see
     * @param keyframeSkip for long videos, jump over whole GOPs that hold no sampled frame (seek to
     *     the key frame before the next sampled frame, then decode forward); frames are identical to
     *     a sequential decode, any inconsistency falls back to the sequential decode
     * @param seekMinFrames videos with fewer frames are always decoded sequentially (the extra
     *     demuxing pass that maps timestamps to frame indices does not pay off for short clips)
     */
    public record Options(int decoderThreads, long timeoutNanos, DecodeClock clock, int maxFrameSide,
            boolean keyframeSkip, int seekMinFrames) {
        public static Options defaults() {
            return new Options(1, 60_000_000_000L, DecodeClock.SYSTEM, 0, true, 256);
        }

        public Options withTimeout(long nanos, DecodeClock clock) {
            return new Options(decoderThreads, nanos, clock, maxFrameSide, keyframeSkip, seekMinFrames);
        }

        public Options withKeyframeSkip(boolean skip, int minFrames) {
            return new Options(decoderThreads, timeoutNanos, clock, maxFrameSide, skip, minFrames);
        }

        public Options withMaxFrameSide(int side) {
            return new Options(decoderThreads, timeoutNanos, clock, side, keyframeSkip, seekMinFrames);
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
        try (Session s = open(file)) {
            // the reference decodes GIFs with PIL and samples linspace(0, N-1, K) without the fps rule
            boolean gif = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".gif");
            int[] idx = FrameSampling.videoIndices(s.numFrames, gif ? 0 : s.avgFps, k);
            if (options.keyframeSkip() && s.numFrames >= options.seekMinFrames()) {
                Frame[] skipped = s.decodeSkippingGops(idx);
                if (skipped != null) {
                    return new SampledVideo(List.of(skipped), idx, s.numFrames, s.avgFps, s.decoded);
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
                        + " decoded frames, but frame " + idx[next[0]] + " of " + s.numFrames + " declared was sampled");
            }
            return new SampledVideo(List.of(frames), idx, s.numFrames, s.avgFps, s.decoded);
        }
    }

    /** Decodes the first frame (used for still images FFmpeg can read but ImageIO cannot). */
    public Frame decodeFirst(Path file) throws SampleException {
        try (Session s = open(file)) {
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
     * Decodes every frame and converts each to RGB (the naive approach; the benchmark's baseline).
     * Returns the number of frames.
     */
    public int decodeAll(Path file, Consumer<Frame> sink) throws SampleException {
        try (Session s = open(file)) {
            s.decode(Integer.MAX_VALUE, (index, frame) -> sink.accept(s.toRgb(frame)), index -> true);
            return s.decoded;
        }
    }

    /** Frame count and average rate of {@code file} without decoding frames. */
    public int frameCount(Path file) throws SampleException {
        try (Session s = open(file)) {
            return s.numFrames;
        }
    }

    private Session open(Path file) throws SampleException {
        if (!Files.exists(file)) {
            throw new SampleException(SkipReason.MISSING, file + ": no such file");
        }
        Session s = new Session(file);
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
        AVFormatContext fmt;
        AVCodecContext ctx;
        AVPacket pkt;
        AVFrame frame;
        SwsContext sws;
        BytePointer rgbBuf;
        int swsW;
        int swsH;
        int swsFmt = -1;
        int outW;
        int outH;
        int stream = -1;
        int numFrames;
        double avgFps;
        int decoded;

        Session(Path file) {
            this.file = file;
        }

        void open() throws SampleException {
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
            long n = st.nb_frames();
            if (n <= 0) {
                n = countPackets();
                // countPackets reopened the file: the old stream struct is gone
                st = fmt.streams(stream);
            }
            if (n <= 0) {
                throw new SampleException(SkipReason.EMPTY, file + ": video stream has no frames");
            }
            if (n > Integer.MAX_VALUE) {
                throw new SampleException(SkipReason.CORRUPT, file + ": implausible frame count " + n);
            }
            numFrames = (int) n;
            AVCodec codec = avcodec_find_decoder(st.codecpar().codec_id());
            if (codec == null) {
                throw new SampleException(SkipReason.CORRUPT, file + ": no decoder for codec id " + st.codecpar().codec_id());
            }
            ctx = avcodec_alloc_context3(codec);
            if (avcodec_parameters_to_context(ctx, st.codecpar()) < 0) {
                throw new SampleException(SkipReason.CORRUPT, file + ": bad codec parameters");
            }
            ctx.thread_count(options.decoderThreads());
            r = avcodec_open2(ctx, codec, (AVDictionary) null);
            if (r < 0) {
                throw new SampleException(SkipReason.CORRUPT, file + ": cannot open decoder (" + err(r) + ")");
            }
            pkt = av_packet_alloc();
            frame = av_frame_alloc();
        }

        /** Containers without a frame count (e.g. Matroska): count the stream's packets, then reopen. */
        private long countPackets() throws SampleException {
            AVPacket p = av_packet_alloc();
            long count = 0;
            try {
                while (av_read_frame(fmt, p) >= 0) {
                    if (p.stream_index() == stream) {
                        count++;
                    }
                    av_packet_unref(p);
                }
            } finally {
                av_packet_free(p);
            }
            reopen();
            return count;
        }

        /** Reopens the demuxer at the start of the file (the decoder, if open, is flushed). */
        private void reopen() throws SampleException {
            avformat_close_input(fmt);
            fmt = new AVFormatContext(null);
            int r = avformat_open_input(fmt, file.toString(), null, null);
            if (r < 0) {
                fmt = null;
                throw new SampleException(SkipReason.CORRUPT, file + ": cannot reopen (" + err(r) + ")");
            }
            avformat_find_stream_info(fmt, (PointerPointer<?>) null);
            if (ctx != null) {
                avcodec_flush_buffers(ctx);
            }
        }

        /** Back to the first frame for a sequential decode after the GOP-skipping path gave up. */
        void restart() throws SampleException {
            reopen();
            decoded = 0;
        }

        /**
         * Sampled frames decoded GOP by GOP: one demuxing pass (no decoding) collects every packet's
         * timestamp and key flag, which maps timestamps to display-order frame indices exactly as a
         * sequential decode counts them; then, whenever the next sampled frame lies in a later GOP
         * than the decoder has reached, seek to that GOP's key frame and decode forward. Returns null
         * (caller decodes sequentially) when timestamps are missing or inconsistent, a seek lands
         * past its target, or a sampled frame does not come out.
         */
        Frame[] decodeSkippingGops(int[] idx) throws SampleException {
            DecodeClock.Timer timer = options.clock().start();
            long[] pts = new long[numFrames];
            long[] keyPts = new long[16];
            long[] keySeek = new long[16];
            int n = 0;
            int keys = 0;
            while (av_read_frame(fmt, pkt) >= 0) {
                try {
                    if (timer.elapsedNanos() > options.timeoutNanos()) {
                        throw new SampleException(SkipReason.TIMEOUT, file + ": indexing exceeded "
                                + options.timeoutNanos() / 1_000_000 + " ms");
                    }
                    if (pkt.stream_index() != stream) {
                        continue;
                    }
                    if (pkt.pts() == AV_NOPTS_VALUE || n == pts.length) {
                        return null;
                    }
                    pts[n++] = pkt.pts();
                    if ((pkt.flags() & AV_PKT_FLAG_KEY) != 0) {
                        if (keys == keyPts.length) {
                            keyPts = java.util.Arrays.copyOf(keyPts, keys * 2);
                            keySeek = java.util.Arrays.copyOf(keySeek, keys * 2);
                        }
                        keyPts[keys] = pkt.pts();
                        keySeek[keys++] = pkt.dts() != AV_NOPTS_VALUE ? Math.min(pkt.dts(), pkt.pts()) : pkt.pts();
                    }
                } finally {
                    av_packet_unref(pkt);
                }
            }
            reopen();
            if (n != numFrames || keys == 0) {
                return null;
            }
            long[] sorted = pts.clone();
            java.util.Arrays.sort(sorted);
            for (int i = 1; i < n; i++) {
                if (sorted[i] == sorted[i - 1]) {
                    return null;
                }
            }
            // key frames in display order, with the timestamp to seek to
            int[] keyDisplay = new int[keys];
            Integer[] order = new Integer[keys];
            for (int i = 0; i < keys; i++) {
                order[i] = i;
            }
            long[] kp = keyPts;
            java.util.Arrays.sort(order, java.util.Comparator.comparingLong(i -> kp[i]));
            long[] seekTs = new long[keys];
            for (int i = 0; i < keys; i++) {
                keyDisplay[i] = java.util.Arrays.binarySearch(sorted, keyPts[order[i]]);
                seekTs[i] = keySeek[order[i]];
            }
            if (keyDisplay[0] != 0) {
                return null;
            }

            int k = idx.length;
            Frame[] out = new Frame[k];
            int next = 0;
            int gopStart = 0;
            int lastOut = -1;
            boolean checkLanding = false;
            boolean flushing = false;
            while (next < k) {
                checkTimeout(timer, "before frame " + idx[next]);
                int kpos = java.util.Arrays.binarySearch(keyDisplay, idx[next]);
                if (kpos < 0) {
                    kpos = -kpos - 2;
                }
                if (keyDisplay[kpos] > gopStart && keyDisplay[kpos] > lastOut) {
                    if (av_seek_frame(fmt, stream, seekTs[kpos], AVSEEK_FLAG_BACKWARD) < 0) {
                        return null;
                    }
                    avcodec_flush_buffers(ctx);
                    gopStart = keyDisplay[kpos];
                    checkLanding = true;
                    flushing = false;
                }
                if (!flushing) {
                    int fed = feedPacket();
                    if (fed == FEED_FLUSHING) {
                        flushing = true;
                    } else if (fed == FEED_OTHER_STREAM) {
                        continue;
                    }
                }
                boolean got = false;
                while (next < k && avcodec_receive_frame(ctx, frame) >= 0) {
                    got = true;
                    try {
                        long ts = frame.best_effort_timestamp();
                        if (ts == AV_NOPTS_VALUE) {
                            ts = frame.pts();
                        }
                        int d = java.util.Arrays.binarySearch(sorted, ts);
                        if (d < 0 || (checkLanding && d > idx[next])) {
                            return null;
                        }
                        checkLanding = false;
                        decoded++;
                        lastOut = Math.max(lastOut, d);
                        Frame rgb = null;
                        while (next < k && idx[next] == d) {
                            if (rgb == null) {
                                rgb = toRgb(frame);
                            }
                            out[next++] = rgb;
                        }
                        if (next < k && d > idx[next]) {
                            return null;
                        }
                    } finally {
                        av_frame_unref(frame);
                    }
                }
                if (flushing && !got) {
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
            DecodeClock.Timer timer = options.clock().start();
            boolean flushing = false;
            while (decoded <= lastIndex) {
                checkTimeout(timer, "after " + decoded + " frames");
                if (!flushing) {
                    int fed = feedPacket();
                    if (fed == FEED_FLUSHING) {
                        flushing = true;
                    } else if (fed == FEED_OTHER_STREAM
                            // A damaged packet is dropped; a file missing frames fails later on the count.
                            || (fed < 0 && fed != AVERROR_EAGAIN && fed != AVERROR_EOF)) {
                        continue;
                    }
                }
                boolean got = false;
                while (decoded <= lastIndex) {
                    int r = avcodec_receive_frame(ctx, frame);
                    if (r < 0) {
                        break;
                    }
                    got = true;
                    int index = decoded++;
                    try {
                        if (wanted.test(index)) {
                            sink.accept(index, frame);
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
        private int feedPacket() {
            if (av_read_frame(fmt, pkt) < 0) {
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

        private void checkTimeout(DecodeClock.Timer timer, String where) throws SampleException {
            if (timer.elapsedNanos() > options.timeoutNanos()) {
                throw new SampleException(SkipReason.TIMEOUT, file + ": decode exceeded "
                        + options.timeoutNanos() / 1_000_000 + " ms " + where);
            }
        }

        Frame toRgb(AVFrame f) throws SampleException {
            int w = f.width();
            int h = f.height();
            if (w <= 0 || h <= 0) {
                throw new SampleException(SkipReason.CORRUPT, file + ": frame with size " + w + "x" + h);
            }
            if (sws == null || w != swsW || h != swsH || f.format() != swsFmt) {
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
                swsW = w;
                swsH = h;
                swsFmt = f.format();
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
            return new Frame(outW, outH, rgb);
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
