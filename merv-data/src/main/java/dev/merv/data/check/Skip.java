package dev.merv.data.check;

/**
 * One skipped entry: its index in the JSON array, the JSON file, the media path as written in the
 * entry (empty when there is none), the reason and a human-readable detail.
 */
public record Skip(int index, String json, String path, SkipReason reason, String detail) {}
