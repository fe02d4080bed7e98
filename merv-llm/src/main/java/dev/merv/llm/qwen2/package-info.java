/** Qwen2.5: only what differs from the shared Llama decoder (biases, defaults, presets, config checks). */
package dev.merv.llm.qwen2;
