package dev.merv.data.video;

import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_QUIET;
import static org.bytedeco.ffmpeg.global.avutil.av_log_set_level;

/**
 * FFmpeg's global log level, set once before the first decode or encode: quiet by default
 * (damaged files are reported through skip reports, not FFmpeg's stderr chatter); override with
 * {@code -Dmerv.ffmpeg.loglevel=N} (FFmpeg's AV_LOG_* values, e.g. 16 = errors, 32 = info).
 */
final class FFmpegLog {

    static {
        av_log_set_level(Integer.getInteger("merv.ffmpeg.loglevel", AV_LOG_QUIET));
    }

    private FFmpegLog() {}

    /** Triggers the class initialiser. */
    static void init() {}
}
