package dev.merv.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a Python literal the way {@code ast.literal_eval} does for the judge's replies ({@code {'pred': 'yes',
 * 'score': 4}}): dicts, lists, tuples, strings in single or double quotes (escapes, adjacent strings joined), integers,
 * floats, {@code True}/{@code False}/{@code None}, leading spaces and tabs ignored. Anything else (an explanation
 * around the dict, a markdown fence, an expression) is not a literal and fails, as it does in Python. Values come back
 * as {@link Map}, {@link List}, {@link String}, {@link Long}, {@link Double}, {@link Boolean} or null.
 */
public final class PythonLiteral {

    /** The text is no Python literal. */
    public static final class NotALiteral extends Exception {
        NotALiteral(String message) {
            super(message);
        }
    }

    private final String s;
    private int i;

    private PythonLiteral(String s) {
        this.s = s;
    }

    public static Object parse(String text) throws NotALiteral {
        int start = 0;
        while (start < text.length() && (text.charAt(start) == ' ' || text.charAt(start) == '\t')) {
            start++;
        }
        PythonLiteral p = new PythonLiteral(text.substring(start));
        Object v = p.value();
        p.space();
        if (p.i != p.s.length()) {
            throw new NotALiteral("unexpected text at " + p.i + ": " + p.rest());
        }
        return v;
    }

    private String rest() {
        return s.substring(i, Math.min(s.length(), i + 20));
    }

    private void space() {
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
                i++;
            } else if (c == '\\' && i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                i += 2;
            } else {
                break;
            }
        }
    }

    private Object value() throws NotALiteral {
        space();
        if (i >= s.length()) {
            throw new NotALiteral("unexpected end");
        }
        char c = s.charAt(i);
        switch (c) {
            case '{':
                return dict();
            case '[':
                return sequence('[', ']');
            case '(':
                return sequence('(', ')');
            case '\'':
            case '"':
                return strings();
            default:
                break;
        }
        if (c == '-' || c == '+' || c == '.' || Character.isDigit(c)) {
            return number();
        }
        for (String word : List.of("True", "False", "None")) {
            if (s.startsWith(word, i) && (i + word.length() == s.length()
                    || !Character.isJavaIdentifierPart(s.charAt(i + word.length())))) {
                i += word.length();
                return word.equals("None") ? null : Boolean.valueOf(word.equals("True"));
            }
        }
        throw new NotALiteral("not a literal at " + i + ": " + rest());
    }

    private Map<Object, Object> dict() throws NotALiteral {
        i++;
        Map<Object, Object> m = new LinkedHashMap<>();
        space();
        if (peek('}')) {
            i++;
            return m;
        }
        while (true) {
            Object k = value();
            space();
            if (!peek(':')) {
                throw new NotALiteral("expected ':' at " + i + ": " + rest());
            }
            i++;
            m.put(k, value());
            space();
            if (peek(',')) {
                i++;
                space();
                if (peek('}')) {
                    i++;
                    return m;
                }
            } else if (peek('}')) {
                i++;
                return m;
            } else {
                throw new NotALiteral("expected ',' or '}' at " + i + ": " + rest());
            }
        }
    }

    /** A list or tuple; {@code (x)} without a comma is just {@code x}, as in Python. */
    private Object sequence(char open, char close) throws NotALiteral {
        i++;
        List<Object> l = new ArrayList<>();
        space();
        if (peek(close)) {
            i++;
            return l;
        }
        boolean comma = false;
        while (true) {
            l.add(value());
            space();
            if (peek(',')) {
                comma = true;
                i++;
                space();
                if (peek(close)) {
                    i++;
                    return l;
                }
            } else if (peek(close)) {
                i++;
                return open == '(' && !comma ? l.get(0) : l;
            } else {
                throw new NotALiteral("expected ',' or '" + close + "' at " + i + ": " + rest());
            }
        }
    }

    private boolean peek(char c) {
        return i < s.length() && s.charAt(i) == c;
    }

    /** One string literal or several adjacent ones (Python joins them). */
    private String strings() throws NotALiteral {
        StringBuilder sb = new StringBuilder();
        do {
            sb.append(string());
            space();
        } while (i < s.length() && (s.charAt(i) == '\'' || s.charAt(i) == '"'));
        return sb.toString();
    }

    private String string() throws NotALiteral {
        char q = s.charAt(i);
        boolean triple = s.startsWith(String.valueOf(q).repeat(3), i);
        i += triple ? 3 : 1;
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (i >= s.length()) {
                throw new NotALiteral("unterminated string");
            }
            char c = s.charAt(i);
            if (triple ? s.startsWith(String.valueOf(q).repeat(3), i) : c == q) {
                i += triple ? 3 : 1;
                return sb.toString();
            }
            if (!triple && c == '\n') {
                throw new NotALiteral("unterminated string at a line end");
            }
            if (c != '\\') {
                sb.append(c);
                i++;
                continue;
            }
            if (i + 1 >= s.length()) {
                throw new NotALiteral("unterminated string");
            }
            char e = s.charAt(i + 1);
            i += 2;
            switch (e) {
                case '\n' -> { }
                case '\\' -> sb.append('\\');
                case '\'' -> sb.append('\'');
                case '"' -> sb.append('"');
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'a' -> sb.append('\u0007');
                case 'v' -> sb.append('\u000b');
                case '0' -> sb.append('\0');
                case 'x' -> sb.appendCodePoint(hex(2));
                case 'u' -> sb.appendCodePoint(hex(4));
                case 'U' -> sb.appendCodePoint(hex(8));
                default -> sb.append('\\').append(e);
            }
        }
    }

    private int hex(int digits) throws NotALiteral {
        if (i + digits > s.length()) {
            throw new NotALiteral("truncated escape");
        }
        try {
            int v = Integer.parseInt(s.substring(i, i + digits), 16);
            i += digits;
            return v;
        } catch (NumberFormatException e) {
            throw new NotALiteral("bad escape at " + i);
        }
    }

    private Object number() throws NotALiteral {
        int start = i;
        boolean negative = false;
        while (peek('-') || peek('+')) {
            negative ^= s.charAt(i) == '-';
            i++;
            space();
        }
        int digits = i;
        while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '_' || s.charAt(i) == '.'
                || s.charAt(i) == 'e' || s.charAt(i) == 'E'
                || ((s.charAt(i) == '-' || s.charAt(i) == '+') && (s.charAt(i - 1) == 'e' || s.charAt(i - 1) == 'E')))) {
            i++;
        }
        String t = s.substring(digits, i).replace("_", "");
        if (t.isEmpty()) {
            throw new NotALiteral("not a number at " + start + ": " + s.substring(start, Math.min(s.length(), start + 20)));
        }
        try {
            if (t.contains(".") || t.contains("e") || t.contains("E")) {
                double d = Double.parseDouble(t);
                return negative ? -d : d;
            }
            if (t.length() > 1 && t.startsWith("0") && !t.chars().allMatch(ch -> ch == '0')) {
                throw new NotALiteral("leading zeros in " + t);
            }
            long v = Long.parseLong(t);
            return negative ? -v : v;
        } catch (NumberFormatException e) {
            throw new NotALiteral("not a number: " + t);
        }
    }
}
