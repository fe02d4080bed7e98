/**
 * Feature fusion (docs/reference.md §3.3): how the encoders' projected token sequences are mixed into one
 * ({@code cross_attention_avg_lq}, {@code cross_attention_classKV}, {@code query_mlp}, {@code concat_channel},
 * {@code concat_channel_ln}, {@code scalar}, {@code first}), with the reference's parameter layout and the
 * per-sample mixing weights the trainer logs (W18).
 */
package dev.merv.core.fusion;
