/**
 * Run configuration (docs/reference.md §1): {@link dev.merv.core.config.ModelConfig} with its named-field
 * builder, the presets written with it ({@link dev.merv.core.config.ModelRegistry}: {@code merv-base},
 * {@code merv-full}, the single-encoder ids, {@code merv-tiny}), the top-level
 * {@link dev.merv.core.config.PretrainConfig} with the stage's {@link dev.merv.core.config.StageHyperparameters},
 * the dataset config, the draccus-style command line ({@link dev.merv.core.config.ConfigCli}), validation
 * before any weight loads (backbone ids checked against {@link dev.merv.core.catalog.Catalog}), and the
 * {@code config.json} codec.
 */
package dev.merv.core.config;
