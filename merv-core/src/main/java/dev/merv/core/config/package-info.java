/**
 * Run configuration (merv-reference.md §1): {@link dev.merv.core.config.ModelConfig} and its registry
 * ({@code merv-base}, {@code merv-full}, the single-encoder ids, {@code merv-tiny}), the top-level
 * {@link dev.merv.core.config.PretrainConfig} with the stage's {@link dev.merv.core.config.StageHyperparameters},
 * the dataset config, the draccus-style command line ({@link dev.merv.core.config.ConfigCli}), validation
 * before any weight loads, the known encoder/LLM ids, and the {@code config.json} codec.
 */
package dev.merv.core.config;
