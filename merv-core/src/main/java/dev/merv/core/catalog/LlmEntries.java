package dev.merv.core.catalog;

import static dev.merv.core.catalog.LlmFamily.LLAMA;
import static dev.merv.core.catalog.LlmFamily.QWEN2;
import static dev.merv.core.catalog.Provenance.MERV_EXTRA;
import static dev.merv.core.catalog.Provenance.MERV_TINY;
import static dev.merv.core.catalog.Provenance.REFERENCE;
import static dev.merv.core.catalog.Provenance.TEST_FIXTURE;

import dev.merv.core.torch.ScalarType;
import java.util.List;

/**
 * Every LLM id: the reference's registry, merv's extra Qwen2.5 sizes, {@code merv-tiny}'s random LLM and
 * the golden fixtures' model names. Config values are the released checkpoints' {@code config.json}
 * fields that the decoder parser reads.
 *
 * <p>Text set-up as the reference does it: Llama 2 / Vicuna / Llama 3 add {@code <PAD>} and resize the
 * embeddings to a multiple of 64; Llama 3.1 pads with its reserved token; Qwen2.5 forces pad id 128004 (W5)
 * and runs inference in fp16 (W21); {@code llama3-8b-chat} uses the LLaMa-2 chat template with the base
 * model's tokenizer (W20).
 */
final class LlmEntries {

    private LlmEntries() {}

    private static final PadToken ADD_PAD = PadToken.add("<PAD>");
    private static final PadToken LLAMA31_PAD = PadToken.existing("<|finetune_right_pad_id|>", 128004);

    /** {@code meta-llama/Llama-2-7b-hf}; the chat and Vicuna v1.5 7B checkpoints share these values. */
    private static final String LLAMA2_7B = """
            {"model_type": "llama", "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008,
             "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32, "hidden_act": "silu",
             "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "max_position_embeddings": 4096, "bos_token_id": 1,
             "eos_token_id": 2, "tie_word_embeddings": false, "initializer_range": 0.02}""";
    /** {@code meta-llama/Llama-2-13b-hf}; the chat and Vicuna v1.5 13B checkpoints share these values. */
    private static final String LLAMA2_13B = """
            {"model_type": "llama", "vocab_size": 32000, "hidden_size": 5120, "intermediate_size": 13824,
             "num_hidden_layers": 40, "num_attention_heads": 40, "num_key_value_heads": 40, "hidden_act": "silu",
             "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "max_position_embeddings": 4096, "bos_token_id": 1,
             "eos_token_id": 2, "tie_word_embeddings": false, "initializer_range": 0.02}""";

    /** Meta-Llama-3-8B(-Instruct): the two differ only in {@code eos_token_id}. */
    private static String llama3(long eos) {
        return """
                {"model_type": "llama", "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
                 "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "hidden_act": "silu",
                 "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "max_position_embeddings": 8192, "bos_token_id": 128000,
                 "eos_token_id": %d, "tie_word_embeddings": false, "initializer_range": 0.02}""".formatted(eos);
    }

    private static final String LLAMA31_8B_INSTRUCT = """
            {"model_type": "llama", "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
             "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "hidden_act": "silu",
             "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "max_position_embeddings": 131072,
             "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 8192},
             "bos_token_id": 128000, "eos_token_id": 128009, "tie_word_embeddings": false, "initializer_range": 0.02}""";

    /** Qwen2.5 Instruct (no BOS token; q/k/v biases are implied by the family). */
    private static String qwen25(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads, boolean tied) {
        return """
                {"model_type": "qwen2", "vocab_size": %d, "hidden_size": %d, "intermediate_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": %d, "num_key_value_heads": %d, "hidden_act": "silu",
                 "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "max_position_embeddings": 32768, "eos_token_id": 151645,
                 "tie_word_embeddings": %b, "use_sliding_window": false, "initializer_range": 0.02}"""
                .formatted(vocab, hidden, intermediate, layers, heads, kvHeads, tied);
    }

    private static LlmEntry.Builder llama2Text(String id) {
        return LlmEntry.builder(id).family(LLAMA).pad(ADD_PAD).padToMultipleOf(64).inferenceDtype(ScalarType.BFLOAT16);
    }

    private static LlmEntry.Builder qwenText(String id) {
        return LlmEntry.builder(id).family(QWEN2).prompt(PromptFormat.QWEN2).pad(PadToken.qwenReference())
                .padToMultipleOf(0).inferenceDtype(ScalarType.FLOAT16);
    }

    static final List<LlmEntry> ALL = List.of(
            // ---------------------------------------------------------------- the reference's registry
            llama2Text(Catalog.LLAMA2_7B_PURE).provenance(REFERENCE).hub("meta-llama/Llama-2-7b-hf").config(LLAMA2_7B)
                    .prompt(PromptFormat.PURE).build(),
            llama2Text("llama2-13b-pure").provenance(REFERENCE).hub("meta-llama/Llama-2-13b-hf").config(LLAMA2_13B)
                    .prompt(PromptFormat.PURE).build(),
            llama2Text("llama2-7b-chat").provenance(REFERENCE).hub("meta-llama/Llama-2-7b-chat-hf").config(LLAMA2_7B)
                    .prompt(PromptFormat.LLAMA2_CHAT).build(),
            llama2Text("llama2-13b-chat").provenance(REFERENCE).hub("meta-llama/Llama-2-13b-chat-hf").config(LLAMA2_13B)
                    .prompt(PromptFormat.LLAMA2_CHAT).build(),
            llama2Text("vicuna-v15-7b").provenance(REFERENCE).hub("lmsys/vicuna-7b-v1.5").config(LLAMA2_7B)
                    .prompt(PromptFormat.VICUNA_V15).build(),
            llama2Text("vicuna-v15-13b").provenance(REFERENCE).hub("lmsys/vicuna-13b-v1.5").config(LLAMA2_13B)
                    .prompt(PromptFormat.VICUNA_V15).build(),
            llama2Text("llama3-8b-pure").provenance(REFERENCE).hub("meta-llama/Meta-Llama-3-8B")
                    .tokenizer("meta-llama/Meta-Llama-3-8B", "refs/pr/41").config(llama3(128001))
                    .prompt(PromptFormat.PURE).build(),
            // W20: the Instruct weights with the base repo's tokenizer and the LLaMa-2 chat template
            llama2Text("llama3-8b-chat").provenance(REFERENCE).hub("meta-llama/Meta-Llama-3-8B-Instruct")
                    .tokenizer("meta-llama/Meta-Llama-3-8B", "refs/pr/42").config(llama3(128009))
                    .prompt(PromptFormat.LLAMA2_CHAT).build(),
            LlmEntry.builder("llama3.1-8b-chat").family(LLAMA).provenance(REFERENCE).hub("meta-llama/Meta-Llama-3.1-8B-Instruct")
                    .config(LLAMA31_8B_INSTRUCT).prompt(PromptFormat.LLAMA31).pad(LLAMA31_PAD).padToMultipleOf(0)
                    .inferenceDtype(ScalarType.BFLOAT16).build(),
            qwenText("qwen2.5-7b-instruct").provenance(REFERENCE).hub("Qwen/Qwen2.5-7B-Instruct")
                    .config(qwen25(152064, 3584, 18944, 28, 28, 4, false)).build(),
            qwenText("qwen2.5-3b-instruct").provenance(REFERENCE).hub("Qwen/Qwen2.5-3B-Instruct")
                    .config(qwen25(151936, 2048, 11008, 36, 16, 2, true)).build(),

            // ---------------------------------------------------------------- merv's extra Qwen2.5 sizes
            qwenText("qwen2.5-0.5b-instruct").provenance(MERV_EXTRA).hub("Qwen/Qwen2.5-0.5B-Instruct")
                    .config(qwen25(151936, 896, 4864, 24, 14, 2, true)).build(),
            qwenText("qwen2.5-1.5b-instruct").provenance(MERV_EXTRA).hub("Qwen/Qwen2.5-1.5B-Instruct")
                    .config(qwen25(151936, 1536, 8960, 28, 12, 2, true)).build(),

            // ---------------------------------------------------------------- merv-tiny's LLM
            // Llama-2 geometry at width 64 with the real Llama-2 tokenizer (bundled in merv-llm), written to and
            // read from an HF-layout directory by ./merv tiny-weights like any checkpoint
            llama2Text(Catalog.TINY_LLAMA2).provenance(MERV_TINY).config("""
                    {"model_type": "llama", "vocab_size": 32000, "hidden_size": 64, "intermediate_size": 176,
                     "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4, "hidden_act": "silu",
                     "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "max_position_embeddings": 4096, "bos_token_id": 1,
                     "eos_token_id": 2, "tie_word_embeddings": false, "initializer_range": 0.02}""")
                    .prompt(PromptFormat.PURE).build(),

            // ---------------------------------------------------------------- golden fixtures' models
            // architecture only from each fixture's config.json; the text set-up is their family's
            llama2Text("llama2-tiny").provenance(TEST_FIXTURE).prompt(PromptFormat.PURE).build(),
            LlmEntry.builder(Catalog.TINY_LLAMA3).family(LLAMA).provenance(TEST_FIXTURE).prompt(PromptFormat.LLAMA31)
                    .pad(LLAMA31_PAD).padToMultipleOf(0).inferenceDtype(ScalarType.BFLOAT16).build(),
            qwenText("qwen2-tiny").provenance(TEST_FIXTURE).build());
}
