/**
 * LoRA on the LLM: {@link dev.merv.llm.lora.Lora} mounts PEFT-style adapters ({@code lora_A}, {@code lora_B}) on the
 * linear layers of a {@link dev.merv.llm.llama.LlamaModel}, initialises them as PEFT does and merges them into the
 * base weights; {@link dev.merv.llm.lora.PeftAdapters} reads and writes them in PEFT's file layout
 * ({@code adapter_config.json} + {@code adapter_model.safetensors}). The configuration is core's
 * {@link dev.merv.core.config.LoraConfig}.
 */
package dev.merv.llm.lora;
