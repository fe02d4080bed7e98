package dev.merv.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How trainable parameters are packed into buckets and owned pieces (ZeRO-2). */
class FlatLayoutTest {

    static final List<String> NAMES = List.of("embed.weight", "l0.q.weight", "l0.q.bias", "l0.norm.weight", "l1.q.weight",
            "l1.q.bias", "head.weight");
    static final List<long[]> SHAPES = List.of(new long[] {10, 4}, new long[] {4, 4}, new long[] {4}, new long[] {4},
            new long[] {4, 4}, new long[] {4}, new long[] {7, 4});

    @Test
    void reverseOrderDecayGroupsAndCap() {
        FlatLayout l = FlatLayout.build(NAMES, SHAPES, 1, 40);
        // reverse declaration order within each group; a group's bucket closes when the next tensor would pass the cap
        List<List<String>> buckets = new ArrayList<>();
        for (FlatLayout.Bucket b : l.buckets()) {
            buckets.add(b.entries().stream().map(FlatLayout.Entry::name).toList());
            long offset = 0;
            for (FlatLayout.Entry e : b.entries()) {
                assertThat(e.offset()).as("%s packed contiguously", e.name()).isEqualTo(offset);
                offset += e.numel();
                assertThat(e.numel()).isEqualTo(java.util.Arrays.stream(e.shape()).reduce(1, (a, c) -> a * c));
            }
            assertThat(b.numel()).isEqualTo(offset);
            assertThat(b.decay()).isEqualTo(DecayGroups.decays(b.entries().get(0).name(), b.entries().get(0).shape()));
            for (FlatLayout.Entry e : b.entries()) {
                assertThat(DecayGroups.decays(e.name(), e.shape())).as("%s in a %s bucket", e.name(), b.decay()).isEqualTo(b.decay());
            }
        }
        // decay: head 28, l1.q 16 (> 40 with head: new bucket), l0.q 16 -> [head], [l1.q, l0.q], [embed] (40, alone)
        assertThat(buckets).containsExactly(List.of("head.weight"), List.of("l1.q.weight", "l0.q.weight"),
                List.of("embed.weight"), List.of("l1.q.bias", "l0.norm.weight", "l0.q.bias"));
        assertThat(l.entries()).extracting(FlatLayout.Entry::name).containsExactlyElementsOf(NAMES);
        assertThat(l.maxPadded()).isEqualTo(40);
    }

    @Test
    void aTensorLargerThanTheCapGetsABucketOfItsOwn() {
        FlatLayout l = FlatLayout.build(NAMES, SHAPES, 1, 8);
        for (FlatLayout.Bucket b : l.buckets()) {
            assertThat(b.entries().size() == 1 || b.numel() <= 8).as("bucket %d", b.index()).isTrue();
        }
        assertThat(l.buckets()).anySatisfy(b -> assertThat(b.entries()).extracting(FlatLayout.Entry::name)
                .containsExactly("embed.weight"));
    }

    @Test
    void piecesPadToTheReplicaCountAndThePackingDoesNot() {
        FlatLayout one = FlatLayout.build(NAMES, SHAPES, 1, 40);
        for (int replicas : new int[] {2, 3, 5}) {
            FlatLayout l = FlatLayout.build(NAMES, SHAPES, replicas, 40);
            assertThat(l.replicas()).isEqualTo(replicas);
            assertThat(l.buckets()).hasSameSizeAs(one.buckets());
            long owned = 0;
            for (FlatLayout.Bucket b : l.buckets()) {
                FlatLayout.Bucket b1 = one.buckets().get(b.index());
                assertThat(b.entries()).as("same entries and offsets whatever the replica count")
                        .usingRecursiveFieldByFieldElementComparator().isEqualTo(b1.entries());
                assertThat(b.piece()).isEqualTo((b.numel() + replicas - 1) / replicas);
                assertThat(b.padded()).isEqualTo(b.piece() * replicas).isGreaterThanOrEqualTo(b.numel())
                        .isLessThan(b.numel() + replicas);
                for (int r = 0; r < replicas; r++) {
                    assertThat(b.pieceStart(r)).isEqualTo(r * b.piece());
                }
                owned += b.piece();
            }
            assertThat(l.shardElements()).isEqualTo(owned);
            assertThat(l.maxPiece()).isEqualTo(l.buckets().stream().mapToLong(FlatLayout.Bucket::piece).max().orElseThrow());
        }
        assertThatThrownBy(() -> FlatLayout.build(NAMES, SHAPES, 0, 40)).hasMessageContaining("replicas");
    }

    @Test
    void jsonNamesEveryEntry() {
        FlatLayout l = FlatLayout.build(NAMES, SHAPES, 3, 40);
        JsonObject o = l.toJson();
        assertThat(o.get("replicas").getAsInt()).isEqualTo(3);
        assertThat(o.getAsJsonArray("buckets")).hasSize(l.buckets().size());
        JsonObject b0 = o.getAsJsonArray("buckets").get(0).getAsJsonObject();
        assertThat(b0.get("padded").getAsLong()).isEqualTo(l.buckets().get(0).padded());
        assertThat(b0.getAsJsonArray("entries").get(0).getAsJsonObject().get("name").getAsString()).isEqualTo("head.weight");
    }
}
