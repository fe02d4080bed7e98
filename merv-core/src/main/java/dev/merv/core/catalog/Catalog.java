package dev.merv.core.catalog;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The lookup over every backbone id merv knows: video encoders and LLMs, one {@link EncoderEntry} or
 * {@link LlmEntry} each, in catalog order (reference ids first). Ids the reference registers but merv
 * cannot build are entries too, marked unsupported with the reason, so that a configuration naming one
 * is refused before anything loads. docs/weights.md renders the entries as tables.
 */
public final class Catalog {

    /** {@code merv-base}'s encoders. */
    public static final String LANGUAGEBIND = "languagebind-video-noclass";
    public static final String DINOV2 = "dinov2-video-all-tokens";
    public static final String VIVIT = "vivit-google-b-all-no-cls-16frames";
    public static final String SIGLIP = "siglip-vit-b16-224px-all-no-cls";
    /** The Hiera id of the training guide's "merv-novel" variant. */
    public static final String HIERA = "hiera-base-plus-video";
    /** {@code merv-base}'s LLM. */
    public static final String LLAMA2_7B_PURE = "llama2-7b-pure";

    /** {@code merv-tiny}'s random encoders, in its order. */
    public static final String TINY_LANGUAGEBIND = "languagebind-video-noclass-tiny";
    public static final String TINY_DINOV2 = "dinov2-video-all-tokens-tiny";
    public static final String TINY_HIERA = "hiera-base-plus-video-tiny";
    public static final String TINY_SIGLIP = "siglip-vit-b16-224px-all-no-cls-tiny";
    /** {@code merv-tiny}'s LLM: a random Llama-2-style decoder of width 64 with the real Llama-2 tokenizer. */
    public static final String TINY_LLAMA2 = "llama2-tiny-pure";
    /** The Llama-3-style model of the {@code merv-forward-tiny} and {@code llama3-tiny} golden fixtures. */
    public static final String TINY_LLAMA3 = "llama3-tiny";

    private static final Map<String, EncoderEntry> ENCODERS = index(EncoderEntries.ALL, EncoderEntry::id);
    private static final Map<String, LlmEntry> LLMS = index(LlmEntries.ALL, LlmEntry::id);

    private Catalog() {}

    private static <E> Map<String, E> index(List<E> entries, Function<E, String> id) {
        Map<String, E> m = new LinkedHashMap<>();
        for (E e : entries) {
            if (m.put(id.apply(e), e) != null) {
                throw new IllegalStateException("catalog: id " + id.apply(e) + " appears twice");
            }
        }
        return Collections.unmodifiableMap(m);
    }

    /** Every video-encoder entry, unsupported ones included. */
    public static List<EncoderEntry> encoders() {
        return EncoderEntries.ALL;
    }

    /** Every LLM entry. */
    public static List<LlmEntry> llms() {
        return LlmEntries.ALL;
    }

    public static Optional<EncoderEntry> findEncoder(String id) {
        return Optional.ofNullable(ENCODERS.get(id));
    }

    public static Optional<LlmEntry> findLlm(String id) {
        return Optional.ofNullable(LLMS.get(id));
    }

    /** The ids of the video encoders merv builds, in catalog order. */
    public static List<String> supportedEncoderIds() {
        return EncoderEntries.ALL.stream().filter(EncoderEntry::supported).map(EncoderEntry::id).toList();
    }

    /** Every LLM id (merv builds them all). */
    public static List<String> llmIds() {
        return List.copyOf(LLMS.keySet());
    }

    /** The entry of {@code id}, supported or not; fails naming the supported ids when it is unknown. */
    public static EncoderEntry encoder(String id) {
        EncoderEntry e = ENCODERS.get(id);
        if (e == null) {
            throw new IllegalArgumentException("video backbone '" + id + "' is unknown; supported: " + supportedEncoderIds());
        }
        return e;
    }

    /**
     * The entry of {@code id} when merv builds it; fails naming the id, why it is not supported (for ids
     * the reference registers) and the supported ids.
     */
    public static EncoderEntry supportedEncoder(String id) {
        EncoderEntry e = encoder(id);
        if (!e.supported()) {
            throw new IllegalArgumentException(unsupportedMessage(e));
        }
        return e;
    }

    /** "video backbone 'x' is not supported: reason; supported: [...]". */
    public static String unsupportedMessage(EncoderEntry e) {
        return "video backbone '" + e.id() + "' is not supported: " + e.unsupported() + "; supported: " + supportedEncoderIds();
    }

    /** The entry of {@code id}; fails naming the known ids. */
    public static LlmEntry llm(String id) {
        LlmEntry e = LLMS.get(id);
        if (e == null) {
            throw new IllegalArgumentException("LLM '" + id + "' is unknown; known: " + llmIds());
        }
        return e;
    }
}
