package dev.merv.llm.prompt;

import dev.merv.core.catalog.PromptFormat;

/**
 * Accumulates a conversation in one family's template, turn by turn, as the reference's prompt builders
 * do (docs/reference.md §4.2). Turns alternate {@code human}, {@code gpt}, starting with {@code human}.
 */
public abstract class PromptBuilder {

    /** The system prompt every MERV builder with a system slot uses. */
    public static final String MERV_SYSTEM = "You are a helpful language and vision assistant. You are able to"
            + " understand the visual content that the user provides, and assist the user with a variety of tasks"
            + " using natural language.";

    protected final StringBuilder prompt = new StringBuilder();

    /** A fresh builder of {@code format}'s template with the reference's quirks as {@code quirks} says. */
    public static PromptBuilder of(PromptFormat format, PromptQuirks quirks) {
        return switch (format) {
            case PURE -> new Pure(quirks);
            case VICUNA_V15 -> new VicunaV15(quirks);
            case LLAMA2_CHAT -> new Llama2Chat(quirks);
            case LLAMA31 -> new Llama31();
            case QWEN2 -> new Qwen2();
        };
    }

    /** {@link #of(PromptFormat, PromptQuirks)} with the reference's behaviour. */
    public static PromptBuilder of(PromptFormat format) {
        return of(format, PromptQuirks.PARITY);
    }
    private int turns;

    /** Adds one turn and returns exactly the text it appended (the dataset tokenises this string alone). */
    public final String addTurn(String role, String message) {
        boolean human = turns % 2 == 0;
        String want = human ? "human" : "gpt";
        if (!want.equals(role)) {
            throw new IllegalArgumentException("turn " + turns + " must come from '" + want + "', got '" + role + "'");
        }
        String text = human ? wrapHuman(message, turns == 0) : wrapGpt(message);
        prompt.append(text);
        turns++;
        return text;
    }

    public int turnCount() {
        return turns;
    }

    protected abstract String wrapHuman(String message, boolean first);

    protected abstract String wrapGpt(String message);

    /** The accumulated prompt as the reference's {@code get_prompt()} returns it. */
    public abstract String getPrompt();

    /** {@code message.replace("<image>", "").strip()} (and {@code <video>} when W3 is fixed). */
    static String clean(String message, boolean stripVideo) {
        String m = message.replace("<image>", "");
        if (stripVideo) {
            m = m.replace("<video>", "");
        }
        return PyText.strip(m);
    }

    static String removePrefix(String s, String prefix) {
        return s.startsWith(prefix) ? s.substring(prefix.length()) : s;
    }

    /**
     * The builders whose answers end in a literal {@code </s>} (a blank answer becomes one space) and whose
     * {@code get_prompt()} drops one leading {@code <s>} and trailing whitespace (Pure, Vicuna v1.5, LLaMa-2 chat).
     */
    abstract static class LiteralEosBuilder extends PromptBuilder {
        final boolean stripVideo;

        LiteralEosBuilder(PromptQuirks q) {
            stripVideo = q.stripVideoTag();
        }

        @Override
        protected final String wrapGpt(String message) {
            String m = clean(message, stripVideo);
            return (m.isEmpty() ? " " : m) + "</s>";
        }

        @Override
        public final String getPrompt() {
            return PyText.rstrip(removePrefix(prompt.toString(), "<s>"));
        }
    }

    /** Pure {@code In: ... Out:} (llama2-*-pure, llama3-8b-pure). */
    static final class Pure extends LiteralEosBuilder {

        Pure(PromptQuirks q) {
            super(q);
        }

        @Override
        protected String wrapHuman(String message, boolean first) {
            return "In: " + clean(message, stripVideo) + "\nOut: ";
        }
    }

    /** Vicuna v1.5 {@code USER: ... ASSISTANT:} with its system sentence before the first turn. */
    static final class VicunaV15 extends LiteralEosBuilder {
        static final String SYSTEM = "A chat between a curious user and an artificial intelligence assistant. The"
                + " assistant gives helpful, detailed, and polite answers to the user's questions.";

        VicunaV15(PromptQuirks q) {
            super(q);
        }

        @Override
        protected String wrapHuman(String message, boolean first) {
            String turn = "USER: " + clean(message, stripVideo) + " ASSISTANT: ";
            return first ? PyText.strip(SYSTEM) + " " + turn : turn;
        }
    }

    /**
     * LLaMa-2 chat {@code <s>[INST] ... [/INST]}; MERV prefixes every human turn with a literal {@code <s>} (W22)
     * and writes the system opening tag as {@code <<SYS>} (W20).
     */
    static final class Llama2Chat extends LiteralEosBuilder {
        private final PromptQuirks q;

        Llama2Chat(PromptQuirks q) {
            super(q);
            this.q = q;
        }

        @Override
        protected String wrapHuman(String message, boolean first) {
            String m = clean(message, q.stripVideoTag());
            if (first) {
                String sys = (q.fixSysTag() ? "<<SYS>>\n" : "<<SYS>\n") + PyText.strip(MERV_SYSTEM) + "\n<</SYS>>\n\n";
                return (q.singleBos() ? "" : "<s>") + "[INST] " + sys + m + " [/INST] ";
            }
            return "<s>[INST] " + m + " [/INST] ";
        }
    }

    /** Llama 3.1 headers; messages are not cleaned; the system block starts the accumulated prompt. */
    static final class Llama31 extends PromptBuilder {
        Llama31() {
            prompt.append("<|start_header_id|>system<|end_header_id|>\n\n").append(MERV_SYSTEM).append("<|eot_id|>");
        }

        @Override
        protected String wrapHuman(String message, boolean first) {
            return "<|start_header_id|>user<|end_header_id|>\n\n" + message
                    + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
        }

        @Override
        protected String wrapGpt(String message) {
            return message + "<|eot_id|>";
        }

        @Override
        public String getPrompt() {
            return prompt.toString();
        }
    }

    /** Qwen2 ChatML; messages are not cleaned; the system block starts the accumulated prompt. */
    static final class Qwen2 extends PromptBuilder {
        Qwen2() {
            prompt.append("<|im_start|>system\n").append(MERV_SYSTEM).append("<|im_end|>\n");
        }

        @Override
        protected String wrapHuman(String message, boolean first) {
            return "<|im_start|>user\n" + message + "<|im_end|>\n<|im_start|>assistant\n";
        }

        @Override
        protected String wrapGpt(String message) {
            return message + "<|im_end|>";
        }

        @Override
        public String getPrompt() {
            return prompt.toString();
        }
    }
}
