/**
 * LLM backbones for MERV: the tokenizer wrapper ({@link dev.merv.llm.HfTokenizer}), the builder of the
 * catalog's LLM entries ({@link dev.merv.llm.LlmRegistry}), and the causal-LM loss. Families live in
 * {@code dev.merv.llm.llama} (the shared decoder) and {@code dev.merv.llm.qwen2}; prompt formats in
 * {@code dev.merv.llm.prompt}; decoding in {@code dev.merv.llm.generate}.
 */
package dev.merv.llm;
