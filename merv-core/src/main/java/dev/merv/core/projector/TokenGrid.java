package dev.merv.core.projector;

/**
 * How the reference's token resamplers ({@code avg}, {@code conv}, {@code 3davg}, {@code 3dconv}) read the
 * {@code N} tokens of one temporal slot as a grid: {@code einops.rearrange(x, "B F (H W) C -> ...",
 * H=int(math.sqrt(N)))}, i.e. row-major as {@code H = floor(sqrt(N))} rows of {@code W = N / H} columns,
 * whatever grid the encoder really produced (a portrait 3 x 2 grid is read as 2 x 3). einops refuses an
 * {@code N} that {@code H} does not divide (7, 10, 11, 14, ...), so such encoders cannot be pooled.
 *
 * @param height rows H
 * @param width columns W
 */
public record TokenGrid(int height, int width) {

    /** The grid the reference reads {@code tokens} tokens per slot as; fails naming the count when it has none. */
    public static TokenGrid of(int tokens) {
        String why = problem(tokens);
        if (why != null) {
            throw new IllegalArgumentException(why);
        }
        int h = rows(tokens);
        return new TokenGrid(h, tokens / h);
    }

    /** Null when {@code tokens} tokens per slot can be read as a grid, else why not (the einops failure). */
    public static String problem(int tokens) {
        if (tokens <= 0) {
            return "token resamplers need tokens to pool; the encoder gives " + tokens + " per temporal slot";
        }
        int h = rows(tokens);
        if (tokens % h != 0) {
            return "token resamplers read the " + tokens + " tokens of a temporal slot as H = floor(sqrt(" + tokens + ")) = "
                    + h + " rows, which does not divide " + tokens + " (the reference's einops rearrange fails)";
        }
        return null;
    }

    private static int rows(int tokens) {
        return (int) Math.sqrt(tokens);
    }

    /** {@code H x W}. */
    @Override
    public String toString() {
        return height + "x" + width;
    }
}
