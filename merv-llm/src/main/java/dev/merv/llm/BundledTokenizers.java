package dev.merv.llm;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * Tokenizer files shipped inside merv-llm, so that tiny random models (tests, the demo) run with a real
 * tokenizer on a machine that has no hub access. Only the Llama-2 tokenizer ships (450 KB gzipped); real
 * checkpoints bring their own.
 */
public final class BundledTokenizers {

    /** The LLaMA-1/2 SentencePiece-BPE tokenizer of {@code meta-llama/Llama-2-7b-hf}. */
    public static final String LLAMA2 = "llama2";

    private static final List<String> FILES = List.of("tokenizer.json.gz", "tokenizer_config.json");

    private BundledTokenizers() {}

    /** Writes the bundled tokenizer {@code name} into {@code dir} (created if needed) and returns {@code dir}. */
    public static Path copyTo(String name, Path dir) {
        if (!LLAMA2.equals(name)) {
            throw new IllegalArgumentException("no bundled tokenizer '" + name + "' (bundled: " + LLAMA2 + ")");
        }
        try {
            Files.createDirectories(dir);
            for (String f : FILES) {
                String res = "/dev/merv/llm/tokenizers/" + name + "/" + f;
                try (InputStream in = BundledTokenizers.class.getResourceAsStream(res)) {
                    if (in == null) {
                        throw new IllegalStateException("merv-llm jar lacks resource " + res);
                    }
                    Files.copy(in, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("writing tokenizer '" + name + "' to " + dir, e);
        }
    }
}
