package io.sparkdl.train;

import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Executor-side read-ahead of averaging rounds: one pass over a partition's cached blocks gathers the images of
 * several consecutive rounds of the epoch's order (as many as fit in {@value #CONF}, default 256 MiB), and the
 * following rounds of that partition on this executor take theirs from here instead of passing over the blocks
 * again. Where blocks were spilled to disk, every pass reads and deserializes the whole partition, so this
 * divides that cost by the rounds per pass. The rounds' images, their order and their numbers are exactly those
 * a pass per round gives, so training is unchanged; a round whose images are not here (another executor ran
 * the previous one, a retried task, a new epoch) gathers them itself.
 *
 * <p>Held: at most one span per (run, partition), the least recently used few beyond {@link #MAX_SPANS}
 * dropped; a span goes once its last round has taken its images.
 */
final class ReadAhead {
    /** The Spark setting: bytes of gathered images a partition's pass may hold for later rounds (0: none). */
    static final String CONF = "spark.sparkdl.train.readAheadBytes";
    static final long DEFAULT_BYTES = 256L << 20;
    private static final int MAX_SPANS = 8;
    private static final Map<String, Span> SPANS = new LinkedHashMap<>(16, 0.75f, true);

    private ReadAhead() {
    }

    /** Rounds {@code [firstRound, endRound)} of an epoch, gathered in one pass. */
    private record Span(int epoch, int firstRound, int endRound, int perRound, AveragingRound.Gathered images) {
    }

    /**
     * The budget from a Spark setting's value (null or empty: the default).
     *
     * @throws IllegalArgumentException naming {@value #CONF} when the value is not a size of at least 0 bytes
     */
    static long bytes(String setting) {
        long bytes = ImageBlocks.size(CONF, setting, DEFAULT_BYTES);
        if (bytes < 0) {
            throw new IllegalArgumentException(CONF + " = '" + setting + "' must not be negative");
        }
        return bytes;
    }

    /**
     * Rounds one pass gathers, for images of {@code imageBytes}: as many whole rounds as fit in the budget and
     * in a Java array, at least one.
     */
    static int roundsPerPass(long budget, int perRound, int imageBytes) {
        long roundBytes = (long) perRound * imageBytes;
        long fit = Math.min(budget, ImageBlocks.MAX_ARRAY) / Math.max(1, roundBytes);
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, fit));
    }

    /**
     * The images of {@code round}: from a span gathered earlier when it holds them, else from one pass over
     * {@code blocks} that also keeps the next rounds' (within {@code budget}).
     *
     * @param blocks the partition's cached blocks, opened only when a pass is needed
     * @param order the partition's epoch order (made only when a pass is needed); rounds take
     *              {@code order[round * perRound, ...)}
     */
    static AveragingRound.Gathered images(String runId, int epoch, int partition, int round, int perRound,
                                          long budget, Supplier<Iterator<ImageBlock>> blocks, Supplier<int[]> order,
                                          int n) {
        String key = runId + "/" + partition;
        synchronized (SPANS) {
            Span s = SPANS.get(key);
            if (s != null && s.epoch() == epoch && round >= s.firstRound() && round < s.endRound()) {
                if (round == s.endRound() - 1) {
                    SPANS.remove(key);
                }
                return slice(s, round, false);
            }
        }
        int start = (int) Math.min(n, (long) round * perRound);
        int[] endRound = {round + 1};
        AveragingRound.Gathered g = AveragingRound.gather(blocks.get(), order.get(), start, imageBytes -> {
            int rounds = roundsPerPass(budget, perRound, imageBytes);
            endRound[0] = (int) Math.min((long) round + rounds, (n + (long) perRound - 1) / perRound);
            return (int) Math.min(n, (long) endRound[0] * perRound);
        }, n, partition);
        if (endRound[0] == round + 1) {
            return g;
        }
        Span s = new Span(epoch, round, endRound[0], perRound, g);
        synchronized (SPANS) {
            SPANS.put(key, s);
            while (SPANS.size() > MAX_SPANS) {
                Iterator<String> it = SPANS.keySet().iterator();
                it.next();
                it.remove();
            }
        }
        return slice(s, round, true);
    }

    /** Round {@code round}'s images out of a span (a copy; the first keeps the count of blocks read). */
    private static AveragingRound.Gathered slice(Span s, int round, boolean first) {
        ImageBlock all = s.images().block();
        int from = (round - s.firstRound()) * s.perRound();
        int to = Math.min(all.size(), from + s.perRound());
        int len = all.imageLength();
        ImageBlock b = new ImageBlock(to - from, all.channels(), all.height(), all.width(),
                Arrays.copyOfRange(all.pixels(), from * len, to * len), Arrays.copyOfRange(all.labels(), from, to));
        return new AveragingRound.Gathered(b, Arrays.copyOfRange(s.images().ids(), from, to),
                first ? s.images().blocksRead() : 0);
    }

    /** Spans held (tests). */
    static int held() {
        synchronized (SPANS) {
            return SPANS.size();
        }
    }

    /** Drops every span (tests). */
    static void clear() {
        synchronized (SPANS) {
            SPANS.clear();
        }
    }
}
