package io.sparkdl.retrain;

/**
 * Told when a {@link Retrainer} run passes each step of the registry protocol. Crash tests halt the JVM here
 * (the CLI wires {@code SPARK_DL_RETRAIN_HALT_AT} to one); schedulers may log or report progress. A listener
 * that throws stops the run at that step, exactly as a crash would, and the next run continues it.
 */
@FunctionalInterface
public interface RetrainListener {

    /** The steps, in order. */
    enum Step {
        /** The run is recorded in the registry's state as in progress (a re-run continues this version). */
        BEGUN,
        /** The challenger is trained (its checkpoints are under the registry's work folder). */
        TRAINED,
        /** The version folder is complete: its manifest is written. */
        PUBLISHED,
        /** state.json holds the new watermark (and champion); CHAMPION is not rewritten yet. */
        COMMITTED;

        /** The step's name as the halt hook spells it: {@code begun}, {@code trained}, ... */
        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    void reached(Step step, String version);
}
