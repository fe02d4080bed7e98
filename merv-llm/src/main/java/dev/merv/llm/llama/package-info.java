/**
 * The decoder shared by every MERV LLM (Llama 2, Vicuna v1.5, Llama 3 / 3.1, and Qwen2.5 through
 * {@code dev.merv.llm.qwen2}): config parsing with build-time rejection of unimplemented settings, presets,
 * the explicit HF weight table, KV cache and per-forward context.
 */
package dev.merv.llm.llama;
