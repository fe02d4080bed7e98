package dev.merv.core.torch;

import ai.djl.ndarray.types.DataType;

/**
 * c10::ScalarType codes. DJL names only the first nine dtypes; a bf16 tensor reports
 * {@link DataType#UNKNOWN} there, so merv asks libtorch for the real dtype through
 * {@link Torch#dtype}.
 */
public enum ScalarType {
    UINT8(0, 1, DataType.UINT8),
    INT8(1, 1, DataType.INT8),
    INT16(2, 2, DataType.INT16),
    INT32(3, 4, DataType.INT32),
    INT64(4, 8, DataType.INT64),
    FLOAT16(5, 2, DataType.FLOAT16),
    FLOAT32(6, 4, DataType.FLOAT32),
    FLOAT64(7, 8, DataType.FLOAT64),
    BOOL(11, 1, DataType.BOOLEAN),
    BFLOAT16(15, 2, DataType.BFLOAT16);

    private final int code;
    private final int bytes;
    private final DataType djl;

    ScalarType(int code, int bytes, DataType djl) {
        this.code = code;
        this.bytes = bytes;
        this.djl = djl;
    }

    public int code() {
        return code;
    }

    public int bytes() {
        return bytes;
    }

    /** The DJL data type of the same name (BFLOAT16 exists in DJL's enum but its JNI cannot take it). */
    public DataType djl() {
        return djl;
    }

    public boolean isFloating() {
        return this == FLOAT16 || this == FLOAT32 || this == FLOAT64 || this == BFLOAT16;
    }

    /**
     * True when DJL's JNI can take this dtype without aborting the JVM: only DJL ordinals 0-8 are
     * mapped (FLOAT32..COMPLEX64), so bf16 and int16 (DJL ordinals 11 and 15) are not.
     */
    public boolean djlSafe() {
        return djl.ordinal() <= DataType.COMPLEX64.ordinal();
    }

    public static ScalarType ofCode(int code) {
        for (ScalarType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("unsupported c10::ScalarType code " + code);
    }

    public static ScalarType of(DataType t) {
        switch (t) {
            case UINT8: return UINT8;
            case INT8: return INT8;
            case INT16: return INT16;
            case INT32: return INT32;
            case INT64: return INT64;
            case FLOAT16: return FLOAT16;
            case FLOAT32: return FLOAT32;
            case FLOAT64: return FLOAT64;
            case BOOLEAN: return BOOL;
            case BFLOAT16: return BFLOAT16;
            default: throw new IllegalArgumentException("no c10::ScalarType for DJL " + t);
        }
    }

    /** Parses "bf16", "bfloat16", "fp32", "float32", "f16", "fp16", "float16". */
    public static ScalarType parse(String s) {
        switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "bf16": case "bfloat16": return BFLOAT16;
            case "fp32": case "f32": case "float32": case "float": return FLOAT32;
            case "fp16": case "f16": case "float16": case "half": return FLOAT16;
            default: throw new IllegalArgumentException("unknown precision '" + s + "' (bf16, fp16 or fp32)");
        }
    }
}
