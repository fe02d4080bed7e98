package dev.merv.llm.generate;

import dev.merv.llm.llama.LlmFixtureTest;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.ScalarType;
import dev.merv.llm.llama.LlamaModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** KV-cached decoding equals recomputing the whole sequence; batching with left padding changes nothing. */
public class GenerationTest {

    public static List<long[]> prompts(int vocab, int... lengths) {
        Random r = new Random(7);
        List<long[]> out = new ArrayList<>();
        for (int len : lengths) {
            long[] p = new long[len];
            for (int i = 0; i < len; i++) {
                p[i] = 3 + r.nextInt(vocab - 3);
            }
            out.add(p);
        }
        return out;
    }

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"llama2-tiny", "llama3-tiny", "qwen2-tiny"})
    void cachedEqualsRecomputed(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = NDManager.newBaseManager()) {
            LlamaModel model = LlmFixtureTest.build(f, m, ScalarType.FLOAT32);
            List<long[]> ps = prompts(model.vocabSize(), 5, 9, 3);
            GenerationConfig greedy = GenerationConfig.greedy(10, Set.of(), 0).withRecordLogits(true);
            GenerationResult cached = Generator.generate(model, ps, greedy, null);
            GenerationResult full = Generator.generate(model, ps, greedy.withCache(false), null);
            assertThat(cached.steps()).isEqualTo(10);
            for (int r = 0; r < ps.size(); r++) {
                assertThat(cached.tokens().get(r)).as("%s row %d cached vs recomputed", name, r)
                        .containsExactly(full.tokens().get(r));
            }
            for (int s = 0; s < cached.steps(); s++) {
                for (int r = 0; r < ps.size(); r++) {
                    Compare.assertClose(name + " step " + s + " row " + r, cached.stepLogits().get(s)[r],
                            full.stepLogits().get(s)[r], new long[] {model.vocabSize()}, 1e-4, 1e-4);
                }
            }
            // sampling draws the same tokens either way (same seed, same logits)
            GenerationConfig sample = GenerationConfig.sampling(8, 0.7, 20, 0.9, 11, Set.of(), 0);
            GenerationResult sc = Generator.generate(model, ps, sample, null);
            GenerationResult sf = Generator.generate(model, ps, sample.withCache(false), null);
            for (int r = 0; r < ps.size(); r++) {
                assertThat(sc.tokens().get(r)).as("%s row %d sampled", name, r).containsExactly(sf.tokens().get(r));
            }
        }
    }

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"llama3-tiny", "qwen2-tiny"})
    void leftPaddedBatchEqualsSingleRows(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = NDManager.newBaseManager()) {
            LlamaModel model = LlmFixtureTest.build(f, m, ScalarType.FLOAT32);
            List<long[]> ps = prompts(model.vocabSize(), 4, 11);
            GenerationConfig greedy = GenerationConfig.greedy(8, Set.of(), 0).withRecordLogits(true);
            GenerationResult batch = Generator.generate(model, ps, greedy, null);
            for (int r = 0; r < ps.size(); r++) {
                GenerationResult single = Generator.generate(model, List.of(ps.get(r)), greedy, null);
                assertThat(batch.tokens().get(r)).as("%s row %d batched vs alone", name, r)
                        .containsExactly(single.tokens().get(0));
                Compare.assertClose(name + " first-step logits row " + r, batch.stepLogits().get(0)[r],
                        single.stepLogits().get(0)[0], new long[] {model.vocabSize()}, 1e-4, 1e-4);
            }
        }
    }

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"llama2-tiny"})
    void stopTokenEndsRowAndPadsIt(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = NDManager.newBaseManager()) {
            LlamaModel model = LlmFixtureTest.build(f, m, ScalarType.FLOAT32);
            List<long[]> ps = prompts(model.vocabSize(), 6, 6);
            GenerationResult free = Generator.generate(model, ps, GenerationConfig.greedy(6, Set.of(), 0), null);
            long stop = free.tokens().get(0)[2];
            List<long[]> streamed = new ArrayList<>();
            GenerationResult stopped = Generator.generate(model, ps, GenerationConfig.greedy(6, Set.of(stop), 0),
                    (step, tokens, finished) -> streamed.add(tokens));
            long[] row0 = stopped.tokens().get(0);
            int first = 0;
            while (free.tokens().get(0)[first] != stop) {
                first++;
            }
            assertThat(row0).hasSize(first + 1);
            assertThat(row0[row0.length - 1]).isEqualTo(stop);
            assertThat(streamed).hasSize(stopped.steps());
        }
    }
}
