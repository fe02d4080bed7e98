package dev.merv.data.videollava;

import dev.merv.core.config.Stage;
import java.nio.file.Path;
import java.util.Map;

/**
 * The reference's dataset configs (docs/reference.md §1.5): per dataset type, the JSON file and the
 * media root of each stage, both relative to {@code dataset_root_dir} (default {@code data/}).
 */
public final class DatasetRegistry {

    /** One stage's components: the JSON file and the directory its media paths are relative to. */
    public record Components(String json, String mediaRoot) {}

    /** One registered dataset. */
    public record DatasetConfig(String type, String defaultRootDir, Components align, Components finetune) {
        public Components components(Stage stage) {
            return stage.isAlign() ? align : finetune;
        }

        /** Opens this dataset's {@code stage} under {@code datasetRootDir} (null = the default {@code data/}). */
        public DatasetFiles files(Path datasetRootDir, Stage stage) {
            Path root = datasetRootDir != null ? datasetRootDir : Path.of(defaultRootDir);
            Components c = components(stage);
            return new DatasetFiles(root.resolve(c.json()), root.resolve(c.mediaRoot()), stage);
        }
    }

    /** Resolved locations of one stage's data. */
    public record DatasetFiles(Path json, Path mediaRoot, Stage stage) {}

    public static final String VIDEOLLAVA_DIR = "download/videollava/";
    public static final String ALIGN_JSON = "valley_llavaimage.json";
    public static final String FINETUNE_JSON = "videochatgpt_llavaimage_tune.json";

    /** Video-LLaVA's media folders under the media root (TRAINING.md tree plus the align images). */
    public static final String VALLEY = "valley";
    public static final String LLAVA_IMAGE = "llava_image";
    public static final String LLAVA_IMAGE_TUNE = "llava_image_tune";
    public static final String VIDEOCHATGPT_TUNE = "videochatgpt_tune";

    public static final DatasetConfig VIDEOLLAVA = new DatasetConfig("videollava", "data/",
            new Components(VIDEOLLAVA_DIR + ALIGN_JSON, VIDEOLLAVA_DIR),
            new Components(VIDEOLLAVA_DIR + FINETUNE_JSON, VIDEOLLAVA_DIR));

    private static final Map<String, DatasetConfig> REGISTRY = Map.of(VIDEOLLAVA.type(), VIDEOLLAVA);

    private DatasetRegistry() {}

    public static DatasetConfig get(String type) {
        DatasetConfig c = REGISTRY.get(type);
        if (c == null) {
            throw new IllegalArgumentException("unknown dataset.type '" + type + "'; known: " + REGISTRY.keySet());
        }
        return c;
    }

    /**
     * A stage's files when {@code videollavaDir} is the Video-LLaVA folder itself (the one holding
     * both JSON files, as the {@code check} and {@code synth} commands take it).
     */
    public static DatasetFiles inVideoLlavaDir(Path videollavaDir, Stage stage) {
        return new DatasetFiles(videollavaDir.resolve(stage.isAlign() ? ALIGN_JSON : FINETUNE_JSON),
                videollavaDir, stage);
    }
}
