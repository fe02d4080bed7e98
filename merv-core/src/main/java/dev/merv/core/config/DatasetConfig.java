package dev.merv.core.config;

import java.nio.file.Path;
import java.util.List;

/**
 * The reference {@code DatasetConfig} (docs/reference.md §1.5): where the Video-LLaVA JSON files and
 * media live. Each stage component is {@code [annotation json, media directory]}, relative to
 * {@code datasetRootDir}.
 */
public record DatasetConfig(String type, String datasetId, List<Path> alignStageComponents,
        List<Path> finetuneStageComponents, Path datasetRootDir) {

    public DatasetConfig {
        alignStageComponents = List.copyOf(alignStageComponents);
        finetuneStageComponents = List.copyOf(finetuneStageComponents);
    }

    /** The registered {@code videollava} dataset. */
    public static DatasetConfig videollava() {
        return new DatasetConfig("videollava", "videollava",
                List.of(Path.of("download/videollava/valley_llavaimage.json"), Path.of("download/videollava/")),
                List.of(Path.of("download/videollava/videochatgpt_llavaimage_tune.json"), Path.of("download/videollava/")),
                Path.of("data"));
    }

    /** Registered dataset ids for {@code --dataset.type}. */
    public static List<String> registeredIds() {
        return List.of("videollava");
    }

    public static DatasetConfig registered(String id) {
        if ("videollava".equals(id)) {
            return videollava();
        }
        throw new ConfigException("dataset.type='" + id + "' is not a registered dataset; use one of " + registeredIds());
    }

    /** {@code [json, media dir]} of the stage's data (finetune data for every *finetune stage, W10 fixed). */
    public List<Path> components(Stage stage) {
        return stage.isAlign() ? alignStageComponents : finetuneStageComponents;
    }

    public DatasetConfig with(String field, String value) {
        return RecordFields.with(this, field, value, "dataset.");
    }
}
