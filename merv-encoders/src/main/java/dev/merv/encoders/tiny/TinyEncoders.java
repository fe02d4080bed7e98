package dev.merv.encoders.tiny;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.config.EncoderCatalog;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.encoders.dinov2.Dinov2;
import dev.merv.encoders.hiera.HieraConfig;
import dev.merv.encoders.hiera.HieraEncoder;
import dev.merv.encoders.languagebind.LanguageBindConfig;
import dev.merv.encoders.languagebind.LanguageBindEncoder;
import dev.merv.encoders.languagebind.LanguageBindTransform;
import dev.merv.encoders.siglip.Siglip;
import java.util.List;

/**
 * The four tiny random encoders of {@code merv-tiny} (tests and the demo): the real families at the
 * geometry of the {@code merv-forward-tiny} fixture. Their architecture lives in the {@code config.json}
 * written beside their weights, so they load through the same code path as real checkpoints.
 */
public final class TinyEncoders {

    private TinyEncoders() {}

    /** The ids, in {@code merv-tiny}'s order. */
    public static List<String> ids() {
        return List.of(EncoderCatalog.TINY_LANGUAGEBIND, EncoderCatalog.TINY_DINOV2, EncoderCatalog.TINY_HIERA,
                EncoderCatalog.TINY_SIGLIP);
    }

    /** The {@code config.json} of a tiny id (fixture naming: HF CLIP keys, timm / hiera kwargs). */
    public static JsonObject defaultConfig(String id) {
        String json;
        switch (id) {
            case EncoderCatalog.TINY_LANGUAGEBIND: json = "{\"hidden_size\": 24, \"intermediate_size\": 48, \"num_hidden_layers\": 3, \"num_attention_heads\": 2, \"image_size\": 42, \"patch_size\": 14, \"hidden_act\": \"quick_gelu\", \"num_frames\": 2, \"num_channels\": 3, \"layer_norm_eps\": 1e-05, \"add_time_attn\": true, \"force_patch_dropout\": 0.0, \"attention_dropout\": 0.0, \"model_type\": \"clip_vision_model\"}"; break;
            case EncoderCatalog.TINY_DINOV2: json = "{\"img_size\": 28, \"patch_size\": 14, \"embed_dim\": 20, \"depth\": 3, \"num_heads\": 2, \"init_values\": 1e-05, \"reg_tokens\": 4, \"no_embed_class\": true, \"num_classes\": 0}"; break;
            case EncoderCatalog.TINY_HIERA: json = "{\"input_size\": [2, 64, 64], \"embed_dim\": 4, \"num_heads\": 1, \"stages\": [1, 1, 1, 1], \"num_classes\": 5, \"q_stride\": [1, 2, 2], \"mask_unit_size\": [1, 8, 8], \"patch_kernel\": [3, 7, 7], \"patch_stride\": [2, 4, 4], \"patch_padding\": [1, 3, 3], \"sep_pos_embed\": true, \"q_pool\": 3}"; break;
            case EncoderCatalog.TINY_SIGLIP: json = "{\"img_size\": 32, \"patch_size\": 8, \"embed_dim\": 16, \"depth\": 3, \"num_heads\": 2, \"class_token\": false, \"global_pool\": \"map\", \"num_classes\": 0}"; break;
            default: throw new IllegalArgumentException("not a tiny encoder id: '" + id + "' (tiny ids: " + ids() + ")");
        }
        return JsonParser.parseString(json).getAsJsonObject();
    }

    /** Builds tiny encoder {@code id} for {@code numFrames} frames from its {@code config.json} (weights not loaded). */
    public static FrozenVideoEncoder create(String id, JsonObject config, int numFrames) {
        String src = id + " config.json";
        switch (id) {
            case EncoderCatalog.TINY_LANGUAGEBIND: {
                LanguageBindConfig c = LanguageBindConfig.fromJson(config, src);
                return new LanguageBindEncoder(id, c, numFrames, new LanguageBindTransform(c.imageSize(),
                        LanguageBindTransform.Flip.TRAINING),
                        LanguageBindEncoder.TemporalGrouping.PARITY_GROUPS);
            }
            case EncoderCatalog.TINY_DINOV2: {
                var c = Dinov2.config(config, src);
                return Dinov2.encoder(id, c, c.imgSize(), numFrames);
            }
            case EncoderCatalog.TINY_HIERA: {
                HieraConfig c = HieraConfig.fromJson(config, src);
                return new HieraEncoder(id, c, numFrames, HieraEncoder.transform(c.inputSize()[1]));
            }
            case EncoderCatalog.TINY_SIGLIP: {
                var c = Siglip.config(config, src);
                return Siglip.encoder(id, c, c.imgSize(), numFrames);
            }
            default:
                throw new IllegalArgumentException("not a tiny encoder id: '" + id + "' (tiny ids: " + ids() + ")");
        }
    }
}
