package dev.merv.data.video;

import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_H264;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_HEVC;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_MPEG1VIDEO;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_MPEG2VIDEO;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_MPEG4;

import java.nio.ByteBuffer;

/**
 * Which pictures the decoder may drop unseen ({@code skip_frame = AVDISCARD_NONREF}) without changing
 * any other picture, per codec. FFmpeg's decoders drop, at that setting:
 *
 * <ul>
 *   <li>H.264: NAL units with {@code nal_ref_idc == 0}, i.e. pictures the standard forbids any other
 *       picture to reference: exact.
 *   <li>MPEG-4 Part 2, MPEG-1/2: B-VOPs / B-pictures, which are never references: exact.
 *   <li>HEVC: pictures of the sub-layer non-reference NAL types ({@code TRAIL_N}, {@code RASL_N}, ...).
 *       Such a picture may still be referenced by pictures of a higher temporal sub-layer, so dropping is
 *       exact only for pictures of the stream's highest {@code TemporalId}; the index pass reads every
 *       packet's {@code TemporalId} ({@link #hevcTemporalId}) and the decoder is asked to drop only
 *       packets of the highest one (it then drops those of a non-reference type).
 * </ul>
 *
 * Other codecs (VP8/VP9/AV1 mark no such pictures in a way FFmpeg acts on) drop nothing.
 */
enum NonReferenceRule {
    /** Drop nothing. */
    NONE,
    /** The decoder's own rule is exact: allow dropping every unsampled packet. */
    DECODER,
    /** HEVC: allow dropping only pictures of the highest temporal sub-layer present. */
    HEVC_TOP_SUBLAYER;

    static NonReferenceRule of(int codecId) {
        if (codecId == AV_CODEC_ID_H264 || codecId == AV_CODEC_ID_MPEG4 || codecId == AV_CODEC_ID_MPEG2VIDEO
                || codecId == AV_CODEC_ID_MPEG1VIDEO) {
            return DECODER;
        }
        return codecId == AV_CODEC_ID_HEVC ? HEVC_TOP_SUBLAYER : NONE;
    }

    /**
     * The largest {@code TemporalId} among the VCL NAL units of one HEVC packet, or -1 when it holds none.
     *
     * @param lengthSize bytes of the NAL length prefix (from the {@code hvcC} record), or 0 for Annex B
     *     start codes
     */
    static int hevcTemporalId(ByteBuffer data, int lengthSize) {
        int n = data.limit();
        int best = -1;
        if (lengthSize > 0) {
            int at = 0;
            while (at + lengthSize + 2 <= n) {
                long len = 0;
                for (int i = 0; i < lengthSize; i++) {
                    len = (len << 8) | (data.get(at + i) & 0xff);
                }
                int h = at + lengthSize;
                best = Math.max(best, vclTemporalId(data.get(h), data.get(h + 1)));
                at = (int) Math.min(n, h + len);
                if (len == 0) {
                    break;
                }
            }
            return best;
        }
        // Annex B: every picture's VCL NAL units share one TemporalId, so the first one decides
        for (int i = 0; i + 4 < n; i++) {
            if (data.get(i) == 0 && data.get(i + 1) == 0 && data.get(i + 2) == 1) {
                int tid = vclTemporalId(data.get(i + 3), data.get(i + 4));
                if (tid >= 0) {
                    return tid;
                }
                i += 2;
            }
        }
        return -1;
    }

    /** TemporalId of a VCL NAL unit from its two header bytes, -1 for non-VCL units. */
    private static int vclTemporalId(byte b0, byte b1) {
        int type = (b0 >> 1) & 0x3f;
        if (type > 31) {
            return -1;
        }
        return (b1 & 7) - 1;
    }

    /** NAL length-prefix size from an {@code hvcC} record, or 0 when the extradata is not one (Annex B). */
    static int hevcLengthSize(ByteBuffer extradata) {
        if (extradata == null || extradata.limit() < 23 || extradata.get(0) != 1) {
            return 0;
        }
        return (extradata.get(21) & 3) + 1;
    }
}
