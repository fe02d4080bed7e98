package dev.merv.eval;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.io.AtomicFiles;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reference's result files of one chunk of a benchmark, under {@code <out>/<stem>_pred_...}, where the stem is
 * {@code <eval_dataset>_<strategy>} for MCQ and {@code <eval_dataset>} for open-ended questions:
 *
 * <ul>
 *   <li>{@code <stem>_pred_<N>_<K>.jsonl}: chunk K of N while it runs, one result line per question, flushed line by
 *       line; renamed {@code <stem>_pred_<N>_<K>_done.jsonl} when the chunk is complete;
 *   <li>{@code <stem>_pred_merge.jsonl}: written by the chunk that finishes last (the done files of N then cover every
 *       question), in the benchmark's question order; the done files are removed.
 * </ul>
 *
 * Resuming follows the reference: a chunk whose own partial or done file exists keeps the well-formed lines of it
 * (a line cut by a crash is dropped and its question asked again); otherwise it takes the answers to its questions
 * from the result files of any other chunk count (the merge file included). The kept lines are written to a fresh
 * partial file atomically before any new answer is appended, so a crash never loses a finished answer.
 */
public final class ChunkFiles {

    private static final Logger LOG = LoggerFactory.getLogger(ChunkFiles.class);

    private final Path out;
    private final String stem;
    private final int n;
    private final int k;
    private final List<String> required;

    /**
     * @param required the fields a line must hold to count as an answer (the reference's MCQ resume checks nine)
     */
    public ChunkFiles(Path out, String stem, int numChunks, int chunkIdx, List<String> required) {
        this.out = out;
        this.stem = stem;
        this.n = numChunks;
        this.k = chunkIdx;
        this.required = List.copyOf(required);
    }

    public Path partial() {
        return out.resolve(stem + "_pred_" + n + "_" + k + ".jsonl");
    }

    public Path done() {
        return out.resolve(stem + "_pred_" + n + "_" + k + "_done.jsonl");
    }

    public Path merge() {
        return out.resolve(stem + "_pred_merge.jsonl");
    }

    /** The result lines already written for {@code chunk}'s questions, by question id, in chunk order. */
    public Map<String, String> previous(List<Benchmark.Question> chunk) {
        List<Path> sources = new ArrayList<>();
        if (Files.exists(done())) {
            sources.add(done());
        } else if (Files.exists(partial())) {
            sources.add(partial());
        } else if (Files.isDirectory(out)) {
            String any = stem + "_pred_";
            String same = stem + "_pred_" + n + "_";
            try (Stream<Path> s = Files.list(out)) {
                s.map(p -> p.getFileName().toString()).filter(f -> f.startsWith(any) && f.endsWith(".jsonl")
                        && !f.startsWith(same)).sorted().forEach(f -> sources.add(out.resolve(f)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + out, e);
            }
        }
        Map<String, String> byId = new HashMap<>();
        int broken = 0;
        for (Path f : sources) {
            for (String line : lines(f)) {
                JsonObject o = parse(line);
                if (o == null) {
                    broken += line.isBlank() ? 0 : 1;
                    continue;
                }
                byId.put(o.get("question_id").getAsString(), line);
            }
        }
        if (broken > 0) {
            LOG.warn("{}: {} incomplete result line(s) dropped; their questions are asked again", sources, broken);
        }
        Map<String, String> kept = new LinkedHashMap<>();
        for (Benchmark.Question q : chunk) {
            String line = byId.get(q.id());
            if (line != null) {
                kept.put(q.id(), line);
            }
        }
        if (!kept.isEmpty()) {
            LOG.info("resuming chunk {} of {}: {} of {} questions already answered in {}", k, n, kept.size(), chunk.size(),
                    sources);
        }
        return kept;
    }

    /** A result line with every required field, or null. */
    private JsonObject parse(String line) {
        if (line.isBlank()) {
            return null;
        }
        try {
            JsonElement e = JsonParser.parseString(line);
            if (!e.isJsonObject()) {
                return null;
            }
            JsonObject o = e.getAsJsonObject();
            for (String f : required) {
                if (!o.has(f)) {
                    return null;
                }
            }
            return o.has("question_id") && o.get("question_id").isJsonPrimitive() ? o : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static List<String> lines(Path f) {
        try {
            return Files.readAllLines(f, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f, e);
        }
    }

    /** Starts the chunk's partial file holding {@code kept} (written atomically); new lines are appended to it. */
    public Appender start(Collection<String> kept) {
        writeAtomically(partial(), List.copyOf(kept));
        try {
            Files.deleteIfExists(done());
            return new Appender(Files.newBufferedWriter(partial(), StandardCharsets.UTF_8, StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + partial(), e);
        }
    }

    /** Appends result lines to the partial file, each flushed as it is written. */
    public final class Appender implements AutoCloseable {
        private final BufferedWriter w;
        private boolean closed;

        private Appender(BufferedWriter w) {
            this.w = w;
        }

        public void append(String line) {
            try {
                w.write(line);
                w.write('\n');
                w.flush();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot append to " + partial(), e);
            }
        }

        /** Closes the partial file and renames it to the done file: the chunk is complete. */
        public void finish() {
            close();
            try {
                Files.move(partial(), done(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot rename " + partial() + " to " + done(), e);
            }
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                try {
                    w.close();
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot close " + partial(), e);
                }
            }
        }
    }

    /**
     * When the done files of this chunk count cover every question of {@code all}, writes the merge file (in question
     * order, each line through {@code decorate}), removes the done files and returns the merged results; otherwise
     * returns empty, logging how many questions are still missing.
     */
    public Optional<List<JsonObject>> mergeIfComplete(List<Benchmark.Question> all, UnaryOperator<JsonObject> decorate) {
        String doneSuffix = "_done.jsonl";
        String same = stem + "_pred_" + n + "_";
        List<Path> doneFiles = new ArrayList<>();
        try (Stream<Path> s = Files.list(out)) {
            s.filter(p -> {
                String f = p.getFileName().toString();
                return f.startsWith(same) && f.endsWith(doneSuffix);
            }).sorted().forEach(doneFiles::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + out, e);
        }
        Map<String, JsonObject> items = new HashMap<>();
        for (Path f : doneFiles) {
            for (String line : lines(f)) {
                JsonObject o = parse(line);
                if (o != null) {
                    items.put(o.get("question_id").getAsString(), o);
                }
            }
        }
        List<JsonObject> merged = new ArrayList<>();
        Set<String> missing = new HashSet<>();
        for (Benchmark.Question q : all) {
            JsonObject o = items.get(q.id());
            if (o == null) {
                missing.add(q.id());
            } else {
                merged.add(decorate.apply(o));
            }
        }
        if (!missing.isEmpty()) {
            LOG.info("{} of {} questions answered in the done files of {} chunk(s); the last chunk to finish merges",
                    all.size() - missing.size(), all.size(), n);
            return Optional.empty();
        }
        List<String> lines = new ArrayList<>();
        for (JsonObject o : merged) {
            lines.add(PyJson.dumps(o));
        }
        writeAtomically(merge(), lines);
        for (Path f : doneFiles) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove " + f, e);
            }
        }
        return Optional.of(merged);
    }

    /** The merge file's results, when it exists. */
    public Optional<List<JsonObject>> merged() {
        if (!Files.exists(merge())) {
            return Optional.empty();
        }
        List<JsonObject> out = new ArrayList<>();
        for (String line : lines(merge())) {
            if (!line.isBlank()) {
                out.add(JsonParser.parseString(line).getAsJsonObject());
            }
        }
        return Optional.of(out);
    }

    /** Writes {@code lines} (one per line) to {@code f} under a temporary name first. */
    static void writeAtomically(Path f, List<String> lines) {
        StringBuilder sb = new StringBuilder();
        for (String l : lines) {
            sb.append(l).append('\n');
        }
        AtomicFiles.writeString(f, sb.toString());
    }
}
