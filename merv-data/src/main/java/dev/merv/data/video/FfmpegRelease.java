package dev.merv.data.video;

import static org.bytedeco.ffmpeg.global.avcodec.av_packet_free;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_free_context;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_free;
import static org.bytedeco.ffmpeg.global.swscale.sws_freeContext;

import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.swscale.SwsContext;
import org.bytedeco.javacpp.BytePointer;

/**
 * Null-safe frees of the FFmpeg objects {@link VideoDecoder} and {@link VideoWriter} both hold (codec
 * context, packet, frame, scaler, RGB buffer). Each returns {@code null} so a field is freed and cleared in
 * one statement and a second close is a no-op; the callers keep the order (scaler and buffers before the
 * codec, the format context last, closed the way its direction needs).
 */
final class FfmpegRelease {

    private FfmpegRelease() {}

    static SwsContext free(SwsContext sws) {
        if (sws != null) {
            sws_freeContext(sws);
        }
        return null;
    }

    static BytePointer free(BytePointer buffer) {
        if (buffer != null) {
            buffer.close();
        }
        return null;
    }

    static AVFrame free(AVFrame frame) {
        if (frame != null) {
            av_frame_free(frame);
        }
        return null;
    }

    static AVPacket free(AVPacket pkt) {
        if (pkt != null) {
            av_packet_free(pkt);
        }
        return null;
    }

    static AVCodecContext free(AVCodecContext ctx) {
        if (ctx != null) {
            avcodec_free_context(ctx);
        }
        return null;
    }
}
