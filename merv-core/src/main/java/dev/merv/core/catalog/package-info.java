/**
 * The backbone catalog: one entry per video-encoder id and per LLM id, data only. An entry names the
 * checkpoint (hub repo and revision), holds the architecture as the upstream config values (HF
 * {@code config.json} keys, timm or hiera kwargs) that the family module parses with the same parser it
 * uses for a checkpoint's {@code config.json}, and everything configuration validation needs before any
 * weight is read (output geometry, whether merv can build the id at all).
 *
 * <p>{@link dev.merv.core.catalog.Catalog} is the lookup; the entries themselves are written out with
 * named fields in {@code EncoderEntries} and {@code LlmEntries}. Building an entry is the family modules'
 * job ({@code merv-encoders}' {@code EncoderRegistry}, {@code merv-llm}'s {@code LlmRegistry}).
 */
package dev.merv.core.catalog;
