package dev.merv.encoders.hiera;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.nn.LayerNorm;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.ModuleList;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.Torch;
import dev.merv.encoders.layers.Activation;
import dev.merv.encoders.layers.Conv;
import dev.merv.encoders.layers.Mlp;
import dev.merv.encoders.layers.Scoped;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The hiera package's {@code Hiera} for video ({@code [N, 3, T, H, W]} in), parameter paths equal to
 * its {@code state_dict()} names: a strided Conv3d patch embedding, separate spatial/temporal
 * position embeddings, {@code Unroll} into mask-unit order, blocks with mask-unit attention and
 * query max-pooling at stage starts, and {@code Reroll} of each stage-end output back to spatial
 * order {@code [N, t, h, w, C]}.
 */
public final class Hiera extends Module {

    private final HieraConfig config;
    private final Conv patchEmbed;
    private final Param posEmbedSpatial;
    private final Param posEmbedTemporal;
    private final Param posEmbed;
    private final ModuleList<Block> blocks;
    private final LayerNorm norm;
    private final Linear headProjection;
    private final int[] stageEnds;
    private final int[] tokens;

    public Hiera(HieraConfig c) {
        this.config = c;
        this.tokens = c.tokensSpatialShape();
        this.stageEnds = c.stageEnds();
        PatchEmbedHolder pe = child("patch_embed", new PatchEmbedHolder());
        patchEmbed = pe.init(c);
        if (c.sepPosEmbed()) {
            posEmbedSpatial = param("pos_embed_spatial", 1, (long) tokens[1] * tokens[2], c.embedDim());
            posEmbedTemporal = param("pos_embed_temporal", 1, tokens[0], c.embedDim());
            posEmbed = null;
        } else {
            posEmbedSpatial = null;
            posEmbedTemporal = null;
            posEmbed = param("pos_embed", 1, (long) tokens[0] * tokens[1] * tokens[2], c.embedDim());
        }
        blocks = child("blocks", new ModuleList<>());
        int embedDim = c.embedDim();
        int heads = c.numHeads();
        int flatMu = c.maskUnitSize()[0] * c.maskUnitSize()[1] * c.maskUnitSize()[2];
        int flatQ = c.qStride()[0] * c.qStride()[1] * c.qStride()[2];
        List<Integer> qPoolBlocks = new ArrayList<>();
        for (int i = 0; i < c.qPool(); i++) {
            qPoolBlocks.add(stageEnds[i] + 1);
        }
        int curStage = 0;
        for (int i = 0; i < c.depth(); i++) {
            int dimOut = embedDim;
            // mask-unit attention lags one block behind the stage change, as upstream
            boolean useMu = c.maskUnitAttn()[curStage];
            if (contains(stageEnds, i - 1)) {
                dimOut = (int) (embedDim * c.dimMul());
                heads = (int) (heads * c.headMul());
                curStage++;
                if (qPoolBlocks.contains(i)) {
                    flatMu /= flatQ;
                }
            }
            blocks.add(new Block(embedDim, dimOut, heads, c.mlpRatio(), (float) c.normEps(), qPoolBlocks.contains(i) ? flatQ : 1,
                    flatMu, useMu));
            embedDim = dimOut;
        }
        norm = child("norm", new LayerNorm(embedDim, (float) c.normEps()));
        HeadHolder head = child("head", new HeadHolder());
        headProjection = head.init(embedDim, c.numClasses());
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    private static final class PatchEmbedHolder extends Module {
        Conv init(HieraConfig c) {
            return child("proj", new Conv(3, c.embedDim(), longs(c.patchKernel()), longs(c.patchStride()), longs(c.patchPadding()), true));
        }
    }

    private static final class HeadHolder extends Module {
        Linear init(int dim, int classes) {
            return child("projection", new Linear(dim, classes, true));
        }
    }

    static long[] longs(int[] a) {
        return Arrays.stream(a).asLongStream().toArray();
    }

    public HieraConfig config() {
        return config;
    }

    /** Patch embedding + position embedding + unroll: {@code [N, 3, T, H, W] -> [N, tokens, C]} (mask-unit order). */
    public NDArray embed(NDArray x) {
        return Scoped.apply(x, in -> {
            NDArray p = patchEmbed.forward(in);
            long n = p.getShape().get(0);
            long c = p.getShape().get(1);
            NDArray t = p.reshape(n, c, -1).transpose(0, 2, 1);
            long expect = (long) tokens[0] * tokens[1] * tokens[2];
            if (t.getShape().get(1) != expect) {
                throw new IllegalArgumentException("Hiera built for input_size " + Arrays.toString(config.inputSize()) + " gets input "
                        + in.getShape());
            }
            return unroll(t.add(posEmbed(t)));
        });
    }

    private NDArray posEmbed(NDArray like) {
        if (posEmbed != null) {
            return posEmbed.get();
        }
        long hw = (long) tokens[1] * tokens[2];
        long d = config.embedDim();
        NDArray spatial = Scoped.into(posEmbedSpatial.get().tile(new long[] {1, tokens[0], 1}), like);
        NDArray temporal = Scoped.into(posEmbedTemporal.get().reshape(1, tokens[0], 1, d), like)
                .broadcast(new Shape(1, tokens[0], hw, d)).reshape(1, tokens[0] * hw, d);
        return spatial.add(temporal);
    }

    /** Runs block {@code i}. */
    public NDArray block(int i, NDArray x) {
        return Scoped.apply(x, blocks.get(i)::forward);
    }

    public int depth() {
        return blocks.size();
    }

    public int[] stageEnds() {
        return stageEnds.clone();
    }

    /** The output of stage {@code stage} alone, rerolled to {@code [N, t, h, w, C]} (later blocks are not run). */
    public NDArray stageOutput(NDArray video, int stage) {
        NDArray x = embed(video);
        for (int i = 0; i <= stageEnds[stage]; i++) {
            NDArray prev = x;
            x = block(i, x);
            prev.close();
        }
        NDArray out = Scoped.apply(x, y -> reroll(y, stage));
        x.close();
        return out;
    }

    /** Stage-end outputs rerolled to spatial order {@code [N, t, h, w, C]}, stages {@code 0..lastStage}. */
    public List<NDArray> intermediates(NDArray video, int lastStage) {
        List<NDArray> out = new ArrayList<>();
        NDArray x = embed(video);
        for (int i = 0; i <= stageEnds[lastStage]; i++) {
            NDArray prev = x;
            x = block(i, x);
            prev.close();
            int stage = indexOf(stageEnds, i);
            if (stage >= 0) {
                final int s = stage;
                out.add(Scoped.apply(x, y -> reroll(y, s)));
            }
        }
        x.close();
        return out;
    }

    /**
     * Upstream's classification output in eval mode (debug only): mean over tokens, norm, head
     * projection, then the head's eval-time softmax ({@code Head.act_func} runs when not training).
     */
    public NDArray headLogits(NDArray video) {
        NDArray x = embed(video);
        for (int i = 0; i < blocks.size(); i++) {
            NDArray prev = x;
            x = block(i, x);
            prev.close();
        }
        return Scoped.apply(x, y -> Torch.softmax(headProjection.forward(norm.forward(y.mean(new int[] {1}))), -1));
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    /** Moves the q-stride sub-grids into the batch order, once per pooling stage (upstream {@code Unroll}). */
    NDArray unroll(NDArray x) {
        long b = x.getShape().get(0);
        long c = x.getShape().get(2);
        long[] size = longs(tokens);
        NDArray y = x.reshape(b, size[0], size[1], size[2], c);
        int[] q = config.qStride();
        for (int s = 0; s < stageEnds.length - 1; s++) {
            long[] cur = {size[0] / q[0], size[1] / q[1], size[2] / q[2]};
            y = y.reshape(b, cur[0], q[0], cur[1], q[1], cur[2], q[2], c).transpose(0, 2, 4, 6, 1, 3, 5, 7);
            b *= (long) q[0] * q[1] * q[2];
            y = y.reshape(b, cur[0], cur[1], cur[2], c);
            size = cur;
        }
        return y.reshape(-1, (long) tokens[0] * tokens[1] * tokens[2], c);
    }

    /** Upstream {@code Reroll}: the output of stage {@code stage} back to {@code [N, t, h, w, C]}. */
    NDArray reroll(NDArray x, int stage) {
        int pooled = Math.min(stage, config.qPool());
        int remaining = Math.max(stageEnds.length - 1 - pooled, 0);
        int[] size = config.stageGrid(stage);
        int[] q = config.qStride();
        long b = x.getShape().get(0);
        long n = x.getShape().get(1);
        long c = x.getShape().get(2);
        long[] mu = {1, 1, 1};
        NDArray y = x;
        for (int s = 0; s < remaining; s++) {
            long qs = (long) q[0] * q[1] * q[2];
            y = y.reshape(b, q[0], q[1], q[2], n / qs, mu[0], mu[1], mu[2], c).transpose(0, 4, 1, 5, 2, 6, 3, 7, 8);
            for (int i = 0; i < 3; i++) {
                mu[i] *= q[i];
            }
            y = y.reshape(b, -1, mu[0], mu[1], mu[2], c);
            n = y.getShape().get(1);
        }
        long[] numMu = {size[0] / mu[0], size[1] / mu[1], size[2] / mu[2]};
        y = y.reshape(b, numMu[0], numMu[1], numMu[2], mu[0], mu[1], mu[2], c).transpose(0, 1, 4, 2, 5, 3, 6, 7);
        return y.reshape(b, size[0], size[1], size[2], c);
    }

    /** Query max-pool over the leading stride axis (upstream {@code do_pool}). */
    static NDArray pool(NDArray x, int stride) {
        if (stride == 1) {
            return x;
        }
        long b = x.getShape().get(0);
        long c = x.getShape().get(x.getShape().dimension() - 1);
        return x.reshape(b, stride, -1, c).max(new int[] {1});
    }

    /** {@code HieraBlock}: pooled projection shortcut at stage changes, mask-unit attention, MLP. */
    static final class Block extends Module {
        private final LayerNorm norm1;
        private final MaskUnitAttention attn;
        private final LayerNorm norm2;
        private final Mlp mlp;
        private final Linear proj;
        private final int qStride;

        Block(int dim, int dimOut, int heads, double mlpRatio, float eps, int qStride, int windowSize, boolean useMu) {
            norm1 = child("norm1", new LayerNorm(dim, eps));
            attn = child("attn", new MaskUnitAttention(dim, dimOut, heads, qStride, windowSize, useMu));
            norm2 = child("norm2", new LayerNorm(dimOut, eps));
            mlp = child("mlp", new Mlp(dimOut, (int) (dimOut * mlpRatio), dimOut, Activation.GELU));
            proj = dim != dimOut ? child("proj", new Linear(dim, dimOut, true)) : null;
            this.qStride = qStride;
        }

        NDArray forward(NDArray x) {
            NDArray xNorm = norm1.forward(x);
            NDArray shortcut = proj != null ? pool(proj.forward(xNorm), qStride) : x;
            NDArray h = shortcut.add(attn.forward(xNorm));
            return h.add(mlp.forward(norm2.forward(h)));
        }
    }

    /** {@code MaskUnitAttention}: attention within mask units (or global), with query pooling. */
    static final class MaskUnitAttention extends Module {
        private final Linear qkv;
        private final Linear proj;
        private final int heads;
        private final int dimOut;
        private final int qStride;
        private final int windowSize;
        private final boolean useMu;

        MaskUnitAttention(int dim, int dimOut, int heads, int qStride, int windowSize, boolean useMu) {
            qkv = child("qkv", new Linear(dim, 3 * dimOut, true));
            proj = child("proj", new Linear(dimOut, dimOut, true));
            this.heads = heads;
            this.dimOut = dimOut;
            this.qStride = qStride;
            this.windowSize = windowSize;
            this.useMu = useMu;
        }

        NDArray forward(NDArray x) {
            long b = x.getShape().get(0);
            long n = x.getShape().get(1);
            long windows = useMu ? n / ((long) qStride * windowSize) : 1;
            long hd = dimOut / heads;
            // [B, N/w, w, 3, H, hd] -> [3, B, H, w, N/w, hd]
            NDArray all = qkv.forward(x).reshape(b, -1, windows, 3, heads, hd).transpose(3, 0, 4, 2, 1, 5);
            NDArray q = all.get(0);
            NDArray k = all.get(1);
            NDArray v = all.get(2);
            if (qStride > 1) {
                q = q.reshape(b, heads, windows, qStride, -1, hd).max(new int[] {3});
            }
            long lq = q.getShape().get(3);
            long lk = k.getShape().get(3);
            NDArray o = Torch.sdpa(q.reshape(b * heads, windows, lq, hd), k.reshape(b * heads, windows, lk, hd),
                    v.reshape(b * heads, windows, lk, hd), null, false);
            // [B, H, w, Lq, hd] -> [B, Lq, w, H, hd] -> [B, Lq*w, dimOut]
            NDArray merged = o.reshape(b, heads, windows, lq, hd).transpose(0, 3, 2, 1, 4).reshape(b, -1, dimOut);
            return proj.forward(merged);
        }
    }
}
