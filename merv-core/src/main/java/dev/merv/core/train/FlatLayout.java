package dev.merv.core.train;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * How trainable parameters are packed into flat fp32 buckets for reduction and sharding. Parameters
 * are taken in reverse declaration order (roughly the order backward finishes them), each bucket
 * holds parameters of one decay group up to {@code capElements} (a larger parameter gets a bucket
 * of its own), and each bucket is padded to a multiple of the replica count so that replica
 * {@code r} owns the contiguous piece {@code [r*piece, (r+1)*piece)} of every bucket (ZeRO-2).
 * The packing does not depend on the replica count; only the padding does, which is what lets a
 * checkpoint written with N replicas resume on M.
 */
public final class FlatLayout {

    /** One parameter inside a bucket. */
    public record Entry(int id, String name, long[] shape, long numel, long offset) {}

    /** A contiguous group of parameters reduced and stepped together. */
    public record Bucket(int index, boolean decay, List<Entry> entries, long numel, long padded, long piece) {
        /** The element range {@code [start, end)} of this bucket that replica {@code rank} owns. */
        public long pieceStart(int rank) {
            return rank * piece;
        }
    }

    private final List<Bucket> buckets;
    private final List<Entry> entries;
    private final int replicas;

    private FlatLayout(List<Bucket> buckets, int replicas) {
        this.buckets = List.copyOf(buckets);
        List<Entry> all = new ArrayList<>();
        buckets.forEach(b -> all.addAll(b.entries()));
        all.sort((a, b) -> Integer.compare(a.id(), b.id()));
        this.entries = List.copyOf(all);
        this.replicas = replicas;
    }

    /**
     * Packs {@code names[i]} with {@code shapes[i]} (declaration order).
     *
     * @param capElements bucket size limit in elements (a larger parameter forms its own bucket)
     */
    public static FlatLayout build(List<String> names, List<long[]> shapes, int replicas, long capElements) {
        if (replicas < 1) {
            throw new IllegalArgumentException("replicas must be >= 1");
        }
        List<Bucket> out = new ArrayList<>();
        List<List<Entry>> open = new ArrayList<>(List.of(new ArrayList<>(), new ArrayList<>()));
        long[] openSize = new long[2];
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            order.add(i);
        }
        Collections.reverse(order);
        for (int id : order) {
            long[] shape = shapes.get(id);
            long numel = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            int g = DecayGroups.decays(names.get(id), shape) ? 1 : 0;
            if (!open.get(g).isEmpty() && openSize[g] + numel > capElements) {
                out.add(close(out.size(), g == 1, open.get(g), replicas));
                open.set(g, new ArrayList<>());
                openSize[g] = 0;
            }
            open.get(g).add(new Entry(id, names.get(id), shape.clone(), numel, openSize[g]));
            openSize[g] += numel;
        }
        for (int g = 1; g >= 0; g--) {
            if (!open.get(g).isEmpty()) {
                out.add(close(out.size(), g == 1, open.get(g), replicas));
            }
        }
        return new FlatLayout(out, replicas);
    }

    private static Bucket close(int index, boolean decay, List<Entry> entries, int replicas) {
        long numel = entries.stream().mapToLong(Entry::numel).sum();
        long piece = (numel + replicas - 1) / replicas;
        return new Bucket(index, decay, List.copyOf(entries), numel, piece * replicas, piece);
    }

    public List<Bucket> buckets() {
        return buckets;
    }

    /** Every entry, by id (declaration order). */
    public List<Entry> entries() {
        return entries;
    }

    public int replicas() {
        return replicas;
    }

    public long maxPadded() {
        return buckets.stream().mapToLong(Bucket::padded).max().orElse(0);
    }

    public long maxPiece() {
        return buckets.stream().mapToLong(Bucket::piece).max().orElse(0);
    }

    /** Elements this replica owns over all buckets. */
    public long shardElements() {
        return buckets.stream().mapToLong(Bucket::piece).sum();
    }

    /** The layout as JSON (stored beside each optimizer shard so a resume can re-shard). */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("replicas", replicas);
        JsonArray bs = new JsonArray();
        for (Bucket b : buckets) {
            JsonObject jb = new JsonObject();
            jb.addProperty("decay", b.decay());
            jb.addProperty("numel", b.numel());
            jb.addProperty("padded", b.padded());
            jb.addProperty("piece", b.piece());
            JsonArray es = new JsonArray();
            for (Entry e : b.entries()) {
                JsonObject je = new JsonObject();
                je.addProperty("name", e.name());
                je.addProperty("offset", e.offset());
                je.addProperty("numel", e.numel());
                JsonArray sh = new JsonArray();
                for (long d : e.shape()) {
                    sh.add(d);
                }
                je.add("shape", sh);
                es.add(je);
            }
            jb.add("entries", es);
            bs.add(jb);
        }
        o.add("buckets", bs);
        return o;
    }
}
