package dev.merv.data.image;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.merv.core.model.Frame;
import dev.merv.core.weights.SafeTensors;
import dev.merv.data.video.VideoDecoder;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Grayscale stills decode as PIL's {@code Image.open(p).convert("RGB")} makes them: the grey value replicated into
 * R, G and B (no colour-space conversion), alpha dropped, 16-bit grey as Pillow converts it. Expected pixels from
 * Pillow 11 ({@code images/grayscale-expected.safetensors}, made by {@code tools/reference-values/grayscale_images.py}).
 */
class ImageDecoderTest {

    static Path images() throws Exception {
        return Path.of(ImageDecoderTest.class.getResource("/images").toURI());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"gray.png", "gray.jpg", "gray-alpha.png", "gray16.png"})
    void grayscaleDecodesAsPilConvertRgb(String name) throws Exception {
        Path dir = images();
        Frame f = new ImageDecoder(new VideoDecoder()).decode(dir.resolve(name));
        try (NDManager m = NDManager.newBaseManager(); SafeTensors want = SafeTensors.open(dir.resolve("grayscale-expected.safetensors"))) {
            long[] shape = want.info(name).shape();
            assertThat(f.height()).isEqualTo(shape[0]);
            assertThat(f.width()).isEqualTo(shape[1]);
            byte[] exp = want.load(name, m, null).toByteArray();
            int worst = 0;
            int at = -1;
            for (int i = 0; i < exp.length; i++) {
                int d = Math.abs((f.rgb()[i] & 0xff) - (exp[i] & 0xff));
                if (d > worst) {
                    worst = d;
                    at = i;
                }
            }
            assertThat(worst).as("%s: largest difference to PIL at byte %d (pixel %d, channel %d)", name, at, at / 3, at % 3)
                    .isZero();
        }
    }
}
