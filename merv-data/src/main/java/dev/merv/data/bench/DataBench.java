package dev.merv.data.bench;

import ai.djl.ndarray.NDManager;
import dev.merv.core.text.TextPipeline;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.batch.MervBatchSource;
import dev.merv.core.train.BatchPlan;
import dev.merv.core.train.MervMicroBatch;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipLog;
import dev.merv.data.video.SampledVideo;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.Entry;
import dev.merv.data.videollava.VideoLlavaDataset;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * How fast the data path is on a user's own files, to tell whether it will keep the GPUs fed:
 * {@link #decode} times the loader's decode of one video (the sampled frames, as RGB), {@link #loader}
 * times the whole loader (decode, frame sampling, every encoder's transform, collation into batches)
 * over a dataset, built by the same classes training uses ({@link MervBatchSource}).
 * Each measurement starts with an untimed warm-up (JIT, page cache).
 */
public final class DataBench {

    private DataBench() {}

    /**
     * One video's decode timed over several runs.
     *
     * @param sampled frames sampled ({@code K})
     * @param numFrames frames in the file
     * @param decodedFrames frames the decoder produced to get them (the same every run)
     * @param runMillis wall time of each timed run
     */
    public record DecodeReport(Path video, int sampled, int numFrames, int decodedFrames, double[] runMillis) {

        public double medianMillis() {
            return median(runMillis);
        }

        /** {@code decode: K frames of N (D decoded) in T ms median of R runs}. */
        public String line() {
            return String.format(Locale.ROOT, "decode: %d frames of %d (%d decoded) in %.1f ms median of %d runs", sampled,
                    numFrames, decodedFrames, medianMillis(), runMillis.length);
        }
    }

    /**
     * Decodes the {@code frames} frames the loader samples from {@code video}, once untimed, then {@code runs}
     * timed times, with the loader's decoder settings {@code options}.
     */
    public static DecodeReport decode(Path video, int frames, int runs, VideoDecoder.Options options)
            throws SampleException {
        if (frames <= 0 || runs <= 0) {
            throw new IllegalArgumentException("frames and runs must be positive, got " + frames + " and " + runs);
        }
        VideoDecoder decoder = new VideoDecoder(options);
        SampledVideo v = decoder.decodeSampled(video, frames);
        double[] ms = new double[runs];
        for (int r = 0; r < runs; r++) {
            long t0 = System.nanoTime();
            v = decoder.decodeSampled(video, frames);
            ms[r] = (System.nanoTime() - t0) / 1e6;
        }
        return new DecodeReport(video, frames, v.numFrames(), v.decodedFrames(), ms);
    }

    /**
     * Loader settings for {@link #loader}.
     *
     * @param samples rows to time (after one untimed warm-up micro-batch); the epoch order wraps around
     *     when the dataset has fewer
     * @param threads loader threads building samples (each decodes with one decoder thread)
     * @param microBatch rows per collated batch
     * @param seed sampler and transform seed
     * @param training whether transforms take their training randomness (LanguageBind's flip)
     * @param decoder decoder settings
     */
    public record LoaderSettings(int samples, int threads, int microBatch, long seed, boolean training,
            VideoDecoder.Options decoder) {
        public LoaderSettings {
            if (samples <= 0 || threads <= 0 || microBatch <= 0) {
                throw new IllegalArgumentException("samples, threads and micro-batch must be positive: " + samples + ", "
                        + threads + ", " + microBatch);
            }
        }

        public static LoaderSettings of(int samples, int threads) {
            return new LoaderSettings(samples, threads, 4, 7, true, VideoDecoder.Options.defaults());
        }
    }

    /**
     * The whole loader timed over {@code samples} rows.
     *
     * @param samples rows built and collated in the timed part (skipped rows not counted)
     * @param videos video rows among them
     * @param images image rows among them
     * @param skipped rows that failed (missing, corrupt, ...; see the dataset check)
     * @param seconds wall time of the timed part
     */
    public record LoaderReport(int samples, int videos, int images, int skipped, int threads, double seconds) {

        public double clipsPerSecond() {
            return samples / seconds;
        }

        /** Clips per second per loader thread: per core while the threads have a core each. */
        public double clipsPerSecondPerCore() {
            return clipsPerSecond() / threads;
        }

        public String line() {
            return String.format(Locale.ROOT, "loader: %d samples (%d videos, %d images, %d text; %d skipped) in %.2f s with"
                    + " %d threads: %.2f clips/s, %.2f clips/s per core", samples, videos, images, samples - videos - images,
                    skipped, seconds, threads, clipsPerSecond(), clipsPerSecondPerCore());
        }
    }

    /**
     * Builds and collates {@code settings.samples()} rows of {@code dataset} the way training does (stage
     * sampler, sample builder with {@code encoders}' transforms, collator), after one untimed micro-batch.
     */
    public static LoaderReport loader(VideoLlavaDataset dataset, TextPipeline text, List<EncoderInput> encoders,
            LoaderSettings settings) {
        MervBatchSource.Options o = MervBatchSource.Options.defaults(settings.seed(), 2048, 0)
                .withLengths(MervBatchSource.Lengths.WORDS).withThreads(settings.threads())
                .withTraining(settings.training()).withDecoder(settings.decoder());
        BatchPlan plan = BatchPlan.of(settings.microBatch(), settings.microBatch(), 1);
        SkipLog skips = new SkipLog();
        try (NDManager manager = NDManager.newBaseManager();
                MervBatchSource source = new MervBatchSource(dataset, text, encoders, o, skips)) {
            long steps = source.stepsPerEpoch(0, plan);
            if (steps == 0) {
                throw new IllegalArgumentException(dataset.jsonName() + ": no loadable rows");
            }
            // one untimed micro-batch: the pool, the decoder and the transforms warm up
            source.load(0, 0, 0, 0, plan, manager).close();
            int skippedBefore = skips.size();
            int samples = 0;
            int videos = 0;
            int images = 0;
            long t0 = System.nanoTime();
            for (long k = 1; samples < settings.samples(); k++) {
                try (MervMicroBatch mb = source.load((int) (k / steps), k % steps, 0, 0, plan, manager)) {
                    for (int row : mb.rows()) {
                        samples++;
                        Entry.Kind kind = dataset.kind(row);
                        videos += kind == Entry.Kind.VIDEO ? 1 : 0;
                        images += kind == Entry.Kind.IMAGE ? 1 : 0;
                    }
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            return new LoaderReport(samples, videos, images, skips.size() - skippedBefore, settings.threads(), seconds);
        }
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
