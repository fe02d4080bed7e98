package dev.merv.llm;

import dev.merv.core.catalog.PadToken;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** The compressed tokenizer copies shipped in the test resources ({@code tokenizers/<name>/tokenizer.json.gz}). */
public final class TestTokenizers {

    private TestTokenizers() {}

    public static Path dir(String name) {
        // the Llama-2 tokenizer ships in merv-llm's main resources (the demo uses it), the others in test resources
        String base = name.equals(BundledTokenizers.LLAMA2) ? "dev/merv/llm/tokenizers/" : "tokenizers/";
        URL url = TestTokenizers.class.getClassLoader().getResource(base + name + "/tokenizer.json.gz");
        if (url == null) {
            throw new AssertionError("resource " + base + name + "/tokenizer.json.gz is missing");
        }
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /** The tokenizer folder each prompts-fixture family names, with the pad set-up of its registry entry. */
    public static HfTokenizer load(String name) {
        switch (name) {
            case "llama2": return HfTokenizer.load(dir(name), PadToken.add("<PAD>"));
            case "llama3.1": return HfTokenizer.load(dir(name), PadToken.existing("<|finetune_right_pad_id|>", 128004));
            case "qwen2.5-compatible": return HfTokenizer.load(dir(name), PadToken.qwenReference());
            default: throw new AssertionError("no test tokenizer '" + name + "'");
        }
    }
}
