package dev.merv.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.catalog.PromptFormat;
import dev.merv.core.text.EncodedText;
import dev.merv.core.text.Turn;
import dev.merv.llm.prompt.PromptBuilder;
import dev.merv.llm.prompt.PromptQuirks;
import dev.merv.llm.prompt.ReferenceTextPipeline;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The reference's per-family tokenizer set-up (docs/reference.md §4.1), align encoding (docs/reference.md §4.4), inference prompts. */
class TokenizerSetupTest {

    static HfTokenizer llama2;
    static HfTokenizer llama31;
    static HfTokenizer qwen;

    @BeforeAll
    static void load() {
        llama2 = TestTokenizers.load("llama2");
        llama31 = TestTokenizers.load("llama3.1");
        qwen = TestTokenizers.load("qwen2.5-compatible");
    }

    @AfterAll
    static void close() {
        llama2.close();
        llama31.close();
        qwen.close();
    }

    @Test
    void llama2AddsPadAndResizesTo32064() {
        assertThat(llama2.padId()).isEqualTo(32000);
        assertThat(llama2.vocabSize()).isEqualTo(32001);
        assertThat(llama2.tokenToId("<PAD>")).hasValue(32000);
        assertThat(llama2.encode("a<PAD>", false)).endsWith(32000L);
        assertThat(llama2.bosId()).hasValue(1);
        assertThat(llama2.eosId()).isEqualTo(2);
        assertThat(llama2.encode("Hello world!", true)).containsExactly(1, 15043, 3186, 29991);
        assertThat(LlmRegistry.spec("llama2-7b-pure").embeddingRows(32000, llama2.vocabSize())).isEqualTo(32064);
        assertThat(LlmRegistry.spec("vicuna-v15-13b").prompt()).isEqualTo(PromptFormat.VICUNA_V15);
    }

    @Test
    void llama3PureAddsPadAt128256() {
        HfTokenizer t = HfTokenizer.load(TestTokenizers.dir("llama3.1"), LlmRegistry.spec("llama3-8b-pure").pad());
        try (t) {
            assertThat(t.padId()).isEqualTo(128256);
            assertThat(LlmRegistry.spec("llama3-8b-pure").embeddingRows(128256, t.vocabSize())).isEqualTo(128320);
        }
        assertThat(LlmRegistry.spec("llama3-8b-chat").prompt()).as("W20: LLaMa-2 chat template").isEqualTo(PromptFormat.LLAMA2_CHAT);
    }

    @Test
    void llama31UsesReservedPadWithoutResize() {
        assertThat(llama31.padId()).isEqualTo(128004);
        assertThat(llama31.vocabSize()).isEqualTo(128256);
        assertThat(llama31.bosId()).hasValue(128000);
        assertThat(llama31.eosId()).isEqualTo(128009);
        assertThat(LlmRegistry.spec("llama3.1-8b-chat").embeddingRows(128256, llama31.vocabSize())).isEqualTo(128256);
    }

    @Test
    void qwenPadIsForcedTo128004UnlessFixed() {
        assertThat(qwen.padId()).as("W5 parity").isEqualTo(128004);
        assertThat(qwen.bosId()).isEmpty();
        assertThat(qwen.eosId()).isEqualTo(151645);
        assertThat(qwen.encode("hi", true)).as("Qwen adds no special tokens").containsExactly(qwen.encode("hi", false));
        try (HfTokenizer fixed = LlmRegistry.tokenizer("qwen2.5-7b-instruct", TestTokenizers.dir("qwen2.5-compatible"),
                new LlmRegistry.Options(true, PromptQuirks.PARITY))) {
            assertThat(fixed.padId()).isEqualTo(151643);
        }
    }

    @Test
    void textStreamerEmitsTheDecodedAnswerPieceByPiece() {
        long[] ids = llama2.encode("Hello world! \u00fcn\u00efc\u00f6d\u00e9 and emoji \uD83D\uDEB2 done", false);
        StringBuilder out = new StringBuilder();
        List<String> pieces = new java.util.ArrayList<>();
        dev.merv.llm.generate.TextStreamer s = new dev.merv.llm.generate.TextStreamer(llama2, 0, p -> {
            pieces.add(p);
            out.append(p);
        });
        for (int i = 0; i < ids.length; i++) {
            s.onStep(i, new long[] {ids[i]}, new boolean[] {false});
        }
        s.onStep(ids.length, new long[] {llama2.padId()}, new boolean[] {true});
        assertThat(out.toString()).isEqualTo(llama2.decode(ids, true));
        assertThat(pieces.size()).isGreaterThan(3);
        assertThat(pieces).noneMatch(p -> p.contains("\uFFFD"));
    }

    @Test
    void noHiddenTruncation() {
        String longText = "word ".repeat(3000);
        assertThat(llama2.encode(longText, true).length).isGreaterThan(3000);
    }

    @Test
    void alignCaptionIsBosCaptionEos() {
        ReferenceTextPipeline p = new ReferenceTextPipeline(llama2, PromptFormat.PURE);
        EncodedText e = p.encodeCaption(List.of(new Turn("human", "<video>\nDescribe."), new Turn("gpt", " A dog runs. ")), 2048);
        long[] body = llama2.encode("A dog runs.", false);
        assertThat(e.ids()[0]).isEqualTo(1);
        assertThat(e.ids()[e.length() - 1]).isEqualTo(2);
        assertThat(e.length()).isEqualTo(body.length + 2);
        assertThat(e.labels()[0]).isEqualTo(-100);
        for (int i = 1; i < e.length(); i++) {
            assertThat(e.labels()[i]).isEqualTo(e.ids()[i]);
        }
        assertThatThrownBy(() -> p.encodeCaption(List.of(new Turn("human", "x"), new Turn("gpt", "<video> y")), 2048))
                .hasMessageContaining("placeholder");
        ReferenceTextPipeline q = new ReferenceTextPipeline(qwen, PromptFormat.QWEN2);
        EncodedText qe = q.encodeCaption(List.of(new Turn("human", "x"), new Turn("gpt", "A cat.")), 2048);
        assertThat(qe.ids()[qe.length() - 1]).isEqualTo(151645);
        assertThat(qe.labels()[0]).as("W4: Qwen has no BOS, the first caption token is masked").isEqualTo(-100);
    }

    @Test
    void truncationHappensAfterMasking() {
        ReferenceTextPipeline p = new ReferenceTextPipeline(llama2, PromptFormat.PURE);
        List<Turn> turns = List.of(new Turn("human", "<video>\nWhat?"), new Turn("gpt", "Cooking."));
        EncodedText full = p.encodeConversation(turns, true, 2048);
        EncodedText cut = p.encodeConversation(turns, true, 5);
        assertThat(cut.ids()).containsExactly(java.util.Arrays.copyOf(full.ids(), 5));
        assertThat(cut.labels()[0]).isEqualTo(-100);
    }

    @Test
    void inferencePrompts() {
        assertThat(new ReferenceTextPipeline(llama2, PromptFormat.PURE).inferencePrompt("<image>\nWhat is it?"))
                .isEqualTo("In: What is it?\nOut:");
        assertThat(new ReferenceTextPipeline(llama2, PromptFormat.LLAMA2_CHAT).inferencePrompt("Hi"))
                .isEqualTo("[INST] <<SYS>\n" + dev.merv.llm.prompt.PromptBuilder.MERV_SYSTEM + "\n<</SYS>>\n\nHi [/INST]");
        assertThat(new ReferenceTextPipeline(llama2, PromptFormat.LLAMA2_CHAT, PromptQuirks.FIXED).renderTurns(
                List.of(new Turn("human", "Hi"))).get(0)).startsWith("[INST] <<SYS>>\n");
        assertThat(new ReferenceTextPipeline(llama31, PromptFormat.LLAMA31).inferencePrompt("Hi")).isEqualTo(
                "<|start_header_id|>system<|end_header_id|>\n\n" + dev.merv.llm.prompt.PromptBuilder.MERV_SYSTEM
                        + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n");
        assertThat(new ReferenceTextPipeline(qwen, PromptFormat.QWEN2).inferencePrompt("Hi")).isEqualTo(
                "<|im_start|>system\n" + dev.merv.llm.prompt.PromptBuilder.MERV_SYSTEM
                        + "<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        assertThat(new ReferenceTextPipeline(llama2, PromptFormat.VICUNA_V15).inferencePrompt("Hi")).endsWith(
                "questions. USER: Hi ASSISTANT:");
        assertThatThrownBy(() -> PromptBuilder.of(PromptFormat.PURE).addTurn("gpt", "x")).hasMessageContaining("human");
    }
}
