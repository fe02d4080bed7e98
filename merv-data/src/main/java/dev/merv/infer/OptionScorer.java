package dev.merv.infer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.merv.core.model.Merv;
import dev.merv.core.model.MervBatch;
import dev.merv.core.model.MervOutput;
import dev.merv.core.model.VideoEncoder;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.data.check.SampleException;
import dev.merv.data.batch.Collator;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.batch.Sample;
import dev.merv.data.batch.SampleBuilder;
import dev.merv.data.text.SampleText;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.core.config.Stage;
import dev.merv.data.videollava.VideoLlavaDataset;
import dev.merv.data.videollava.Entry;
import dev.merv.core.text.Turn;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Multiple-choice scoring by answer likelihood: each candidate answer becomes one row (the question as
 * the user turn, the candidate as the assistant reply, through the LLM's own prompt format and label
 * masking), and the candidate whose supervised tokens have the highest summed log-probability wins.
 * Rows run through the data path (decode, sample, transform, tokenize, collate) exactly as training does.
 */
public final class OptionScorer {

    /** One question: a media path relative to {@code mediaRoot} (null = text only), the user turn, candidates. */
    public record Question(String media, boolean image, String prompt, List<String> candidates, int answer) {}

    private OptionScorer() {}

    /** The index of the best candidate per question (the first of equal scores). */
    public static int[] choose(Merv merv, List<Question> questions, Path mediaRoot, Path workDir, int maxLength)
            throws IOException {
        float[][] scores = scoreEach(merv, questions, mediaRoot, workDir, maxLength);
        int[] chosen = new int[scores.length];
        for (int q = 0; q < scores.length; q++) {
            chosen[q] = best(scores[q]);
        }
        return chosen;
    }

    /** The index of the highest score, the first of equal ones. */
    public static int best(float[] scores) {
        int best = 0;
        for (int i = 1; i < scores.length; i++) {
            if (scores[i] > scores[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * Per question, the summed log-probability of each candidate as the assistant's reply (see {@link #scores}),
     * each question's candidates in one batch through the data path training uses.
     */
    public static float[][] scoreEach(Merv merv, List<Question> questions, Path mediaRoot, Path workDir, int maxLength)
            throws IOException {
        Files.createDirectories(workDir);
        Path json = workDir.resolve("mcq_rows.json");
        Gson gson = new GsonBuilder().disableHtmlEscaping().create();
        JsonArray rows = new JsonArray();
        for (int q = 0; q < questions.size(); q++) {
            Question qu = questions.get(q);
            for (String c : qu.candidates()) {
                JsonObject row = new JsonObject();
                row.addProperty("id", "q" + q);
                if (qu.media() != null) {
                    row.addProperty(qu.image() ? "image" : "video", qu.media());
                }
                JsonArray conv = new JsonArray();
                JsonObject h = new JsonObject();
                h.addProperty("from", "human");
                h.addProperty("value", qu.prompt());
                JsonObject g = new JsonObject();
                g.addProperty("from", "gpt");
                g.addProperty("value", c);
                conv.add(h);
                conv.add(g);
                row.add("conversations", conv);
                rows.add(row);
            }
        }
        Files.writeString(json, gson.toJson(rows), StandardCharsets.UTF_8);
        List<EncoderInput> inputs = new ArrayList<>();
        for (VideoEncoder e : merv.encoders()) {
            inputs.add(EncoderInput.of(e));
        }
        long padId = merv.llm().text().tokenizer().padId();
        float[][] scored = new float[questions.size()][];
        try (VideoLlavaDataset ds = VideoLlavaDataset.open(new DatasetRegistry.DatasetFiles(json, mediaRoot, Stage.FINETUNE))) {
            SampleBuilder builder = new SampleBuilder(ds, new SampleText(merv.llm().text(), Stage.FINETUNE, maxLength), inputs,
                    new VideoDecoder(), new SampleBuilder.Options(0, false, true));
            Collator collator = new Collator(padId, maxLength, inputs, Collator.MaskMode.LENGTHS);
            int row = 0;
            for (int q = 0; q < questions.size(); q++) {
                int n = questions.get(q).candidates().size();
                List<Sample> samples = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    try {
                        samples.add(builder.build(row + i, 0));
                    } catch (SampleException e) {
                        throw new IOException("question " + q + ": " + e.getMessage(), e);
                    }
                }
                row += n;
                try (NDManager m = NDManager.newBaseManager(merv.device()); var ng = Torch.noGrad()) {
                    MervBatch batch = collator.collate(samples, m);
                    scored[q] = logLikelihoods(merv, batch);
                    batch.close();
                }
            }
        }
        return scored;
    }

    /**
     * The summed log-probability of each of {@code candidates} as the assistant's reply to {@code prompt} about
     * {@code clip} (null = no media), one row per candidate through the finetune tokenisation and label masking
     * training uses; the clip's pixels are shared by every row.
     */
    public static float[] scores(Merv merv, String prompt, List<String> candidates, MediaInputs.Clip clip, int maxLength)
            throws SampleException {
        SampleText text = new SampleText(merv.llm().text(), Stage.FINETUNE, maxLength);
        List<EncoderInput> inputs = MediaInputs.inputs(merv);
        Entry.Kind kind = clip == null ? Entry.Kind.TEXT : clip.image() ? Entry.Kind.IMAGE : Entry.Kind.VIDEO;
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < candidates.size(); i++) {
            Entry e = new Entry(i, List.of(new Turn("human", prompt), new Turn("gpt", candidates.get(i))),
                    clip == null ? null : "media", kind, clip != null && clip.image());
            samples.add(new Sample(i, text.encode(e), clip == null ? null : clip.pixels(), e.isImage()));
        }
        Collator collator = new Collator(merv.llm().text().tokenizer().padId(), maxLength, inputs, Collator.MaskMode.LENGTHS);
        ai.djl.Device device = merv.llm().module().namedParameters().values().iterator().next().get().getDevice();
        try (NDManager m = NDManager.newBaseManager(device); var ng = Torch.noGrad()) {
            MervBatch batch = collator.collate(samples, m);
            float[] ll = logLikelihoods(merv, batch);
            batch.close();
            return ll;
        }
    }

    /** Summed log-probability of each row's supervised tokens (rows in the batch's order). */
    static float[] logLikelihoods(Merv merv, MervBatch batch) {
        MervOutput out = merv.forward(batch);
        NDArray logits = out.logits();
        NDArray labels = out.inputs().labels();
        long rows = logits.getShape().get(0);
        long seq = logits.getShape().get(1);
        long vocab = logits.getShape().get(2);
        NDArray shiftedLogits = Torch.to(logits.get(new NDIndex(":, :-1, :")), ScalarType.FLOAT32).reshape(-1, vocab);
        NDArray shiftedLabels = labels.get(new NDIndex(":, 1:")).reshape(-1);
        NDArray nll = Torch.crossEntropy(shiftedLogits, shiftedLabels, Torch.Reduction.NONE, MervBatch.IGNORE_INDEX)
                .reshape(rows, seq - 1).sum(new int[] {1});
        float[] v = nll.toFloatArray();
        float[] ll = new float[v.length];
        int[] order = out.inputs().rowOrder();
        for (int i = 0; i < v.length; i++) {
            ll[order == null ? i : order[i]] = -v[i];
        }
        return ll;
    }
}
