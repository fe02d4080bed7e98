package dev.merv.examples.convert;

import dev.merv.core.weights.WeightFormatException;
import dev.merv.core.weights.torch.TorchCheckpoint;
import dev.merv.core.weights.torch.TorchCheckpoints;
import dev.merv.examples.Main;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code ./merv convert IN OUT.safetensors [--shard-size 2GB]}: the launcher's face of
 * {@link TorchCheckpoints#convert}. A refused input (hostile or broken) exits 1 with the reason and
 * leaves no output file.
 */
public final class ConvertCommand implements Main.Command {

    @Override
    public String summary() {
        return "Convert a torch.save checkpoint (.pt/.bin, pytorch_model.bin.index.json dir) or re-shard safetensors,"
                + " reading pickles as data only";
    }

    @Override
    public String usage() {
        return "IN OUT.safetensors [--shard-size SIZE (e.g. 2GB, 500MB; default: one file)]";
    }

    @Override
    public int run(String[] argv) {
        List<String> positional = new ArrayList<>();
        long shard = 0;
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            if (a.equals("--shard-size") || a.startsWith("--shard-size=")) {
                String v = a.contains("=") ? a.substring(a.indexOf('=') + 1) : (i + 1 < argv.length ? argv[++i] : null);
                if (v == null) {
                    throw new IllegalArgumentException("convert: --shard-size needs a value");
                }
                shard = parseSize(v);
            } else if (a.startsWith("--")) {
                throw new IllegalArgumentException("convert: unknown option " + a + " (known: --shard-size)");
            } else {
                positional.add(a);
            }
        }
        if (positional.size() != 2) {
            throw new IllegalArgumentException("convert: needs IN and OUT, got " + positional.size() + " arguments");
        }
        Path in = Path.of(positional.get(0));
        Path out = Path.of(positional.get(1));
        TorchCheckpoints.Conversion c;
        try {
            c = TorchCheckpoints.convert(in, out, shard);
        } catch (WeightFormatException e) {
            System.err.println("merv convert: refused: " + e.getMessage());
            return 1;
        }
        for (TorchCheckpoint.Value v : c.skipped()) {
            System.out.println("skipped non-tensor value " + (v.path().isEmpty() ? "(root)" : v.path()) + " = " + v.text()
                    + " (" + v.type() + ")");
        }
        System.out.printf(Locale.ROOT, "convert: %d tensors, %.1f MB -> %s%n", c.tensors(), c.bytes() / 1e6,
                c.written().size() == 1 ? c.written().get(0) : c.written().size() - 1 + " shards + "
                        + c.written().get(c.written().size() - 1));
        return 0;
    }

    /** {@code 2GB}, {@code 500MB}, {@code 1.5GiB}, {@code 4096} (bytes); decimal units are powers of 1000. */
    static long parseSize(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        String[][] units = {{"GIB", "1073741824"}, {"MIB", "1048576"}, {"KIB", "1024"}, {"GB", "1000000000"},
            {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}};
        long mult = 1;
        for (String[] u : units) {
            if (t.endsWith(u[0])) {
                mult = Long.parseLong(u[1]);
                t = t.substring(0, t.length() - u[0].length()).trim();
                break;
            }
        }
        try {
            double v = Double.parseDouble(t);
            if (!(v > 0)) {
                throw new NumberFormatException();
            }
            return (long) Math.ceil(v * mult);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("convert: --shard-size '" + s + "' is not a positive size like 2GB or 500MB", e);
        }
    }
}
