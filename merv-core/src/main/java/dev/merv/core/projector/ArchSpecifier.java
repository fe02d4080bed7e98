package dev.merv.core.projector;

import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parsed {@code arch_specifier} (docs/reference.md §3.1), e.g. {@code no-align+3davg+linear}.
 *
 * <ul>
 *   <li>The head comes from the suffix: {@code linear}, {@code fused-gelu-mlp}, {@code gelu-mlp}, {@code none}.
 *   <li>The resampler is the first of {@code avg, attntv, conv, 3davg, 3dconv} present as an exact
 *       {@code +}-element; none = the head alone on every encoder token.
 *   <li>{@code frameN} (for {@code 3davg}/{@code 3dconv} only) divides the pooled frame count by N.
 *   <li>{@code no-align} prefix: the architecture needs no stage-1 weights; a finetune run starts from
 *       freshly initialised projectors and fusion and loads nothing (docs/reference.md §1.4). It does not change the model.
 * </ul>
 */
public record ArchSpecifier(String text, boolean noAlign, ResamplerType resampler, HeadType head, int frameFactor) {

    private static final Pattern FRAME = Pattern.compile("frame(\\d+)");

    /** The kind of token resampler. */
    public enum ResamplerType {
        /** No resampling: the head runs on all {@code T x S} encoder tokens. */
        NONE(""),
        AVG("avg"),
        ATTNTV("attntv"),
        CONV("conv"),
        AVG3D("3davg"),
        CONV3D("3dconv");

        private final String element;

        ResamplerType(String element) {
            this.element = element;
        }

        public String element() {
            return element;
        }
    }

    /** The projection head after the resampler. */
    public enum HeadType {
        /** {@code Linear(d, D)}. */
        LINEAR("linear"),
        /** {@code Linear(d, D) -> GELU -> Linear(D, D)}. */
        GELU_MLP("gelu-mlp"),
        /** {@code Linear(d, 4d) -> GELU -> Linear(4d, D) -> GELU -> Linear(D, D)}. */
        FUSED_GELU_MLP("fused-gelu-mlp"),
        /** Identity (the resampler must already produce the LLM width). */
        NONE("none");

        private final String suffix;

        HeadType(String suffix) {
            this.suffix = suffix;
        }

        public String suffix() {
            return suffix;
        }
    }

    /** Parses {@code text}; fails naming {@code model.arch_specifier} and the accepted forms. */
    public static ArchSpecifier parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("model.arch_specifier is empty; use e.g. no-align+3davg+linear");
        }
        HeadType head;
        if (text.endsWith("linear")) {
            head = HeadType.LINEAR;
        } else if (text.endsWith("fused-gelu-mlp")) {
            head = HeadType.FUSED_GELU_MLP;
        } else if (text.endsWith("gelu-mlp")) {
            head = HeadType.GELU_MLP;
        } else if (text.endsWith("none")) {
            head = HeadType.NONE;
        } else {
            throw new IllegalArgumentException("model.arch_specifier='" + text + "' must end with a head: linear,"
                    + " gelu-mlp, fused-gelu-mlp or none (e.g. no-align+3davg+linear)");
        }
        List<String> parts = Arrays.asList(text.split("\\+"));
        ResamplerType resampler = ResamplerType.NONE;
        for (ResamplerType r : new ResamplerType[] {ResamplerType.AVG, ResamplerType.ATTNTV, ResamplerType.CONV,
                ResamplerType.AVG3D, ResamplerType.CONV3D}) {
            if (parts.contains(r.element())) {
                resampler = r;
                break;
            }
        }
        int factor = 1;
        if ((resampler == ResamplerType.AVG3D || resampler == ResamplerType.CONV3D) && text.contains("frame")) {
            Matcher m = FRAME.matcher(text);
            if (!m.find()) {
                throw new IllegalArgumentException("model.arch_specifier='" + text + "': 'frame' must be followed by the"
                        + " temporal factor, e.g. no-align+3davg+frame2+linear");
            }
            factor = Integer.parseInt(m.group(1));
            if (factor < 1) {
                throw new IllegalArgumentException("model.arch_specifier='" + text + "': frame factor must be >= 1");
            }
        }
        return new ArchSpecifier(text, text.startsWith("no-align"), resampler, head, factor);
    }

    /** Pooled grid side {@code s = sqrt(projector_token_length)}; fails when not a perfect square. */
    public static int outputSize(int projectorTokenLength) {
        int s = (int) Math.round(Math.sqrt(projectorTokenLength));
        if (projectorTokenLength <= 0 || s * s != projectorTokenLength) {
            int lo = (int) Math.floor(Math.sqrt(Math.max(1, projectorTokenLength)));
            throw new IllegalArgumentException("model.projector_token_length=" + projectorTokenLength
                    + " is not a perfect square; use " + lo * lo + " or " + (lo + 1) * (lo + 1));
        }
        return s;
    }

    /** Frames out of the resampler for an encoder with {@code temporalResolution} slots. */
    public int outputFrames(int temporalResolution) {
        return switch (resampler) {
            case AVG3D, CONV3D -> temporalResolution / frameFactor;
            default -> temporalResolution;
        };
    }

    /** Tokens per output frame. */
    public int tokensPerFrame(int projectorTokenLength, int spatialResolution) {
        return switch (resampler) {
            case NONE -> spatialResolution;
            case ATTNTV -> projectorTokenLength;
            default -> {
                int s = outputSize(projectorTokenLength);
                yield s * s;
            }
        };
    }

    /** Visual tokens one encoder contributes: {@code outputFrames x tokensPerFrame}. */
    public int outputLength(int temporalResolution, int spatialResolution, int projectorTokenLength) {
        return outputFrames(temporalResolution) * tokensPerFrame(projectorTokenLength, spatialResolution);
    }

    public boolean resamples() {
        return resampler != ResamplerType.NONE;
    }
}
