package dev.merv.data.video;

import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_FLAG_GLOBAL_HEADER;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_FLAG_QSCALE;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_alloc;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_rescale_ts;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_unref;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_alloc_context3;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_find_encoder_by_name;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_open2;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_parameters_from_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_receive_packet;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_send_frame;
import static org.bytedeco.ffmpeg.global.avformat.AVFMT_GLOBALHEADER;
import static org.bytedeco.ffmpeg.global.avformat.AVFMT_NOFILE;
import static org.bytedeco.ffmpeg.global.avformat.AVIO_FLAG_WRITE;
import static org.bytedeco.ffmpeg.global.avformat.av_interleaved_write_frame;
import static org.bytedeco.ffmpeg.global.avformat.av_write_trailer;
import static org.bytedeco.ffmpeg.global.avformat.avformat_alloc_output_context2;
import static org.bytedeco.ffmpeg.global.avformat.avformat_free_context;
import static org.bytedeco.ffmpeg.global.avformat.avformat_new_stream;
import static org.bytedeco.ffmpeg.global.avformat.avformat_write_header;
import static org.bytedeco.ffmpeg.global.avformat.avio_closep;
import static org.bytedeco.ffmpeg.global.avformat.avio_open;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUV420P;
import static org.bytedeco.ffmpeg.global.avutil.FF_QP2LAMBDA;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_free;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_set;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_alloc;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_get_buffer;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_make_writable;
import static org.bytedeco.ffmpeg.global.avutil.av_make_q;
import static org.bytedeco.ffmpeg.global.swscale.SWS_BILINEAR;
import static org.bytedeco.ffmpeg.global.swscale.sws_getContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_scale;

import dev.merv.core.model.Frame;
import java.io.IOException;
import java.nio.file.Path;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVIOContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.swscale.SwsContext;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Encodes RGB frames into an mp4 with FFmpeg (yuv420p, MPEG-4 part 2 — the bytedeco build has no
 * libx264 — constant quantiser, B-frames so that decoders must reorder). Deterministic for the same
 * frames: single-threaded encoding. Used by the synthetic dataset and the benchmark.
 */
public final class VideoWriter implements AutoCloseable {

    static {
        FFmpegLog.init();
    }

    /** Encoders tried in order; the first the FFmpeg build has is used. */
    private static final String[] ENCODERS = {"mpeg4"};

    private final Path file;
    private final int width;
    private final int height;
    private AVFormatContext fmt;
    private AVCodecContext ctx;
    private AVStream stream;
    private AVFrame yuv;
    private AVPacket pkt;
    private SwsContext sws;
    private BytePointer rgbBuf;
    private long pts;
    private boolean finished;

    /**
     * @param faststart write the index (moov) before the media data, as streaming-ready files do;
     *     a truncated faststart file opens but ends early, a truncated default file does not open
     */
    public VideoWriter(Path file, int width, int height, int fps, boolean faststart) throws IOException {
        if (width % 2 != 0 || height % 2 != 0 || width <= 0 || height <= 0) {
            throw new IllegalArgumentException("yuv420p needs positive even sizes, got " + width + "x" + height);
        }
        this.file = file;
        this.width = width;
        this.height = height;
        try {
            open(fps, faststart);
        } catch (IOException | RuntimeException e) {
            release();
            throw e;
        }
    }

    /** Name of the encoder this FFmpeg build offers for synthetic videos. */
    public static String encoderName() {
        for (String name : ENCODERS) {
            if (avcodec_find_encoder_by_name(name) != null) {
                return name;
            }
        }
        throw new IllegalStateException("no usable video encoder in this FFmpeg build (tried mpeg4)");
    }

    private void open(int fps, boolean faststart) throws IOException {
        fmt = new AVFormatContext(null);
        int r = avformat_alloc_output_context2(fmt, null, "mp4", file.toString());
        if (r < 0 || fmt.isNull()) {
            fmt = null;
            throw new IOException(file + ": cannot create mp4 muxer (" + VideoDecoder.err(r) + ")");
        }
        AVCodec codec = avcodec_find_encoder_by_name(encoderName());
        stream = avformat_new_stream(fmt, null);
        ctx = avcodec_alloc_context3(codec);
        ctx.width(width);
        ctx.height(height);
        ctx.pix_fmt(AV_PIX_FMT_YUV420P);
        ctx.time_base(av_make_q(1, fps));
        ctx.framerate(av_make_q(fps, 1));
        ctx.gop_size(12);
        ctx.max_b_frames(2);
        ctx.thread_count(1);
        ctx.flags(ctx.flags() | AV_CODEC_FLAG_QSCALE);
        ctx.global_quality(FF_QP2LAMBDA * 3);
        if ((fmt.oformat().flags() & AVFMT_GLOBALHEADER) != 0) {
            ctx.flags(ctx.flags() | AV_CODEC_FLAG_GLOBAL_HEADER);
        }
        r = avcodec_open2(ctx, codec, (AVDictionary) null);
        if (r < 0) {
            throw new IOException(file + ": cannot open encoder (" + VideoDecoder.err(r) + ")");
        }
        avcodec_parameters_from_context(stream.codecpar(), ctx);
        stream.time_base(av_make_q(1, fps));
        stream.avg_frame_rate(av_make_q(fps, 1));
        if ((fmt.oformat().flags() & AVFMT_NOFILE) == 0) {
            AVIOContext pb = new AVIOContext(null);
            r = avio_open(pb, file.toString(), AVIO_FLAG_WRITE);
            if (r < 0) {
                throw new IOException(file + ": cannot open for writing (" + VideoDecoder.err(r) + ")");
            }
            fmt.pb(pb);
        }
        AVDictionary opts = new AVDictionary(null);
        if (faststart) {
            av_dict_set(opts, "movflags", "+faststart", 0);
        }
        r = avformat_write_header(fmt, opts);
        av_dict_free(opts);
        if (r < 0) {
            throw new IOException(file + ": cannot write header (" + VideoDecoder.err(r) + ")");
        }
        yuv = av_frame_alloc();
        yuv.format(AV_PIX_FMT_YUV420P);
        yuv.width(width);
        yuv.height(height);
        if (av_frame_get_buffer(yuv, 0) < 0) {
            throw new IOException(file + ": cannot allocate a frame");
        }
        pkt = av_packet_alloc();
        sws = sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, null, null,
                (DoublePointer) null);
        rgbBuf = new BytePointer((long) width * height * 3);
    }

    /** Appends one frame (same size as the video). */
    public void write(Frame frame) throws IOException {
        if (frame.width() != width || frame.height() != height) {
            throw new IllegalArgumentException("frame " + frame.width() + "x" + frame.height() + " in a " + width + "x"
                    + height + " video");
        }
        av_frame_make_writable(yuv);
        rgbBuf.position(0).put(frame.rgb(), 0, frame.rgb().length).position(0);
        try (PointerPointer<BytePointer> src = new PointerPointer<BytePointer>(4).put(0, rgbBuf);
                IntPointer srcStride = new IntPointer(width * 3, 0, 0, 0)) {
            sws_scale(sws, src, srcStride, 0, height, yuv.data(), yuv.linesize());
        }
        yuv.pts(pts++);
        send(yuv);
    }

    private void send(AVFrame f) throws IOException {
        int r = avcodec_send_frame(ctx, f);
        if (r < 0) {
            throw new IOException(file + ": encoding failed (" + VideoDecoder.err(r) + ")");
        }
        while (avcodec_receive_packet(ctx, pkt) >= 0) {
            av_packet_rescale_ts(pkt, ctx.time_base(), stream.time_base());
            pkt.stream_index(stream.index());
            r = av_interleaved_write_frame(fmt, pkt);
            av_packet_unref(pkt);
            if (r < 0) {
                throw new IOException(file + ": writing a packet failed (" + VideoDecoder.err(r) + ")");
            }
        }
    }

    /** Flushes the encoder and writes the trailer. */
    @Override
    public void close() throws IOException {
        try {
            if (!finished && fmt != null && ctx != null && pkt != null) {
                finished = true;
                send(null);
                int r = av_write_trailer(fmt);
                if (r < 0) {
                    throw new IOException(file + ": cannot write trailer (" + VideoDecoder.err(r) + ")");
                }
            }
        } finally {
            release();
        }
    }

    private void release() {
        sws = FfmpegRelease.free(sws);
        rgbBuf = FfmpegRelease.free(rgbBuf);
        yuv = FfmpegRelease.free(yuv);
        pkt = FfmpegRelease.free(pkt);
        ctx = FfmpegRelease.free(ctx);
        if (fmt != null) {
            if (fmt.pb() != null && !fmt.pb().isNull() && (fmt.oformat().flags() & AVFMT_NOFILE) == 0) {
                AVIOContext pb = fmt.pb();
                avio_closep(pb);
                fmt.pb(null);
            }
            avformat_free_context(fmt);
            fmt = null;
        }
    }
}
