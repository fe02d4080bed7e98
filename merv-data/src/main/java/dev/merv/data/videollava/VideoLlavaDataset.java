package dev.merv.data.videollava;

import dev.merv.core.config.Stage;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.Skip;
import dev.merv.data.check.SkipLog;
import dev.merv.data.check.SkipReason;
import dev.merv.data.videollava.DatasetRegistry.DatasetFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * One stage's JSON file plus its media root, indexed for random access. Opening scans the file
 * once ({@link JsonArrayIndex}) and parses every row once to keep a compact summary per row (kind
 * and whitespace word count, 5 bytes; 21 bytes per row with the index), never the rows themselves; {@link #entry} re-reads a row on
 * demand. Thread-safe.
 */
public final class VideoLlavaDataset implements AutoCloseable {

    /** Summary kind of a row whose JSON could not be parsed into an {@link Entry}. */
    public static final byte MALFORMED = -1;

    private final DatasetFiles files;
    private final JsonArrayIndex index;
    private final Path root;
    private final Path realRoot;
    private final byte[] kinds;
    private final int[] words;
    private final String jsonName;

    private VideoLlavaDataset(DatasetFiles files, JsonArrayIndex index) throws IOException {
        this.files = files;
        this.index = index;
        this.root = files.mediaRoot().toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            throw new IOException("media root " + root + " is not a directory");
        }
        this.realRoot = root.toRealPath();
        this.jsonName = files.json().getFileName().toString();
        int n = index.size();
        this.kinds = new byte[n];
        this.words = new int[n];
        // rows are independent: summarise them in parallel (positional reads are thread-safe)
        java.util.stream.IntStream.range(0, n).parallel().forEach(i -> {
            try {
                Entry e = EntryParser.parse(index.text(i), i, files.stage(), jsonName);
                kinds[i] = (byte) e.kind().ordinal();
                int w = 0;
                for (var t : e.turns()) {
                    w += wordCount(t.value());
                }
                words[i] = w;
            } catch (SampleException e) {
                kinds[i] = MALFORMED;
            } catch (IOException e) {
                throw new UncheckedIOException("reading entry " + i + " of " + files.json(), e);
            }
        });
    }

    public static VideoLlavaDataset open(DatasetFiles files) throws IOException {
        JsonArrayIndex idx = JsonArrayIndex.build(files.json());
        try {
            return new VideoLlavaDataset(files, idx);
        } catch (IOException | RuntimeException e) {
            idx.close();
            throw e;
        }
    }

    public DatasetFiles files() {
        return files;
    }

    public Stage stage() {
        return files.stage();
    }

    /** File name of the JSON (what skip reports carry). */
    public String jsonName() {
        return jsonName;
    }

    public int size() {
        return kinds.length;
    }

    /** Whether row {@code i} parsed (its media may still be bad). */
    public boolean wellFormed(int i) {
        return kinds[i] != MALFORMED;
    }

    public Entry.Kind kind(int i) {
        return kinds[i] == MALFORMED ? null : Entry.Kind.values()[kinds[i]];
    }

    /** Whether row {@code i} carries an image or a video (false for malformed rows). */
    public boolean multimodal(int i) {
        return kinds[i] != MALFORMED && kinds[i] != Entry.Kind.TEXT.ordinal();
    }

    /** Whitespace-separated words over all turns (the reference's sampler length, W17). */
    public int wordCount(int i) {
        return words[i];
    }

    /**
     * The rows a sampler may visit: every well-formed row. Malformed rows are reported to
     * {@code log} here, once, so they are skipped deterministically before any loading starts.
     */
    public int[] wellFormedRows(SkipLog log) {
        int n = 0;
        int[] out = new int[kinds.length];
        for (int i = 0; i < kinds.length; i++) {
            if (kinds[i] != MALFORMED) {
                out[n++] = i;
            } else if (log != null) {
                String detail;
                try {
                    entry(i);
                    detail = "malformed";
                } catch (SampleException e) {
                    detail = e.getMessage();
                }
                log.add(new Skip(i, jsonName, rawMediaPath(i), SkipReason.MALFORMED_ENTRY, detail));
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** Per row, whether it is multimodal (for the split-modality sampler). */
    public boolean[] multimodalFlags() {
        boolean[] out = new boolean[kinds.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = multimodal(i);
        }
        return out;
    }

    /** Parses row {@code i}. */
    public Entry entry(int i) throws SampleException {
        String text;
        try {
            text = index.text(i);
        } catch (IOException e) {
            throw new UncheckedIOException("reading entry " + i + " of " + files.json(), e);
        }
        return EntryParser.parse(text, i, files.stage(), jsonName);
    }

    /** The media path as written in row {@code i}, or "" (for reports). */
    public String rawMediaPath(int i) {
        try {
            return EntryParser.rawMediaPath(index.text(i));
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * Resolves a row's media path under the media root. Absolute paths, {@code ..} segments leading
     * out of the root, and existing files whose real path (links followed) lies outside it are
     * {@link SkipReason#OUTSIDE_ROOT}.
     */
    public Path resolveMedia(Entry e) throws SampleException {
        String p = e.mediaPath();
        String where = jsonName + " entry " + e.index() + ": media path '" + p + "'";
        Path rel;
        try {
            rel = Path.of(p);
        } catch (InvalidPathException ex) {
            throw new SampleException(SkipReason.MALFORMED_ENTRY, where + " is not a valid path");
        }
        if (rel.isAbsolute() || p.startsWith("/") || p.startsWith("\\")) {
            throw new SampleException(SkipReason.OUTSIDE_ROOT, where + " is absolute");
        }
        Path resolved = root.resolve(rel).normalize();
        if (!resolved.startsWith(root)) {
            throw new SampleException(SkipReason.OUTSIDE_ROOT, where + " escapes the data root " + root);
        }
        if (Files.exists(resolved)) {
            try {
                if (!resolved.toRealPath().startsWith(realRoot)) {
                    throw new SampleException(SkipReason.OUTSIDE_ROOT, where + " links outside the data root " + root);
                }
            } catch (IOException ex) {
                throw new SampleException(SkipReason.MISSING, where + ": " + ex.getMessage());
            }
        }
        return resolved;
    }

    static int wordCount(String s) {
        int n = 0;
        boolean in = false;
        for (int i = 0; i < s.length(); i++) {
            boolean space = Character.isWhitespace(s.charAt(i));
            if (!space && !in) {
                n++;
            }
            in = !space;
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        index.close();
    }
}
