/**
 * The reference's prompt builders (Pure, Vicuna v1.5, LLaMa-2 chat, Llama 3.1, Qwen2 ChatML), character for
 * character, and its per-turn tokenisation and label masking ({@link dev.merv.llm.prompt.ReferenceTextPipeline}).
 */
package dev.merv.llm.prompt;
