package dev.merv.core.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors file, read lazily tensor by tensor.
 *
 * <p>The header is parsed with 64-bit offsets and validated before anything is allocated: header
 * length within the file, every dtype known, shapes non-negative, each tensor's byte range equal to
 * {@code numel * elementSize}, inside the data section and not overlapping another, no name twice.
 * A tensor's bytes are then read straight into the memory of a new libtorch tensor (one kernel copy,
 * no Java-heap copy): BF16 and I16 bytes land in a FLOAT16 tensor and are reinterpreted bit-exactly
 * through the bridge, because DJL's JNI aborts on those dtypes. Files and tensors past 2 GiB work.
 *
 * <p>Why reads and not a memory mapping: mapping each tensor and copying out of the mapping costs a
 * page fault per mapped page on top of the same one copy, and measured 2-3x slower than positional
 * reads on a warm page cache ({@code SafetensorsBench}); a mapping would only pay off for zero-copy
 * tensors, which libtorch cannot own safely (the mapping's lifetime is the JVM's, not the tensor's).
 */
public final class SafeTensors implements WeightSource, AutoCloseable {

    /** Largest header accepted (the format's own reference implementation uses 100 MB). */
    static final long MAX_HEADER = 100L * 1024 * 1024;

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafeTensors(Path file, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
            Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and validates {@code file}; throws {@link WeightFormatException} naming the file and tensor. */
    public static SafeTensors open(Path file) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new WeightFormatException(file, null, "cannot open: " + e, e);
        }
        try {
            long size = ch.size();
            if (size < 8) {
                throw new WeightFormatException(file, null, "truncated: " + size + " bytes, no header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            TensorBytes.readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw new WeightFormatException(file, null, "header length " + headerLen
                        + " is impossible for a file of " + size + " bytes");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            TensorBytes.readFully(ch, hb, 8);
            String json = new String(hb.array(), StandardCharsets.UTF_8);
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            Map<String, TensorInfo> infos = new LinkedHashMap<>();
            Map<String, String> meta = new LinkedHashMap<>();
            parseHeader(file, json, dataLen, infos, meta);
            return new SafeTensors(file, ch, dataStart, Collections.unmodifiableMap(infos),
                    Collections.unmodifiableMap(meta));
        } catch (IOException e) {
            closeQuietly(ch);
            throw new WeightFormatException(file, null, "read failed: " + e, e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static void parseHeader(Path file, String json, long dataLen, Map<String, TensorInfo> infos,
            Map<String, String> meta) {
        // streamed rather than parsed into a JsonObject, which would silently keep the last of two
        // entries with the same name
        Map<String, JsonElement> entries = new LinkedHashMap<>();
        try (JsonReader in = new JsonReader(new StringReader(json))) {
            in.setLenient(false);
            if (in.peek() != JsonToken.BEGIN_OBJECT) {
                throw new WeightFormatException(file, null, "header is not a JSON object");
            }
            in.beginObject();
            while (in.hasNext()) {
                String name = in.nextName();
                JsonElement value = JsonParser.parseReader(in);
                if (entries.put(name, value) != null) {
                    throw new WeightFormatException(file, name, "duplicate tensor name in the header");
                }
            }
            in.endObject();
            if (in.peek() != JsonToken.END_DOCUMENT) {
                throw new WeightFormatException(file, null, "trailing data after the header object");
            }
        } catch (IOException | JsonParseException | IllegalStateException e) {
            throw new WeightFormatException(file, null, "header is not valid JSON: " + e.getMessage(), e);
        }
        for (Map.Entry<String, JsonElement> e : entries.entrySet()) {
            String name = e.getKey();
            if (name.equals("__metadata__")) {
                if (e.getValue().isJsonObject()) {
                    for (Map.Entry<String, JsonElement> m : e.getValue().getAsJsonObject().entrySet()) {
                        meta.put(m.getKey(), m.getValue().isJsonPrimitive() ? m.getValue().getAsString() : m.getValue().toString());
                    }
                }
                continue;
            }
            try {
                if (!e.getValue().isJsonObject()) {
                    throw new WeightFormatException(file, name, "entry is not an object");
                }
                JsonObject t = e.getValue().getAsJsonObject();
                String dt = field(file, name, t, "dtype").getAsString();
                ScalarType st = dtypeOf(dt);
                if (st == null) {
                    throw new WeightFormatException(file, name, "unsupported dtype '" + dt
                            + "' (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)");
                }
                JsonArray shapeArr = field(file, name, t, "shape").getAsJsonArray();
                long[] shape = new long[shapeArr.size()];
                long numel = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = exactLong(shapeArr.get(i));
                    if (shape[i] < 0) {
                        throw new WeightFormatException(file, name, "negative dimension in shape " + shapeArr);
                    }
                    numel = Math.multiplyExact(numel, shape[i]);
                }
                JsonArray off = field(file, name, t, "data_offsets").getAsJsonArray();
                if (off.size() != 2) {
                    throw new WeightFormatException(file, name, "data_offsets must have two entries");
                }
                long begin = exactLong(off.get(0));
                long end = exactLong(off.get(1));
                if (begin < 0 || end < begin || end > dataLen) {
                    throw new WeightFormatException(file, name, "data_offsets [" + begin + ", " + end
                            + ") outside the data section of " + dataLen + " bytes (truncated file?)");
                }
                long expected = Math.multiplyExact(numel, st.bytes());
                if (end - begin != expected) {
                    throw new WeightFormatException(file, name, "byte range " + (end - begin)
                            + " does not match shape " + shapeArr + " x " + dt + " = " + expected + " bytes");
                }
                infos.put(name, new TensorInfo(name, dt, st, shape, begin, end));
            } catch (WeightFormatException ex) {
                throw ex;
            } catch (RuntimeException ex) {
                throw new WeightFormatException(file, name, "malformed header entry: " + ex, ex);
            }
        }
        // sorted by start: a range overlaps an earlier one exactly when it starts before the furthest
        // end seen so far (comparing with the previous range only misses a range nested in an earlier one)
        List<TensorInfo> sorted = new ArrayList<>(infos.values());
        sorted.removeIf(t -> t.byteSize() == 0);
        sorted.sort((a, b) -> Long.compare(a.begin(), b.begin()));
        TensorInfo furthest = null;
        for (TensorInfo cur : sorted) {
            if (furthest != null && cur.begin() < furthest.end()) {
                throw new WeightFormatException(file, cur.name(), "bytes [" + cur.begin() + ", " + cur.end()
                        + ") overlap tensor '" + furthest.name() + "' [" + furthest.begin() + ", " + furthest.end() + ")");
            }
            if (furthest == null || cur.end() > furthest.end()) {
                furthest = cur;
            }
        }
    }

    private static JsonElement field(Path file, String tensor, JsonObject t, String key) {
        JsonElement v = t.get(key);
        if (v == null || v.isJsonNull()) {
            throw new WeightFormatException(file, tensor, "entry has no '" + key + "'");
        }
        return v;
    }

    /** An integral JSON number; fractions and values beyond 64 bits are refused, not rounded. */
    private static long exactLong(JsonElement e) {
        return e.getAsBigDecimal().longValueExact();
    }

    /** The dtype of a safetensors dtype name ({@code F32}, {@code BF16}, ...), or null when merv does not read it. */
    public static ScalarType dtypeOf(String dt) {
        switch (dt) {
            case "F32": return ScalarType.FLOAT32;
            case "F16": return ScalarType.FLOAT16;
            case "BF16": return ScalarType.BFLOAT16;
            case "F64": return ScalarType.FLOAT64;
            case "I64": return ScalarType.INT64;
            case "I32": return ScalarType.INT32;
            case "I16": return ScalarType.INT16;
            case "I8": return ScalarType.INT8;
            case "U8": return ScalarType.UINT8;
            case "BOOL": return ScalarType.BOOL;
            default: return null;
        }
    }

    /** The safetensors name of a dtype ({@code F32}, {@code BF16}, ...). */
    public static String nameOf(ScalarType t) {
        switch (t) {
            case FLOAT32: return "F32";
            case FLOAT16: return "F16";
            case BFLOAT16: return "BF16";
            case FLOAT64: return "F64";
            case INT64: return "I64";
            case INT32: return "I32";
            case INT16: return "I16";
            case INT8: return "I8";
            case UINT8: return "U8";
            case BOOL: return "BOOL";
            default: throw new IllegalArgumentException("no safetensors name for " + t);
        }
    }

    @Override
    public String describe() {
        return file.toString();
    }

    public Path file() {
        return file;
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new WeightFormatException(file, name, "no such tensor (file has " + tensors.size() + ")");
        }
        return t;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** Loads a tensor in its stored dtype, owned by {@code manager}. */
    public NDArray load(String name, NDManager manager) {
        return load(name, manager, null);
    }

    /**
     * Loads a tensor converted to {@code as} (null keeps the stored dtype), owned by {@code manager}.
     *
     * <p>The bytes are read with positional {@link FileChannel} reads straight into the memory of a
     * new, uninitialised libtorch tensor ({@link TensorBytes}): one kernel copy from the page cache, no
     * Java-heap copy, no intermediate tensor. Tensors over 2 GiB are read in 1 GiB pieces.
     */
    @Override
    public NDArray load(String name, NDManager manager, ScalarType as) {
        TensorInfo t = info(name);
        NDArray dst;
        try {
            dst = TensorBytes.read(channel, dataStart + t.begin(), t.dtype(), t.shape(), manager);
        } catch (IOException e) {
            throw new WeightFormatException(file, name, "read failed (file changed or truncated after open?): " + e, e);
        }
        if (as == null || as == t.dtype()) {
            return dst;
        }
        try (NDArray stored = dst) {
            return Torch.copy(stored, as);
        }
    }

    /**
     * Elements {@code [from, to)} of tensor {@code name} in storage (row-major) order as a 1-D tensor in its
     * stored dtype, owned by {@code manager}: only those bytes are read (a replica resuming reads its piece of
     * an optimizer state, not the whole of it).
     */
    public NDArray loadRange(String name, long from, long to, NDManager manager) {
        TensorInfo t = info(name);
        long numel = t.numel();
        if (from < 0 || to < from || to > numel) {
            throw new WeightFormatException(file, name, "element range [" + from + ", " + to + ") outside its " + numel
                    + " elements");
        }
        try {
            return TensorBytes.read(channel, dataStart + t.begin() + from * t.dtype().bytes(), t.dtype(),
                    new long[] {to - from}, manager);
        } catch (IOException e) {
            throw new WeightFormatException(file, name, "read failed (file changed or truncated after open?): " + e, e);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing more to report than the original failure
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }
}
