package dev.merv.data.synth;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.model.Frame;
import dev.merv.data.video.SampledVideo;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthDatasetTest {

    @TempDir
    Path dir;

    @Test
    void sameSeedSameBytes() throws Exception {
        SynthDataset.Manifest a = SynthDataset.generate(SynthDataset.Config.of(dir.resolve("a"), 3, 11));
        SynthDataset.Manifest b = SynthDataset.generate(SynthDataset.Config.of(dir.resolve("b"), 3, 11));
        assertThat(a.finetuneEntries()).isEqualTo(b.finetuneEntries());
        List<Path> files;
        try (Stream<Path> s = Files.walk(a.root())) {
            files = s.filter(Files::isRegularFile).map(a.root()::relativize).sorted().toList();
        }
        assertThat(files).isNotEmpty();
        for (Path rel : files) {
            assertThat(Files.readAllBytes(b.root().resolve(rel))).as(rel.toString())
                    .isEqualTo(Files.readAllBytes(a.root().resolve(rel)));
        }
    }

    @Test
    void answersCanBeReadOffThePixels() throws Exception {
        SynthDataset.Manifest m = SynthDataset.generate(SynthDataset.Config.of(dir, 6, 3));
        JsonArray rows = JsonParser.parseString(Files.readString(m.root().resolve(DatasetRegistry.FINETUNE_JSON)))
                .getAsJsonArray();
        VideoDecoder dec = new VideoDecoder();
        int videos = 0;
        int images = 0;
        int texts = 0;
        for (var el : rows) {
            JsonObject o = el.getAsJsonObject();
            JsonArray conv = o.getAsJsonArray("conversations");
            if (o.has("video")) {
                videos++;
                assertThat(conv.get(0).getAsJsonObject().get("value").getAsString()).startsWith("<video>\n");
                String colour = conv.get(1).getAsJsonObject().get("value").getAsString();
                String direction = conv.get(3).getAsJsonObject().get("value").getAsString();
                SampledVideo v = dec.decodeSampled(m.root().resolve(o.get("video").getAsString()), 8);
                double[] c0 = centroid(v.frames().get(0), colour);
                double[] c1 = centroid(v.frames().get(7), colour);
                assertThat(c0[2]).as("pixels of colour " + colour).isGreaterThan(20);
                double dx = c1[0] - c0[0];
                double dy = c1[1] - c0[1];
                String seen = Math.abs(dx) > Math.abs(dy) ? (dx < 0 ? "left" : "right") : (dy < 0 ? "up" : "down");
                assertThat(seen).as(o.get("id").getAsString()).isEqualTo(direction);
            } else if (o.has("image")) {
                images++;
                assertThat(Files.exists(m.root().resolve(o.get("image").getAsString()))).isTrue();
            } else {
                texts++;
            }
        }
        assertThat(videos).isEqualTo(6);
        assertThat(images).isPositive();
        assertThat(texts).isPositive();
        assertThat(m.alignEntries()).isEqualTo(videos + images);
        assertThat(m.faults()).isEmpty();
    }

    /** Mean x, y and count of pixels close to the named colour. */
    private static double[] centroid(Frame f, String colour) {
        int[][] rgb = {{220, 30, 30}, {30, 190, 40}, {40, 70, 230}, {230, 215, 40}, {150, 50, 200}};
        int[] c = rgb[List.of(SynthDataset.COLOURS).indexOf(colour)];
        double sx = 0;
        double sy = 0;
        int n = 0;
        for (int y = 0; y < f.height(); y++) {
            for (int x = 0; x < f.width(); x++) {
                int k = (y * f.width() + x) * 3;
                int d = Math.abs((f.rgb()[k] & 255) - c[0]) + Math.abs((f.rgb()[k + 1] & 255) - c[1])
                        + Math.abs((f.rgb()[k + 2] & 255) - c[2]);
                if (d < 60) {
                    sx += x;
                    sy += y;
                    n++;
                }
            }
        }
        return new double[] {sx / Math.max(1, n), sy / Math.max(1, n), n};
    }
}
