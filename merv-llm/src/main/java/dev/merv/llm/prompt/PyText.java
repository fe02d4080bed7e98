package dev.merv.llm.prompt;

/**
 * Python's {@code str.strip()} / {@code rstrip()} with no argument: they remove what {@code str.isspace} calls
 * whitespace, which is not Java's {@code String.strip()} set (Python also strips U+0085, U+00A0, U+2007,
 * U+202F, U+001C..U+001F). The reference's prompt strings are built with Python's.
 */
final class PyText {

    private PyText() {}

    static boolean isSpace(char c) {
        switch (c) {
            case '\t': case '\n': case 0x0B: case '\f': case '\r':
            case 0x1C: case 0x1D: case 0x1E: case 0x1F: case ' ':
            case 0x85: case 0xA0: case 0x1680:
            case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
                return true;
            default:
                return c >= 0x2000 && c <= 0x200A;
        }
    }

    static String strip(String s) {
        return lstrip(rstrip(s));
    }

    static String rstrip(String s) {
        int end = s.length();
        while (end > 0 && isSpace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }

    static String lstrip(String s) {
        int start = 0;
        while (start < s.length() && isSpace(s.charAt(start))) {
            start++;
        }
        return s.substring(start);
    }
}
