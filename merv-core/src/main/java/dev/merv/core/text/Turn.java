package dev.merv.core.text;

/** One conversation turn as stored in Video-LLaVA JSON: {@code from} is "human" or "gpt". */
public record Turn(String from, String value) {
    public boolean human() {
        return "human".equals(from);
    }
}
