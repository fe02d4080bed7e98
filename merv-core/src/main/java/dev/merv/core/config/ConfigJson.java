package dev.merv.core.config;

import dev.merv.core.io.AtomicFiles;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The run's {@code config.json}: every field of {@link PretrainConfig} with the model and dataset
 * configs nested under {@code model} / {@code dataset}, snake_case names as the reference's draccus
 * dump. {@code parse(dump(c))} equals {@code c}.
 */
public final class ConfigJson {

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping().create();

    private ConfigJson() {}

    public static String dump(PretrainConfig config) {
        return GSON.toJson(RecordFields.toJson(config));
    }

    public static String dump(ModelConfig model) {
        return GSON.toJson(RecordFields.toJson(model));
    }

    /** Parses a full run config; fails naming unknown, missing or ill-typed fields. */
    public static PretrainConfig parse(String json) {
        return RecordFields.fromJson(PretrainConfig.class, object(json), "");
    }

    /** Parses a model config alone (e.g. the {@code model} entry an inference run reloads). */
    public static ModelConfig parseModel(String json) {
        return RecordFields.fromJson(ModelConfig.class, object(json), "model.");
    }

    private static JsonObject object(String json) {
        try {
            return JsonParser.parseString(json).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new ConfigException("config JSON is not a JSON object: " + e.getMessage());
        }
    }

    /** Writes {@code config.json} atomically (temp file + move). */
    public static void write(PretrainConfig config, Path file) {
        AtomicFiles.writeString(file, dump(config) + "\n");
    }

    public static PretrainConfig read(Path file) {
        try {
            return parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (ConfigException e) {
            throw new ConfigException(file + ": " + e.getMessage());
        }
    }
}
