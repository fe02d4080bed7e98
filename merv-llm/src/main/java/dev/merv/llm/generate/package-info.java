/** Autoregressive decoding: greedy / temperature / top-k / top-p, stop tokens, left-padded batches, KV cache, streaming. */
package dev.merv.llm.generate;
