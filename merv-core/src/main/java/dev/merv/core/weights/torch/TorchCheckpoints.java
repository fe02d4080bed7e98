package dev.merv.core.weights.torch;

import dev.merv.core.weights.ModelDirectory;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.SafeTensorsWriter;
import dev.merv.core.weights.TensorInfo;
import dev.merv.core.weights.WeightSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Conversions between torch.save checkpoints and safetensors. */
public final class TorchCheckpoints {

    /** What a conversion wrote, and the non-tensor values of the input it skipped. */
    public record Conversion(List<Path> written, int tensors, long bytes, List<TorchCheckpoint.Value> skipped) {}

    private TorchCheckpoints() {}

    /**
     * Converts {@code in} to safetensors at {@code out} (a name ending in {@code .safetensors}).
     * {@code in} is a torch.save file ({@code .pt}, {@code .bin}, any name), a safetensors file, or a
     * directory holding a {@code pytorch_model.bin.index.json}, a {@code pytorch_model.bin} or
     * safetensors weights (re-sharding them). Every tensor keeps its dtype and bytes under its nested
     * name joined with {@code .}, written contiguous; non-tensor values are skipped and returned. With
     * {@code shardBytes > 0} the output is split into shards of at most that many bytes of tensor data
     * with a Hugging Face {@code <stem>.safetensors.index.json} when it does not fit one; nothing is
     * written under a final name unless every file is complete. The input is checked completely before
     * anything is written: a refused input ({@link dev.merv.core.weights.WeightFormatException}) leaves
     * no output file.
     */
    public static Conversion convert(Path in, Path out, long shardBytes) {
        if (!out.getFileName().toString().endsWith(".safetensors")) {
            throw new IllegalArgumentException("output " + out + " must be a .safetensors file name");
        }
        if (!Files.exists(in)) {
            throw new IllegalArgumentException("input " + in + " does not exist");
        }
        if (Files.exists(out) && Files.isDirectory(out)) {
            throw new IllegalArgumentException("output " + out + " is a directory");
        }
        try {
            if (Files.exists(out) && Files.isSameFile(in, out)) {
                throw new IllegalArgumentException("input and output are the same file " + in);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        AutoCloseable opened;
        WeightSource source;
        List<TorchCheckpoint.Value> skipped = new ArrayList<>();
        if (Files.isDirectory(in)) {
            ModelDirectory md = ModelDirectory.open(in);
            opened = md;
            source = md;
            for (WeightSource s : md.shards()) {
                if (s instanceof TorchCheckpoint) {
                    skipped.addAll(((TorchCheckpoint) s).values());
                }
            }
        } else if (in.getFileName().toString().endsWith(".safetensors")) {
            SafeTensors st = SafeTensors.open(in);
            opened = st;
            source = st;
        } else {
            TorchCheckpoint ck = TorchCheckpoint.open(in);
            opened = ck;
            source = ck;
            skipped.addAll(ck.values());
        }
        try {
            List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
            long bytes = 0;
            for (String n : source.names()) {
                TensorInfo t = source.info(n);
                SafeTensorsWriter.Entry e = new SafeTensorsWriter.Entry(n, t.dtype(), t.shape());
                entries.add(e);
                bytes += e.byteSize();
            }
            List<Path> written = SafeTensorsWriter.writeSharded(out, entries, Map.of("format", "pt"),
                    (e, scope) -> source.load(e.name(), scope, null), shardBytes > 0 ? shardBytes : Long.MAX_VALUE);
            return new Conversion(written, entries.size(), bytes, List.copyOf(skipped));
        } finally {
            try {
                opened.close();
            } catch (Exception ignored) {
                // read-only inputs; the conversion's own outcome is what matters
            }
        }
    }
}
