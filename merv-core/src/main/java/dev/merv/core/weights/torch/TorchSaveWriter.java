package dev.merv.core.weights.torch;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.SafeTensorsWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a zip-format torch.save file that {@code torch.load(path, weights_only=True)} accepts: a
 * protocol-2 pickle of nested dicts, lists, strings, ints, floats, bools, None and tensors, each
 * tensor rebuilt by {@code torch._utils._rebuild_tensor_v2} over its own storage record
 * ({@code <stem>/data/<n>}, 64-byte aligned, written straight from libtorch memory). The pickle
 * uses only the opcodes and globals PyTorch's weights-only unpickler allows. The same NDArray given
 * twice is written once and shared, as torch.save does.
 *
 * <p>Written atomically: into a temporary file beside the target, forced to disk, then renamed.
 */
public final class TorchSaveWriter {

    private TorchSaveWriter() {}

    /**
     * Writes {@code value}: a {@code Map} with String (or integer) keys, a {@code List}, an
     * {@link NDArray}, a String, an integer, a floating-point number, a Boolean or null, nested freely.
     */
    public static void write(Path target, Object value) {
        write(target, value, target.getFileName().toString().replaceFirst("\\.[^.]*$", ""));
    }

    /** As {@link #write(Path, Object)} with the archive's folder name given (torch.save uses the file's stem). */
    static void write(Path target, Object value, String folder) {
        Pickler p = new Pickler();
        p.save(value, "");
        p.out.write('.');
        String stem = folder.replaceAll("[^A-Za-z0-9_.-]", "_");
        if (stem.isEmpty() || stem.startsWith(".")) {
            stem = "archive";
        }
        Path tmp = null;
        try {
            tmp = SafeTensorsWriter.createTemp(target);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                    NDManager cpu = NDManager.newBaseManager(Device.cpu())) {
                ZipWriter z = new ZipWriter(ch);
                z.add(stem + "/data.pkl", p.out.toByteArray());
                z.add(stem + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
                for (int i = 0; i < p.storages.size(); i++) {
                    NDArray t = p.storages.get(i);
                    try (NDManager scope = cpu.newSubManager()) {
                        NDArray dense = Torch.contiguous(Device.Type.CPU.equals(t.getDevice().getDeviceType()) ? t
                                : Torch.toDevice(t, scope, Torch.dtype(t)));
                        dense.attach(scope);
                        z.addTensor(stem + "/data/" + i, dense, dense.getShape().size() * Torch.dtype(dense).bytes());
                    }
                }
                z.add(stem + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
                z.finish();
                ch.force(true);
            }
            SafeTensorsWriter.commit(tmp, target);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UncheckedIOException("writing " + target, e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // the original failure is what the caller needs to see
            }
        }
    }

    /** The torch storage class of a dtype, as torch.save names it. */
    static String storageClass(ScalarType t) {
        switch (t) {
            case FLOAT32: return "FloatStorage";
            case FLOAT64: return "DoubleStorage";
            case FLOAT16: return "HalfStorage";
            case BFLOAT16: return "BFloat16Storage";
            case INT64: return "LongStorage";
            case INT32: return "IntStorage";
            case INT16: return "ShortStorage";
            case INT8: return "CharStorage";
            case UINT8: return "ByteStorage";
            case BOOL: return "BoolStorage";
            default: throw new IllegalArgumentException("no torch storage class for " + t);
        }
    }

    /** Protocol-2 pickling of the allowed value kinds, in the opcodes Python's pickler uses for them. */
    private static final class Pickler {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final List<NDArray> storages = new ArrayList<>();
        final Map<NDArray, Integer> storageOf = new IdentityHashMap<>();

        Pickler() {
            out.write(0x80);
            out.write(2);
        }

        void save(Object v, String path) {
            if (v == null) {
                out.write('N');
            } else if (v instanceof Boolean) {
                out.write((Boolean) v ? 0x88 : 0x89);
            } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
                saveInt(((Number) v).longValue());
            } else if (v instanceof Double || v instanceof Float) {
                out.write('G');
                byte[] b = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putDouble(((Number) v).doubleValue()).array();
                out.writeBytes(b);
            } else if (v instanceof String) {
                saveString((String) v);
            } else if (v instanceof NDArray) {
                saveTensor((NDArray) v, path);
            } else if (v instanceof Map) {
                out.write('}');
                Map<?, ?> m = (Map<?, ?>) v;
                int n = 0;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (n % 1000 == 0) {
                        if (n > 0) {
                            out.write('u');
                        }
                        out.write('(');
                    }
                    Object k = e.getKey();
                    if (!(k instanceof String || k instanceof Integer || k instanceof Long)) {
                        throw new IllegalArgumentException("key " + k + " at '" + path + "' is not a string or an integer");
                    }
                    save(k, path);
                    save(e.getValue(), path.isEmpty() ? k.toString() : path + "." + k);
                    n++;
                }
                if (n > 0) {
                    out.write('u');
                }
            } else if (v instanceof List) {
                out.write(']');
                List<?> l = (List<?>) v;
                for (int i = 0; i < l.size(); i++) {
                    if (i % 1000 == 0) {
                        if (i > 0) {
                            out.write('e');
                        }
                        out.write('(');
                    }
                    save(l.get(i), path.isEmpty() ? Integer.toString(i) : path + "." + i);
                }
                if (!l.isEmpty()) {
                    out.write('e');
                }
            } else {
                throw new IllegalArgumentException("value at '" + path + "' is a " + v.getClass().getName()
                        + ", which a weights-only checkpoint cannot hold");
            }
        }

        private void saveInt(long x) {
            if (x >= 0 && x < 256) {
                out.write('K');
                out.write((int) x);
            } else if (x >= 0 && x < 65536) {
                out.write('M');
                out.write((int) (x & 0xFF));
                out.write((int) (x >> 8));
            } else if (x >= Integer.MIN_VALUE && x <= Integer.MAX_VALUE) {
                out.write('J');
                out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) x).array());
            } else {
                byte[] be = BigInteger.valueOf(x).toByteArray();
                out.write(0x8a);
                out.write(be.length);
                for (int i = be.length - 1; i >= 0; i--) {
                    out.write(be[i]);
                }
            }
        }

        private void saveString(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.write('X');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
            out.writeBytes(b);
        }

        private void global(String module, String name) {
            out.write('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        }

        private void tuple(long[] xs) {
            if (xs.length == 0) {
                out.write(')');
                return;
            }
            out.write('(');
            for (long x : xs) {
                saveInt(x);
            }
            out.write('t');
        }

        /** {@code _rebuild_tensor_v2(('storage', torch.XStorage, key, 'cpu', numel), 0, size, stride, False, OrderedDict())}. */
        private void saveTensor(NDArray a, String path) {
            ScalarType dt = Torch.dtype(a);
            long[] size = a.getShape().getShape();
            long[] stride = new long[size.length];
            long s = 1;
            for (int i = size.length - 1; i >= 0; i--) {
                stride[i] = s;
                s *= Math.max(size[i], 1);
            }
            Integer key = storageOf.get(a);
            if (key == null) {
                key = storages.size();
                storages.add(a);
                storageOf.put(a, key);
            }
            global("torch._utils", "_rebuild_tensor_v2");
            out.write('(');
            out.write('(');
            saveString("storage");
            global("torch", storageClass(dt));
            saveString(Integer.toString(key));
            saveString("cpu");
            saveInt(a.getShape().size());
            out.write('t');
            out.write('Q');
            saveInt(0);
            tuple(size);
            tuple(stride);
            out.write(0x89);
            global("collections", "OrderedDict");
            out.write(')');
            out.write('R');
            out.write('t');
            out.write('R');
        }
    }
}
