package dev.merv.data.video;

import static org.bytedeco.ffmpeg.global.avcodec.AV_PKT_DATA_DISPLAYMATRIX;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_side_data_get;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_get;
import static org.bytedeco.ffmpeg.global.avutil.av_display_rotation_get;

import dev.merv.core.model.Frame;
import org.bytedeco.ffmpeg.avcodec.AVCodecParameters;
import org.bytedeco.ffmpeg.avcodec.AVPacketSideData;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionaryEntry;
import org.bytedeco.javacpp.IntPointer;

/**
 * The rotation a video asks players to apply (phones store portrait video as landscape plus a display
 * matrix), applied to decoded frames the way the reference's decoder (decord) applies it: the clockwise
 * angle is the stream's legacy {@code rotate} tag when set, else minus the display matrix's
 * (counter-clockwise) rotation angle; 90, 180 and 270 degrees turn the frame clockwise (90/270 swap width
 * and height), any other angle leaves it as stored. Like the reference, only the matrix's angle is used
 * (a mirroring in it is not applied as such).
 */
final class DisplayRotation {

    private DisplayRotation() {}

    /** Clockwise quarter-turn angle of {@code stream}: 0, 90, 180 or 270. */
    static int clockwiseDegrees(AVStream stream) {
        double theta = 0;
        AVDictionaryEntry tag = av_dict_get(stream.metadata(), "rotate", null, 0);
        if (tag != null) {
            try {
                theta = Double.parseDouble(tag.value().getString().trim());
            } catch (NumberFormatException e) {
                theta = 0;
            }
        }
        if (theta == 0) {
            AVCodecParameters par = stream.codecpar();
            AVPacketSideData sd = par.nb_coded_side_data() > 0
                    ? av_packet_side_data_get(par.coded_side_data(), par.nb_coded_side_data(), AV_PKT_DATA_DISPLAYMATRIX)
                    : null;
            if (sd != null && sd.size() >= 36) {
                // the matrix stores the counter-clockwise angle
                theta = -av_display_rotation_get(new IntPointer(sd.data()));
            }
        }
        return normalise(theta);
    }

    /** {@code theta} degrees as 0, 90, 180 or 270 when it is a quarter turn (to the nearest degree), else 0. */
    static int normalise(double theta) {
        if (!Double.isFinite(theta)) {
            return 0;
        }
        long deg = Math.round(theta) % 360;
        if (deg < 0) {
            deg += 360;
        }
        return deg % 90 == 0 ? (int) deg : 0;
    }

    /** {@code f} turned clockwise by {@code degrees} (0, 90, 180 or 270). */
    static Frame rotate(Frame f, int degrees) {
        if (degrees == 0) {
            return f;
        }
        int w = f.width();
        int h = f.height();
        byte[] in = f.rgb();
        byte[] out = new byte[in.length];
        int ow = degrees == 180 ? w : h;
        int oh = degrees == 180 ? h : w;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int ox;
                int oy;
                switch (degrees) {
                    case 90 -> {
                        ox = h - 1 - y;
                        oy = x;
                    }
                    case 180 -> {
                        ox = w - 1 - x;
                        oy = h - 1 - y;
                    }
                    case 270 -> {
                        ox = y;
                        oy = w - 1 - x;
                    }
                    default -> throw new IllegalArgumentException("rotation " + degrees + " is not a quarter turn");
                }
                int s = (y * w + x) * 3;
                int d = (oy * ow + ox) * 3;
                out[d] = in[s];
                out[d + 1] = in[s + 1];
                out[d + 2] = in[s + 2];
            }
        }
        return new Frame(ow, oh, out);
    }
}
